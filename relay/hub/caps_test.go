package hub_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/meekijk/meekijk/relay/hub"
)

// One address cannot hold more agent connections than its cap, nor all
// addresses together more than the total: the next is answered 503 with
// Retry-After before any upgrade, and a slot frees when a connection ends.
func TestAgentConnectionCaps(t *testing.T) {
	e := newEnv(t, func(c *hub.Config) { c.MaxAgents, c.MaxAgentsPerIP = 3, 2 })
	refused := func(ip string) {
		t.Helper()
		_, resp, err := e.dialFrom(ip)
		if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("agent from %s over a cap: %v %v, want 503 with Retry-After", ip, resp, err)
		}
	}
	first := e.agentFrom("127.0.0.1")
	e.agentFrom("127.0.0.1")
	refused("127.0.0.1")
	e.agentFrom("127.0.0.2")
	refused("127.0.0.3")
	first.ws.Close()
	deadline := time.Now().Add(wait)
	for {
		p, _, err := e.dialFrom("127.0.0.3")
		if err == nil {
			p.ws.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no slot freed after an agent left")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
