package hub_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/meekijk/meekijk/internal/pipenet"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/sessioncode"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/relay/hub"
)

// Every test opens and drops agent and console connections; a handler or
// wsconn goroutine that outlives its connection is a leak on a long-running
// relay.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	wait     = 5 * time.Second
	theCode  = "123456789012"
	techName = "Tina Peeters"
	company  = "Softwarehuis Janssens"
)

var (
	discard    = slog.New(slog.DiscardHandler)
	iceServers = []protocol.ICEServer{{URLs: []string{"stun:127.0.0.1:3478"}}}
	machine    = protocol.AgentInfo{Hostname: "KASSA-1", User: "marie", OS: "windows/amd64"}
	// codes hashes codes as the console stored them; the hub is given it.
	codes, _ = sessioncode.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
)

// clock is a settable time source shared by the store and the hub, so code
// expiry and the guessing window can be crossed without sleeping.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *clock) advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

type env struct {
	t   *testing.T
	clk *clock
	st  *store.Store
	hub *hub.Hub
	srv *httptest.Server
	// dialer reaches srv: over loopback, or over pipes in a bubble.
	dialer *websocket.Dialer
	tech   store.User
	// other is a second technician, who opens consoles with consoleAs.
	other store.User
	sess  store.Session
	// joined is what the last agent to join or resume was told.
	joined protocol.Joined
}

// newEnv serves a hub over a real store holding one technician, one ticket
// and one waiting session whose code is theCode, valid 10 minutes.
func newEnv(t *testing.T, options ...func(*hub.Config)) *env {
	t.Helper()
	return newEnvOn(t, false, options...)
}

// newSyncEnv is newEnv for a test inside a synctest bubble: the hub is
// served over in-memory pipes (pipenet), so its grace, estimate and
// link-watch timers run on the bubble's clock and waiting costs nothing.
func newSyncEnv(t *testing.T, options ...func(*hub.Config)) *env {
	t.Helper()
	return newEnvOn(t, true, options...)
}

