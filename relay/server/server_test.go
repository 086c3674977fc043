package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/protocol"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startRelay runs a relay on a free loopback port until the test ends or
// stop is called; it returns the console URL and what was printed.
func startRelay(t *testing.T, dataDir string) (url string, out *lockedBuffer, stop func() error) {
	t.Helper()
	_, url, out, stop = startRelayWith(t, Config{DataDir: dataDir})
	return url, out, stop
}

// startRelayWith is startRelay with more of the configuration, and the
// server itself, for tests that look inside.
func startRelayWith(t *testing.T, cfg Config) (srv *Server, url string, out *lockedBuffer, stop func() error) {
	t.Helper()
	out = &lockedBuffer{}
	cfg.Addr, cfg.Company, cfg.Version, cfg.Stdout = "127.0.0.1:0", "Desk", "test", out
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "Console: ") {
		if time.Now().After(deadline) {
			t.Fatalf("relay printed no console URL: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	line := out.String()[strings.Index(out.String(), "Console: ")+len("Console: "):]
	url = strings.TrimSuffix(strings.SplitN(line, "\n", 2)[0], "/")
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(12 * time.Second):
				t.Error("Run did not return within 12 s of shutdown")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return srv, url, out, stop
}

func TestFirstAdminPrintedOnceAndNeverAgain(t *testing.T) {
	dir := t.TempDir()
	url, out, stop := startRelay(t, dir)
	if !strings.Contains(out.String(), "First admin login: admin  password: ") {
		t.Fatalf("first start printed %q, want the admin login", out.String())
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	_, out, _ = startRelay(t, dir)
	if strings.Contains(out.String(), "password") {
		t.Fatalf("second start printed a password: %q", out.String())
	}
}

func TestShutdownTellsConnectedAgents(t *testing.T) {
	url, _, stop := startRelay(t, t.TempDir())
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/ws/agent", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	b, _ := protocol.Encode(protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent})
	if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.ReadMessage(); err != nil { // welcome
		t.Fatal(err)
	}
	begun := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("no goodbye before close: %v", err)
	}
	m, err := protocol.Decode(msg)
	if e, ok := m.(protocol.Error); err != nil || !ok || e.Code != protocol.ErrRelayRestarting {
		t.Fatalf("goodbye = %#v, %v", m, err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(begun); d > 10*time.Second {
		t.Errorf("shutdown took %v", d)
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	url, _, _ := startRelay(t, t.TempDir())
	for _, path := range []string{"/", "/healthz", "/api/me", "/nope"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
	}
}

// portalSession is the reason of the portal's routes: public to the
// console's roles, but checked by the customer portal's own session.
const portalSession = "customer portal session"

// unauthenticated answers the status of a route's pattern requested
// without any cookie, its ids filled in.
func unauthenticated(t *testing.T, url, pattern string) int {
	t.Helper()
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.NewReplacer("{id}", "1", "{category}", "1", "{approval}", "1", "{file}", "1", "{number}", "1").Replace(path)
	req, _ := http.NewRequest(method, url+path, strings.NewReader("{}"))
	req.Header.Set("Origin", url)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Every route is either public on purpose (listed here, with why) or needs
// a login; a new route that is neither fails this test.
func TestEveryRouteIsPublicByIntentOrProtected(t *testing.T) {
	publicByIntent := map[string]string{
		"GET /assets/":                "the console's scripts and styles",
		"GET /{$}":                    "the console's page, which shows the login",
		"GET /i18n.json":              "texts of the login page",
		"GET /portaal":                "the customer portal's address without its slash, redirected",
		"GET /portaal/{$}":            "the customer portal's page, which shows its sign-in",
		"GET /portaal/in/{token}":     "the portal's page, landing from a mailed sign-in link; its script spends the token",
		"GET /portaal/i18n.json":      "texts of the portal's sign-in page",
		"POST /api/v1/login":          "logging in",
		"GET /status/{ref}/{secret}":  "the customer's status page; the secret is the key",
		"GET /estimate/{token}":       "the customer's estimate approval from the mailed link; the token is the key",
		"POST /estimate/{token}":      "the customer approves an estimate; the token is the key",
		"GET /hulp":                   "the customer's download page",
		"GET /hulp/{file}":            "the agent files it offers",
		"GET /ws/agent":               "agents authenticate with their one-time code",
		"POST /agent/recording/{seq}": "the agent's recording chunks; the session's upload token is the key",
		"GET /healthz":                "health checks",
		"GET /readyz":                 "a load balancer's health check",
		// The customer portal: checked by the portal's own session, never a staff role.
		"POST /portaal/api/signin":                                    "a customer spends a one-time sign-in link; the token is the key",
		"GET /portaal/api/tickets":                                    portalSession,
		"POST /portaal/api/tickets":                                   portalSession,
		"GET /portaal/api/tickets/{id}":                               portalSession,
		"POST /portaal/api/tickets/{id}/notes":                        portalSession,
		"POST /portaal/api/link":                                      "a customer asks for a sign-in link by mail; the same answer for everyone, throttled",
		"POST /portaal/api/password-signin":                           "a customer signs in with their own password, under the console's login limits",
		"POST /portaal/api/signout":                                   portalSession,
		"GET /portaal/api/me":                                         portalSession,
		"PUT /portaal/api/me/lang":                                    portalSession,
		"PUT /portaal/api/password":                                   portalSession,
		"POST /portaal/api/tickets/{id}/estimates/{approval}/approve": portalSession,
		"POST /portaal/api/tickets/{id}/approvals/{approval}":         portalSession,
		"POST /portaal/api/tickets/{id}/files":                        portalSession,
		"GET /portaal/api/tickets/{id}/files/{file}":                  portalSession,
		"GET /portaal/api/hours":                                      portalSession,
		"GET /portaal/api/invoices":                                   portalSession,
		"GET /portaal/api/invoices/{number}":                          portalSession,
		"GET /portaal/api/invoices/{number}/view":                     portalSession,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := New(ctx, Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Version: "test"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.store.Close() // never Run, which would close it
	url, _, _ := startRelay(t, t.TempDir())
	seen := map[string]bool{}
	for _, r := range srv.Routes() {
		seen[r.Pattern] = true
		if len(r.Roles) == 0 {
			why, ok := publicByIntent[r.Pattern]
			if !ok {
				t.Errorf("route %q is public but not listed as public by intent", r.Pattern)
			}
			// A route public to staff but checked by the portal's own
			// session answers 401 without one, as its reason says.
			if why == portalSession {
				if code := unauthenticated(t, url, r.Pattern); code != http.StatusUnauthorized {
					t.Errorf("%s without a portal session: %d, want 401", r.Pattern, code)
				}
			}
			continue
		}
		if _, ok := publicByIntent[r.Pattern]; ok {
			t.Errorf("route %q is listed as public but needs roles %v", r.Pattern, r.Roles)
		}
		// Without a login, a protected route answers 401.
		if code := unauthenticated(t, url, r.Pattern); code != http.StatusUnauthorized {
			t.Errorf("%s without a login: %d, want 401", r.Pattern, code)
		}
	}
	for p := range publicByIntent {
		if !seen[p] {
			t.Errorf("public route %q is listed but not registered", p)
		}
	}
}
