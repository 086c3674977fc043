//go:build bench

package bench

import "testing"

// TestRelayIdleMemory is the relay's part of the capacity figures alone
// (go test -tags bench -run TestRelayIdleMemory -v ./bench): what one idle
// agent costs the relay's server code, from its heap profile, in seconds
// rather than the whole bench's minutes. For before/after comparisons of
// internal/wsconn and the hub's upgrader.
func TestRelayIdleMemory(t *testing.T) {
	c := &capacity{}
	profileRelay(t, c)
	if c.ProfileAgents == 0 {
		t.Fatalf("no agents held: %s", c.Profile)
	}
	t.Logf("%d idle agents; per agent %.1f KB heap, %.1f KB stacks, %.1f goroutines\n%s",
		c.ProfileAgents, c.PerAgentHeap/1024, c.PerAgentStack/1024, c.PerAgentGos, c.Profile)
}