func newEnvOn(t *testing.T, pipes bool, options ...func(*hub.Config)) *env {
	t.Helper()
	ctx := context.Background()
	clk := &clock{}
	clk.ms.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixMilli())
	st, err := store.OpenWithClock(ctx, filepath.Join(t.TempDir(), "m.db"), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	tech, err := st.CreateUser(ctx, store.User{Email: "tina@example.com", Name: techName, Role: store.RoleTechnician, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	cust, err := st.CreateCustomer(ctx, store.Customer{Name: "Bakkerij Peeters", Lang: "nl"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.CreateUser(ctx, store.User{Email: "piet@example.com", Name: "Piet Janssens", Role: store.RoleTechnician, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := st.CreateTicket(ctx, store.NewTicket{Title: "Kassa print geen tickets", CustomerID: cust.ID, Kind: "question",
		CategoryID: 1, Priority: "normal", Impact: "medium"}, tech.ID)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := st.CreateSession(ctx, store.NewSession{TicketID: tk.ID, TechnicianID: tech.ID,
		CodeHash: codes.Hash(theCode), CodeExpires: clk.now().Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := hub.Config{Company: company, Software: "test", Now: clk.now, Codes: codes,
		ICE: func(int64) ([]protocol.ICEServer, string) { return iceServers, "" }}
	for _, o := range options {
		o(&cfg)
	}
	h := hub.New(st, discard, cfg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws/agent", h.ServeAgent)
	mux.HandleFunc("GET /ws/console/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		user := tech
		if r.URL.Query().Get("as") == "other" {
			user = other
		}
		h.ServeConsole(w, r, user, id)
	})
	srv := httptest.NewUnstartedServer(mux)
	dialer := websocket.DefaultDialer
	if pipes {
		ln := pipenet.Listen()
		srv.Listener.Close()
		srv.Listener = ln
		dialer = &websocket.Dialer{NetDialContext: ln.Dial, HandshakeTimeout: wait}
	}
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		srv.Close()
		st.Close()
	})
	runHub(t, h)
	return &env{t: t, clk: clk, st: st, hub: h, srv: srv, dialer: dialer, tech: tech, other: other, sess: sess}
}

// runHub runs h's link watcher for the test; cleanups run last first,
// so it stops before the hub shuts down, as in the relay.
func runHub(t *testing.T, h *hub.Hub) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func (e *env) wsURL(path string) string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + path }

// peer is a test client speaking the protocol over a gorilla connection.
type peer struct {
	name string
	ws   *websocket.Conn
}

func (e *env) dial(name, path string, header http.Header) (*peer, *http.Response, error) {
	ws, resp, err := e.dialer.Dial(e.wsURL(path), header)
	if err != nil {
		return nil, resp, err
	}
	e.t.Cleanup(func() { ws.Close() })
	return &peer{name: name, ws: ws}, resp, nil
}

// agent connects as an agent program does: without an Origin header.
func (e *env) agent() *peer {
	e.t.Helper()
	p, _, err := e.dial("agent", "/ws/agent", nil)
	if err != nil {
		e.t.Fatalf("dial agent: %v", err)
	}
	return p
}

// helloAgent connects an agent and completes its handshake.
func (e *env) helloAgent(info protocol.AgentInfo) *peer {
	e.t.Helper()
	a := e.agent()
	a.send(e.t, protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent, Software: "t", Agent: &info})
	w := expect[protocol.Welcome](e.t, a)
	if w.Protocol != protocol.Version {
		e.t.Fatalf("welcome %+v", w)
	}
	return a
}

// joinedAgent connects an agent, joins with theCode and reads the consent
// question.
func (e *env) joinedAgent() *peer {
	e.t.Helper()
	a := e.helloAgent(machine)
	a.send(e.t, protocol.Join{Code: theCode})
	e.joined = expect[protocol.Joined](e.t, a)
	expect[protocol.ConsentRequest](e.t, a)
	return a
}

// console connects a console for the env's session with the browser's
// same-origin header, completes its handshake, and returns the first status.
func (e *env) console() (*peer, protocol.Status) {
	e.t.Helper()
	return e.consoleAs("")
}

// consoleAs is console as the env's other technician when as is "other".
func (e *env) consoleAs(as string) (*peer, protocol.Status) {
	e.t.Helper()
	c, _, err := e.dial("console", "/ws/console/"+strconv.FormatInt(e.sess.ID, 10)+"?as="+as, http.Header{"Origin": {e.srv.URL}})
	if err != nil {
		e.t.Fatalf("dial console: %v", err)
	}
	c.send(e.t, protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleConsole})
	w := expect[protocol.Welcome](e.t, c)
	if !reflect.DeepEqual(w.ICEServers, iceServers) {
		e.t.Errorf("console welcome ICE servers %+v, want %+v", w.ICEServers, iceServers)
	}
	return c, expect[protocol.Status](e.t, c)
}

// live brings the session to live with a console watching.
func (e *env) live() (agent, console *peer) {
	e.t.Helper()
	console, _ = e.console()
	agent = e.joinedAgent()
	expectStatus(e.t, console, protocol.StatusJoined)
	agent.send(e.t, protocol.Consent{Level: protocol.LevelView, Granted: true})
	expectStatus(e.t, console, protocol.StatusLive)
	return agent, console
}

func (e *env) session() store.Session {
	e.t.Helper()
	s, err := e.st.Session(context.Background(), e.sess.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// shutdown waits until every handler is done, so the store shows the final
// state with nothing left to record.
func (e *env) shutdown() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		e.t.Fatalf("Shutdown: %v", err)
	}
}

func (e *env) eventKinds() []string {
	e.t.Helper()
	evs, err := e.st.Events(context.Background(), e.sess.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
	}
	return kinds
}

// eventCount is how many of the session's events are of kind.
func (e *env) eventCount(kind string) int {
	e.t.Helper()
	n := 0
	for _, k := range e.eventKinds() {
		if k == kind {
			n++
		}
	}
	return n
}

// waitEvent waits until the session's history holds an event of kind.
func (e *env) waitEvent(kind string) {
	e.t.Helper()
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if slices.Contains(e.eventKinds(), kind) {
			return
		}
	}
	e.t.Fatalf("no %s event after %v: %v", kind, wait, e.eventKinds())
}

func (p *peer) send(t *testing.T, m protocol.Message) {
	t.Helper()
	b, err := protocol.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatalf("%s: write %s: %v", p.name, m.Type(), err)
	}
}

func (p *peer) recv(t *testing.T) protocol.Message {
	t.Helper()
	_ = p.ws.SetReadDeadline(time.Now().Add(wait))
	_, b, err := p.ws.ReadMessage()
	if err != nil {
		t.Fatalf("%s: read: %v", p.name, err)
	}
	m, err := protocol.Decode(b)
	if err != nil {
		t.Fatalf("%s: decode %s: %v", p.name, b, err)
	}
	return m
}

func expect[T protocol.Message](t *testing.T, p *peer) T {
	t.Helper()
	m := p.recv(t)
	v, ok := m.(T)
	if !ok {
		t.Fatalf("%s got %#v, want a %T", p.name, m, v)
	}
	return v
}

func expectError(t *testing.T, p *peer, code string) protocol.Error {
	t.Helper()
	e := expect[protocol.Error](t, p)
	if e.Code != code {
		t.Fatalf("%s got error %+v, want code %s", p.name, e, code)
	}
	return e
}

func expectStatus(t *testing.T, p *peer, status string) protocol.Status {
	t.Helper()
	s := expect[protocol.Status](t, p)
	if s.Status != status {
		t.Fatalf("%s got status %+v, want %s", p.name, s, status)
	}
	return s
}

// expectClosed reads until the relay closes the connection; any message
// still arriving is returned for inspection.
func (p *peer) expectClosed(t *testing.T) []protocol.Message {
	t.Helper()
	var got []protocol.Message
	_ = p.ws.SetReadDeadline(time.Now().Add(wait))
	for {
		_, b, err := p.ws.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("%s: connection still open after %v", p.name, wait)
			}
			return got
		}
		m, _ := protocol.Decode(b)
		got = append(got, m)
	}
}

