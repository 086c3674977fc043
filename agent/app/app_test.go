package app

import (
	"context"
	"errors"
	"image"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/meekijk/meekijk/agent/capture"
	"github.com/meekijk/meekijk/agent/indicator"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/protocol"
)

// solidScreen is a screen of one colour that counts how often it is opened
// and captured.
type solidScreen struct {
	img      *image.RGBA
	captures *atomic.Int64
}

func (s solidScreen) Bounds() image.Rectangle { return s.img.Bounds() }
func (s solidScreen) Capture() (*image.RGBA, error) {
	s.captures.Add(1)
	return s.img, nil
}
func (s solidScreen) Close() error { return nil }

// counters counts what a test's agent opens and shows. It is the agent's
// screen source (newSource) and its indicator window.
type counters struct {
	opened, captures atomic.Int64
	// shown is how often the indicator was asked to show; shownAtOpen
	// its value when the screen was last opened.
	shown, shownAtOpen atomic.Int64
}

func (c *counters) Run(ctx context.Context, _ func()) error {
	<-ctx.Done()
	return nil
}
func (c *counters) Show(indicator.Sharing) { c.shown.Add(1) }
func (c *counters) Hide()                  {}

func (c *counters) newSource(int) (capture.Source, error) {
	c.opened.Add(1)
	c.shownAtOpen.Store(c.shown.Load())
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 200, 80, 20, 255
	}
	return solidScreen{img: img, captures: &c.captures}, nil
}

// relayConn is one agent connection to a fake relay of a test.
type relayConn struct {
	t  *testing.T
	ws *websocket.Conn
}

func (c relayConn) send(m protocol.Message) {
	b, _ := protocol.Encode(m)
	_ = c.ws.WriteMessage(websocket.TextMessage, b)
}

// read is the agent's next message; nil once the connection closed or
// after a message that does not decode (a test error).
func (c relayConn) read() protocol.Message {
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		return nil
	}
	m, err := protocol.Decode(b)
	if err != nil {
		c.t.Errorf("agent sent %q: %v", b, err)
		return nil
	}
	return m
}

// relayHandler upgrades each agent connection and serves it with serve,
// which plays the relay's part; the connection closes when serve returns.
func relayHandler(t *testing.T, serve func(c relayConn)) http.HandlerFunc {
	up := websocket.Upgrader{}
	return func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		serve(relayConn{t: t, ws: ws})
	}
}

// fakeRelay is a relay of relayHandler's, stopped when the test ends.
func fakeRelay(t *testing.T, serve func(c relayConn)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(relayHandler(t, serve))
	t.Cleanup(srv.Close)
	return srv
}

// hostileRelay accepts one agent and plays a script against it: a relay
// that asks for media before the customer said anything. It reports every
// message the agent sends.
func hostileRelay(t *testing.T, script func(send func(protocol.Message)), got chan<- protocol.Message) *httptest.Server {
	t.Helper()
	return fakeRelay(t, func(c relayConn) {
		if m := c.read(); m == nil || m.Type() != "hello" {
			t.Errorf("first message %v; want hello", m)
			return
		}
		c.send(protocol.Welcome{Protocol: protocol.Version})
		if m := c.read(); m == nil || m.Type() != "join" {
			t.Errorf("second message %v; want join", m)
			return
		}
		script(c.send)
		for m := c.read(); m != nil; m = c.read() {
			select {
			case got <- m:
			default:
			}
		}
	})
}

func startApp(t *testing.T, relayURL string, c *counters) (*App, func()) {
	t.Helper()
	// Whatever the agent starts must be gone once Run returns.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	_, loop, _ := net.ParseCIDR("127.0.0.0/8")
	a, err := New(Config{
		RelayURL: relayURL, Lang: i18n.NL, Version: "test", NewSource: c.newSource, Indicator: c,
		AllowedNets: []*net.IPNet{loop}, Linger: 50 * time.Millisecond,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5 s of cancel")
		}
	}
	return a, stop
}

// act clicks on the customer's page, as the page's own script does.
func act(t *testing.T, a *App, kind, value string) {
	t.Helper()
	req, _ := http.NewRequest("POST", a.URL()+"action", strings.NewReader(`{"kind":"`+kind+`","value":"`+value+`"}`))
	page, _ := url.Parse(a.URL())
	req.Header.Set("Origin", "http://"+page.Host)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("action %s: status %d", kind, resp.StatusCode)
	}
}

// waitPhase reads the page's event stream until the phase shows.
func waitPhase(t *testing.T, a *App, phase string) {
	t.Helper()
	waitState(t, a, `"phase":"`+phase+`"`)
}

// pageEvents opens the page's event stream for 5 s, as the page does.
func pageEvents(t *testing.T, a *App) io.ReadCloser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", a.URL()+"events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Body
}

// waitState reads the page's event stream until it shows want.
func waitState(t *testing.T, a *App, want string) {
	t.Helper()
	body := pageEvents(t, a)
	defer body.Close()
	buf := make([]byte, 4096)
	var seen strings.Builder
	for {
		n, err := body.Read(buf)
		seen.Write(buf[:n])
		if strings.Contains(seen.String(), want) {
			return
		}
		if err != nil {
			t.Fatalf("%s never shown; page saw: %s", want, seen.String())
		}
	}
}

