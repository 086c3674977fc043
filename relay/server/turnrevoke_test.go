package server

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/turn/v4"

	"github.com/meekijk/meekijk/internal/pionlog"
	"github.com/meekijk/meekijk/internal/protocol"
)

// api is a logged-in admin of a relay started by a test.
type api struct {
	t          *testing.T
	url, csrf  string
	cookie     *http.Cookie
	httpClient *http.Client
}

func adminAPI(t *testing.T, url, out string) *api {
	t.Helper()
	a := &api{t: t, url: url, httpClient: &http.Client{Timeout: 5 * time.Second}}
	body := a.call("POST", "/api/v1/login", map[string]string{"email": "admin", "password": firstAdminPassword(t, out)})
	var me struct{ CSRFToken string }
	if err := json.Unmarshal(body, &me); err != nil {
		t.Fatal(err)
	}
	a.csrf = me.CSRFToken
	return a
}

func (a *api) call(method, path string, in any) []byte {
	a.t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest(method, a.url+path, strings.NewReader(string(b)))
	req.Header.Set("Origin", a.url)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", a.csrf)
	if a.cookie != nil {
		req.AddCookie(a.cookie)
	}
	resp, err := a.httpClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		a.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	for _, c := range resp.Cookies() {
		a.cookie = c
	}
	return out
}

// With the relay's real TURN server: the credential an agent was given
// for its session allocates while the session runs and is refused once
// the customer ended it.
func TestTURNCredentialDiesWithItsSession(t *testing.T) {
	_, url, out, _ := startRelayWith(t, Config{DataDir: t.TempDir(),
		TURN: TURNConfig{UDPAddr: "127.0.0.1:0"}})
	a := adminAPI(t, url, out.String())
	var cust, tk struct{ ID int64 }
	json.Unmarshal(a.call("POST", "/api/v1/customers", map[string]string{"name": "Bakkerij Peeters"}), &cust)
	json.Unmarshal(a.call("POST", "/api/v1/tickets", map[string]any{"title": "Kassa", "customerId": cust.ID}), &tk)
	var started struct{ Code string }
	// Whatever the hour the test runs at: outside support hours the
	// reason is kept, inside it is ignored.
	json.Unmarshal(a.call("POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID), map[string]string{"overrideReason": "test"}), &started)

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/ws/agent", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	send := func(m protocol.Message) { sendMsg(t, ws, m) }
	read := func() protocol.Message { return readMsg(t, ws) }
	send(protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent, Agent: &protocol.AgentInfo{Hostname: "KASSA"}})
	read() // welcome
	send(protocol.Join{Code: started.Code})
	joined, ok := read().(protocol.Joined)
	if !ok || len(joined.ICEServers) == 0 {
		t.Fatalf("joined %+v without ICE servers", joined)
	}
	ice := joined.ICEServers[0]
	server := strings.TrimPrefix(strings.SplitN(ice.URLs[0], "?", 2)[0], "turn:")
	allocate := func() error {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: server, TURNServerAddr: server, Conn: conn,
			Username: ice.Username, Password: ice.Credential, Realm: "meekijk", RTO: 100 * time.Millisecond,
			LoggerFactory: pionlog.New(slog.New(slog.DiscardHandler))})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Listen(); err != nil {
			t.Fatal(err)
		}
		relay, err := c.Allocate()
		if err == nil {
			relay.Close()
		}
		return err
	}
	if err := allocate(); err != nil {
		t.Fatalf("the running session's credential: %v", err)
	}
	send(protocol.End{Reason: "customer_stopped"})
	// The agent hears nothing back; the end is recorded in a moment.
	deadline := time.Now().Add(5 * time.Second)
	for allocate() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the ended session's credential still allocates")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