func TestHandshakeRefusals(t *testing.T) {
	cases := []struct {
		name  string
		first protocol.Message
		code  string
	}{
		{"other protocol version", protocol.Hello{Protocol: protocol.Version + 1, Role: protocol.RoleAgent}, protocol.ErrProtocolVersion},
		{"no version", protocol.Hello{Role: protocol.RoleAgent}, protocol.ErrProtocolVersion},
		{"console role on the agent socket", protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleConsole}, protocol.ErrBadMessage},
		{"join before hello", protocol.Join{Code: theCode}, protocol.ErrBadMessage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.agent()
			a.send(t, tc.first)
			expectError(t, a, tc.code)
			if extra := a.expectClosed(t); len(extra) != 0 {
				t.Errorf("after the refusal got %v", extra)
			}
			// A refused handshake must not have spent the code.
			if s := e.session(); s.Status != store.StatusWaiting || !s.CodeUsedAt.IsZero() {
				t.Errorf("session after refusal: %+v", s)
			}
		})
	}
}

func TestConsoleHandshakeVersion(t *testing.T) {
	e := newEnv(t)
	c, _, err := e.dial("console", "/ws/console/"+strconv.FormatInt(e.sess.ID, 10), http.Header{"Origin": {e.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	c.send(t, protocol.Hello{Protocol: 99, Role: protocol.RoleConsole})
	expectError(t, c, protocol.ErrProtocolVersion)
	c.expectClosed(t)
}

func TestJoinBeforeHelloOnlyHello(t *testing.T) {
	e := newEnv(t)
	a := e.helloAgent(machine)
	// After hello, anything but join is refused and the connection stays.
	a.send(t, protocol.Offer{SDP: "v=0"})
	expectError(t, a, protocol.ErrNotAllowed)
	a.send(t, protocol.Join{Code: theCode})
	expect[protocol.Joined](t, a)
}

func TestJoinOutcomes(t *testing.T) {
	cases := []struct {
		name  string
		setup func(e *env)
		code  string
		want  string // error code, or "" for joined
	}{
		{"right code", nil, theCode, ""},
		{"right code as typed", nil, " 123-456 789 012 ", ""},
		{"wrong code", nil, "987654321098", protocol.ErrWrongCode},
		{"too few digits", nil, "12345678901", protocol.ErrWrongCode},
		{"letters", nil, "12345678901a", protocol.ErrWrongCode},
		{"empty", nil, "", protocol.ErrWrongCode},
		{"expired code", func(e *env) { e.clk.advance(10 * time.Minute) }, theCode, protocol.ErrExpiredCode},
		{"used code", func(e *env) {
			if _, err := e.st.RedeemCode(context.Background(), codes.Hash(theCode), "agent", nil); err != nil {
				e.t.Fatal(err)
			}
		}, theCode, protocol.ErrUsedCode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			a := e.helloAgent(machine)
			a.send(t, protocol.Join{Code: tc.code})
			if tc.want != "" {
				expectError(t, a, tc.want)
				// One refusal does not close the connection: the customer
				// may retype.
				a.send(t, protocol.Join{Code: "000000000000"})
				expectError(t, a, protocol.ErrWrongCode)
				return
			}
			j := expect[protocol.Joined](t, a)
			if len(j.ResumeToken) < 40 {
				t.Errorf("resume token %q: too short to be unguessable", j.ResumeToken)
			}
			j.ResumeToken = ""
			want := protocol.Joined{SessionID: e.sess.ID, Technician: techName, Company: company,
				TicketRef: e.sess.TicketRef, TicketTitle: "Kassa print geen tickets", ICEServers: iceServers,
				ReconfirmSeconds: 1800, ReconfirmAnswerSeconds: 60, GraceSeconds: 60, Lang: "nl"}
			if !reflect.DeepEqual(j, want) {
				t.Errorf("joined = %+v\nwant     %+v", j, want)
			}
			if cr := expect[protocol.ConsentRequest](t, a); cr.Level != protocol.LevelView {
				t.Errorf("consent request %+v, want level view", cr)
			}
			if s := e.session(); s.Status != store.StatusJoined || s.CodeUsedAt.IsZero() {
				t.Errorf("session after join: %+v", s)
			}
		})
	}
}

func TestWrongCodesCloseTheConnection(t *testing.T) {
	e := newEnv(t)
	a := e.helloAgent(machine)
	for i := 1; i <= hub.GuessesPerConn; i++ {
		a.send(t, protocol.Join{Code: "00000000000" + strconv.Itoa(i)})
		expectError(t, a, protocol.ErrWrongCode)
	}
	// The refusal of the last guess arrives, then the connection goes.
	if extra := a.expectClosed(t); len(extra) != 0 {
		t.Errorf("after the last wrong code got %v", extra)
	}
}

func TestSignalingFlow(t *testing.T) {
	e := newEnv(t)
	console, st := e.console()
	if st.Status != protocol.StatusWaiting || st.Agent != nil {
		t.Fatalf("first status %+v, want waiting without agent", st)
	}
	agent := e.joinedAgent()
	if st := expectStatus(t, console, protocol.StatusJoined); st.Agent == nil || *st.Agent != machine {
		t.Errorf("joined status agent = %+v, want %+v", st.Agent, machine)
	}

	// Before consent nothing flows either way. The next message each side
	// gets after consent proves the early ones were not forwarded.
	agent.send(t, protocol.Offer{SDP: "early offer"})
	expectError(t, agent, protocol.ErrNotAllowed)
	agent.send(t, protocol.Candidate{Candidate: "early candidate"})
	expectError(t, agent, protocol.ErrNotAllowed)
	console.send(t, protocol.Answer{SDP: "early answer"})
	expectError(t, console, protocol.ErrNotAllowed)

	agent.send(t, protocol.Consent{Level: protocol.LevelView, Granted: true})
	if st := expectStatus(t, console, protocol.StatusLive); st.Agent == nil || *st.Agent != machine {
		t.Errorf("live status agent = %+v", st.Agent)
	}
	if s := e.session(); s.Status != store.StatusLive {
		t.Fatalf("store status %s, want live", s.Status)
	}

	mid, idx := "0", uint16(0)
	steps := []struct {
		from, to *peer
		m        protocol.Message
	}{
		{agent, console, protocol.Offer{SDP: "offer"}},
		{agent, console, protocol.Candidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", SDPMid: &mid, SDPMLineIndex: &idx}},
		{console, agent, protocol.Answer{SDP: "answer"}},
		{console, agent, protocol.Candidate{Candidate: "candidate:2 1 udp 1 127.0.0.1 5001 typ host"}},
	}
	for _, s := range steps {
		s.from.send(t, s.m)
		if got := s.to.recv(t); !reflect.DeepEqual(got, s.m) {
			t.Fatalf("%s -> %s: got %#v, want %#v", s.from.name, s.to.name, got, s.m)
		}
	}
	agent.send(t, protocol.MediaStarted{})
	// The agent's and the console's messages travel on two connections:
	// let the media start be recorded before the console ends, as it is
	// in life, where seconds pass between the two.
	e.waitEvent(store.EventMediaStarted)

	// A console may not send what only the agent sends.
	console.send(t, protocol.Offer{SDP: "x"})
	expectError(t, console, protocol.ErrNotAllowed)

	console.send(t, protocol.End{})
	end := expect[protocol.End](t, agent)
	if end.By != protocol.ByTechnician {
		t.Errorf("agent got %+v, want end by technician", end)
	}
	agent.expectClosed(t)
	if st := expectStatus(t, console, protocol.StatusEnded); st.By != protocol.ByTechnician {
		t.Errorf("console got %+v, want ended by technician", st)
	}
	e.shutdown()
	s := e.session()
	if s.Status != store.StatusEnded || s.EndedBy != protocol.ByTechnician || s.EndReason != "technician_ended" || s.EndedAt.IsZero() {
		t.Errorf("stored session %+v, want ended by technician", s)
	}
	// The agent's disconnect after the end is not a second ending.
	want := []string{store.EventCreated, store.EventAgentJoined, store.EventConsentAsked,
		store.EventConsentGranted, store.EventMediaStarted, store.EventEnded}
	if got := e.eventKinds(); !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestCustomerEnds(t *testing.T) {
	e := newEnv(t)
	agent, console := e.live()
	agent.send(t, protocol.End{})
	st := expectStatus(t, console, protocol.StatusEnded)
	if st.By != protocol.ByCustomer || st.Reason != "customer_stopped" {
		t.Errorf("console got %+v, want ended by customer", st)
	}
	agent.expectClosed(t)
	e.shutdown()
	if s := e.session(); s.Status != store.StatusEnded || s.EndedBy != protocol.ByCustomer {
		t.Errorf("stored session %+v, want ended by customer", s)
	}
}

func TestCustomerDeclines(t *testing.T) {
	e := newEnv(t)
	console, _ := e.console()
	agent := e.joinedAgent()
	expectStatus(t, console, protocol.StatusJoined)
	agent.send(t, protocol.Consent{Level: protocol.LevelView, Granted: false})
	if st := expectStatus(t, console, protocol.StatusDeclined); st.By != protocol.ByCustomer {
		t.Errorf("console got %+v, want declined by customer", st)
	}
	if end := expect[protocol.End](t, agent); end.By != protocol.ByCustomer || end.Reason != "declined" {
		t.Errorf("agent got %+v, want end declined", end)
	}
	agent.expectClosed(t)
	e.shutdown()
	if s := e.session(); s.Status != store.StatusDeclined {
		t.Errorf("stored status %s, want declined", s.Status)
	}
	want := []string{store.EventCreated, store.EventAgentJoined, store.EventConsentAsked, store.EventConsentDenied}
	if got := e.eventKinds(); !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestUnknownConsentLevelRefused(t *testing.T) {
	e := newEnv(t)
	agent := e.joinedAgent()
	agent.send(t, protocol.Consent{Level: "control", Granted: true})
	expectError(t, agent, protocol.ErrNotAllowed)
	if s := e.session(); s.Status != store.StatusJoined {
		t.Errorf("status %s after an unknown level, want joined", s.Status)
	}
}

func TestSecondConsoleReplacesFirst(t *testing.T) {
	e := newEnv(t)
	first, _ := e.console()
	second, st := e.console()
	if st.Status != protocol.StatusWaiting {
		t.Errorf("second console status %+v", st)
	}
	expectError(t, first, protocol.ErrReplaced)
	first.expectClosed(t)
	// Messages for the session now go to the second console only.
	e.joinedAgent()
	expectStatus(t, second, protocol.StatusJoined)
}

func TestConsoleReconnectWhileLiveAsksForNewOffer(t *testing.T) {
	e := newEnv(t)
	agent, first := e.live()
	first.ws.Close()
	_, st := e.console()
	if st.Status != protocol.StatusLive || st.Agent == nil || *st.Agent != machine {
		t.Errorf("reconnected console status %+v, want live with the agent", st)
	}
	expect[protocol.Renegotiate](t, agent)
}

func TestConsoleSeesExpiredCode(t *testing.T) {
	e := newEnv(t)
	e.clk.advance(10 * time.Minute)
	_, st := e.console()
	if st.Status != protocol.StatusWaiting || st.Reason != "code_expired" {
		t.Errorf("status %+v, want waiting with reason code_expired", st)
	}
}

func TestOriginChecks(t *testing.T) {
	e := newEnv(t)
	consolePath := "/ws/console/" + strconv.FormatInt(e.sess.ID, 10)
	cases := []struct {
		name   string
		path   string
		origin string
		want   int
	}{
		{"console, same origin", consolePath, e.srv.URL, http.StatusSwitchingProtocols},
		{"console, foreign origin", consolePath, "http://evil.example", http.StatusForbidden},
		{"console, look-alike origin", consolePath, e.srv.URL + ".evil.example", http.StatusForbidden},
		{"console, no origin", consolePath, "", http.StatusForbidden},
		{"console, unknown session", "/ws/console/999", e.srv.URL, http.StatusNotFound},
		{"agent, no origin", "/ws/agent", "", http.StatusSwitchingProtocols},
		{"agent, same origin", "/ws/agent", e.srv.URL, http.StatusSwitchingProtocols},
		{"agent, foreign origin", "/ws/agent", "http://evil.example", http.StatusForbidden},
		{"agent, null origin", "/ws/agent", "null", http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			p, resp, err := e.dial("peer", tc.path, h)
			if resp == nil {
				t.Fatalf("no HTTP answer: %v", err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%v), want %d", resp.StatusCode, err, tc.want)
			}
			if p != nil {
				p.ws.Close()
			}
		})
	}
}

func TestShutdownClosesEverything(t *testing.T) {
	e := newEnv(t)
	agent, console := e.live()
	idle := e.agent() // connected, no hello yet
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		done <- e.hub.Shutdown(ctx)
	}()
	for _, p := range []*peer{agent, console, idle} {
		got := p.expectClosed(t)
		if len(got) == 0 {
			t.Errorf("%s closed without a word", p.name)
			continue
		}
		if last, ok := got[len(got)-1].(protocol.Error); !ok || last.Code != protocol.ErrRelayRestarting {
			t.Errorf("%s: last message %#v, want error relay_restarting", p.name, got[len(got)-1])
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Shutdown did not return")
	}
	// New connections are turned away once the relay is going.
	if _, resp, err := e.dial("late", "/ws/agent", nil); resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after shutdown: %v, %v; want 503", resp, err)
	}
}

// TestShutdownOutOfTimeWithEveryoneGone: when recording the interruptions
// uses up the shutdown time (a busy disk), but no connection is left, the
// shutdown is complete and says so.
func TestShutdownOutOfTimeWithEveryoneGone(t *testing.T) {
	e := newEnv(t)
	agent, console := e.live()
	agent.vanish()
	console.vanish()
	deadline := time.Now().Add(wait)
	for _, conns := e.hub.Held(); conns > 0; _, conns = e.hub.Held() {
		if time.Now().After(deadline) {
			t.Fatalf("hub still holds %d connections", conns)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with nothing left to close: %v", err)
	}
	if got, _ := e.st.Session(context.Background(), e.sess.ID); got.Status != store.StatusInterrupted {
		t.Errorf("session %s after shutdown, want interrupted", got.Status)
	}
}

func TestAgentTextIsCleaned(t *testing.T) {
	e := newEnv(t)
	console, _ := e.console()
	dirty := protocol.AgentInfo{
		Hostname: "KASSA\x00-1\x1b[31m\r\n" + strings.Repeat("é", 80), // 160 bytes of é
		User:     "marie\u0085\u009b",
		OS:       strings.Repeat("w", 300),
	}
	a := e.helloAgent(dirty)
	a.send(t, protocol.Join{Code: theCode})
	expect[protocol.Joined](t, a)
	st := expectStatus(t, console, protocol.StatusJoined)
	if st.Agent == nil {
		t.Fatal("no agent info in status")
	}
	for name, v := range map[string]string{"hostname": st.Agent.Hostname, "user": st.Agent.User, "os": st.Agent.OS} {
		if len(v) > 100 {
			t.Errorf("%s is %d bytes, want at most 100", name, len(v))
		}
		if !utf8ValidNoControl(v) {
			t.Errorf("%s = %q keeps control characters or broken UTF-8", name, v)
		}
	}
	if !strings.HasPrefix(st.Agent.Hostname, "KASSA-1[31mé") {
		t.Errorf("hostname = %q, want the printable text kept", st.Agent.Hostname)
	}
	if st.Agent.User != "marie" || st.Agent.OS != strings.Repeat("w", 100) {
		t.Errorf("user %q, os %q", st.Agent.User, st.Agent.OS)
	}
	// The recorded join carries the cleaned text too.
	evs, err := e.st.Events(context.Background(), e.sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Kind == store.EventAgentJoined && (strings.Contains(string(ev.Detail), `\u001b`) || strings.Contains(string(ev.Detail), `\u0000`)) {
			t.Errorf("agent_joined detail keeps control characters: %s", ev.Detail)
		}
	}
}

func utf8ValidNoControl(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// A technician who ends a session before the customer joined has withdrawn
// the code: it must not open the session again.
func TestEndedSessionCodeIsDead(t *testing.T) {
	e := newEnv(t)
	console, _ := e.console()
	console.send(t, protocol.End{})
	expectStatus(t, console, protocol.StatusEnded)
	a := e.helloAgent(machine)
	a.send(t, protocol.Join{Code: theCode})
	m := a.recv(t)
	if _, ok := m.(protocol.Error); !ok {
		t.Errorf("join of an ended session got %#v, want an error (session_over)", m)
	}
	if s := e.session(); s.Status != store.StatusEnded {
		t.Errorf("session status %s, want it to stay ended", s.Status)
	}
}