func waitMessage(t *testing.T, got <-chan protocol.Message, typ string) protocol.Message {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-got:
			if m.Type() == typ {
				return m
			}
		case <-deadline:
			t.Fatalf("agent sent no %s within 5 s", typ)
			return nil
		}
	}
}

// A relay asking for media before consent gets nothing: no screen is
// opened and no offer made until the customer clicks Allow.
func TestNothingBeforeAllow(t *testing.T) {
	var c counters
	got := make(chan protocol.Message, 64)
	srv := hostileRelay(t, func(send func(protocol.Message)) {
		send(protocol.Joined{SessionID: 1, Technician: "Mallory", Company: "X", TicketRef: "2026-000001", TicketTitle: "t"})
		send(protocol.Renegotiate{})
		send(protocol.Answer{SDP: "v=0\r\n"})
		send(protocol.Candidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host"})
		send(protocol.Offer{SDP: "v=0\r\n"})
		send(protocol.ConsentRequest{Level: "control"})
		send(protocol.ConsentRequest{Level: protocol.LevelView})
		send(protocol.Renegotiate{})
		send(protocol.SASCommit{Hash: strings.Repeat("ab", 32)})
	}, got)
	a, stop := startApp(t, srv.URL, &c)
	defer stop()
	// An Allow posted before the question is on screen does nothing.
	act(t, a, "allow", "")
	act(t, a, "code", "123456789")
	waitPhase(t, a, "ask")
	time.Sleep(300 * time.Millisecond)
	if n := c.opened.Load(); n != 0 {
		t.Fatalf("screen opened %d times before Allow", n)
	}
	for len(got) > 0 {
		if m := <-got; m.Type() != "heartbeat" {
			t.Fatalf("agent sent %s before Allow", m.Type())
		}
	}

	act(t, a, "allow", "")
	consent := waitMessage(t, got, "consent").(protocol.Consent)
	if !consent.Granted || consent.Level != protocol.LevelView || consent.Lang != "nl" ||
		!strings.Contains(consent.Text, "Mallory van X vraagt om uw scherm te bekijken") || !strings.Contains(consent.Text, "2026-000001") {
		t.Fatalf("consent = %+v, want the Dutch question as shown", consent)
	}
	waitMessage(t, got, "offer")
	if n := c.opened.Load(); n != 1 {
		t.Fatalf("screen opened %d times after Allow, want 1", n)
	}
	// The indicator is up before the screen is read, so the first picture
	// shows it and is not made stale by it.
	if c.shownAtOpen.Load() == 0 {
		t.Error("the screen was opened before the indicator was shown")
	}
}

func TestDenyOpensNothing(t *testing.T) {
	var c counters
	got := make(chan protocol.Message, 64)
	srv := hostileRelay(t, func(send func(protocol.Message)) {
		send(protocol.Joined{SessionID: 2, Technician: "Jan"})
		send(protocol.ConsentRequest{Level: protocol.LevelView})
		send(protocol.Renegotiate{})
	}, got)
	a, stop := startApp(t, srv.URL, &c)
	defer stop()
	act(t, a, "code", "123 456 789")
	waitPhase(t, a, "ask")
	act(t, a, "deny", "")
	if consent := waitMessage(t, got, "consent").(protocol.Consent); consent.Granted {
		t.Fatal("deny sent a granted consent")
	}
	waitPhase(t, a, "declined")
	if n := c.opened.Load(); n != 0 {
		t.Fatalf("screen opened %d times after Deny", n)
	}
}

// A joined{resumed} the agent did not ask for (no resume was sent) changes
// nothing: no second offer, no restart, no screen opened again.
func TestUnaskedResumedJoinedIsIgnored(t *testing.T) {
	var c counters
	got := make(chan protocol.Message, 64)
	proceed := make(chan struct{})
	srv := hostileRelay(t, func(send func(protocol.Message)) {
		send(protocol.Joined{SessionID: 3, Technician: "Jan", ResumeToken: "token-1", GraceSeconds: 60})
		send(protocol.ConsentRequest{Level: protocol.LevelView})
		send(protocol.SASCommit{Hash: strings.Repeat("ab", 32)})
		select {
		case <-proceed:
		case <-time.After(10 * time.Second):
			return
		}
		send(protocol.Joined{SessionID: 3, Technician: "Mallory", ResumeToken: "token-x", Resumed: true, KeptLevel: protocol.LevelControl})
		send(protocol.Joined{SessionID: 3, Technician: "Mallory", ResumeToken: "token-y", Resumed: true})
	}, got)
	a, stop := startApp(t, srv.URL, &c)
	defer stop()
	act(t, a, "code", "123456789")
	waitPhase(t, a, "ask")
	act(t, a, "allow", "")
	// The relay reads what the agent sent only once its script is done.
	waitPhase(t, a, "sharing")
	time.Sleep(300 * time.Millisecond)
	close(proceed)
	waitMessage(t, got, "offer")
	time.Sleep(500 * time.Millisecond)
	for len(got) > 0 {
		if m := <-got; m.Type() == "offer" {
			t.Fatal("a resumed joined the agent never asked for made it offer again")
		}
	}
	if n := c.opened.Load(); n != 1 {
		t.Errorf("screen opened %d times, want 1", n)
	}
	if s := pageState(t, a); !strings.Contains(s, `"phase":"sharing"`) || !strings.Contains(s, `"technician":"Jan"`) {
		t.Errorf("page after the unasked joined: %s", s)
	}
}
