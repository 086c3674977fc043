package cluster_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/meekijk/meekijk/internal/pgtest"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/sessioncode"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/internal/store/storetest"
	"github.com/meekijk/meekijk/relay/cluster"
	"github.com/meekijk/meekijk/relay/hub"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

const (
	wait    = 20 * time.Second // the leader's sweep runs every 10 s
	theCode = "123456789012"
)

var codes, _ = sessioncode.NewHasher([]byte("0123456789abcdef0123456789abcdef"))

// desk is one store shared by several relays, each a hub with its node on
// one real PostgreSQL database: the relays of a desk in one process.
type desk struct {
	t    *testing.T
	dsn  string
	st   *store.Store
	tech store.User
	sess store.Session
}

// newDesk makes a PostgreSQL database holding the desk's store, with one
// waiting session whose code is theCode.
func newDesk(t *testing.T) *desk {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := storetest.WaitingSession(t, st, codes.Hash(theCode), time.Now().Add(10*time.Minute))
	return &desk{t: t, dsn: dsn, st: st, tech: d.Tech, sess: d.Session}
}

// relay is one hub and its node, served on a loopback listener.
type relay struct {
	name string
	hub  *hub.Hub
	node *cluster.Node
	srv  *httptest.Server
	stop func()
}

// relay starts a relay of the desk. stop ends it as a crash would, as far
// as the others can tell: its node stops beating and listening, and its
// hub's connections close without it telling anyone.
func (d *desk) relay(name string, grace time.Duration) *relay {
	t := d.t
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test_relay", name)
	}
	node, err := cluster.New(context.Background(), cluster.Config{DSN: d.dsn, Self: name,
		Beat: 200 * time.Millisecond, Lease: time.Second, Poll: 300 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(d.st, log, hub.Config{Company: "Janssens", Software: "test", Codes: codes, Grace: grace, Cluster: node})
	node.Bind(h)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws/agent", h.ServeAgent)
	mux.HandleFunc("GET /ws/console/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		h.ServeConsole(w, r, d.tech, id)
	})
	srv := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = node.Run(ctx); done <- struct{}{} }()
	go func() { h.Run(ctx); done <- struct{}{} }()
	select {
	case <-node.Ready():
	case <-time.After(wait):
		t.Fatal("node not ready")
	}
	stopped := false
	rl := &relay{name: name, hub: h, node: node, srv: srv}
	rl.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		<-done
		srv.Listener.Close()
	}
	t.Cleanup(func() {
		rl.stop()
		// Shut down only once the test is over: a crashed relay tells
		// nobody anything, and Shutdown interrupts its sessions.
		sctx, scancel := context.WithTimeout(context.Background(), wait)
		defer scancel()
		_ = h.Shutdown(sctx)
		srv.Close()
	})
	return rl
}

type peer struct {
	t  *testing.T
	ws *websocket.Conn
}

func (r *relay) dial(t *testing.T, path string, header http.Header) *peer {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(r.srv.URL, "http")+path, header)
	if err != nil {
		t.Fatalf("dial %s%s: %v", r.name, path, err)
	}
	t.Cleanup(func() { ws.Close() })
	return &peer{t: t, ws: ws}
}

func (p *peer) send(m protocol.Message) {
	p.t.Helper()
	b, err := protocol.Encode(m)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		p.t.Fatalf("send %s: %v", m.Type(), err)
	}
}

// expect reads until a message of type T that ok accepts (nil: any).
func expect[T protocol.Message](p *peer, ok func(T) bool) T {
	p.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		_ = p.ws.SetReadDeadline(deadline)
		_, b, err := p.ws.ReadMessage()
		if err != nil {
			var zero T
			p.t.Fatalf("waiting for %T: %v", zero, err)
		}
		m, err := protocol.Decode(b)
		if err != nil {
			p.t.Fatal(err)
		}
		if v, is := m.(T); is && (ok == nil || ok(v)) {
			return v
		}
	}
}

func status(want string) func(protocol.Status) bool {
	return func(s protocol.Status) bool { return s.Status == want }
}

func (d *desk) console(r *relay) *peer {
	d.t.Helper()
	c := r.dial(d.t, "/ws/console/"+strconv.FormatInt(d.sess.ID, 10), http.Header{"Origin": {r.srv.URL}})
	c.send(protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleConsole})
	expect[protocol.Welcome](c, nil)
	return c
}

func (d *desk) agent(r *relay) *peer {
	d.t.Helper()
	a := r.dial(d.t, "/ws/agent", nil)
	a.send(protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent, Software: "t", Agent: &protocol.AgentInfo{Hostname: "KASSA-1"}})
	expect[protocol.Welcome](a, nil)
	return a
}

// live brings the session to control with the console on relay c and the
// agent on relay a; it returns both and the agent's Joined.
func (d *desk) live(c, a *relay) (console, agent *peer, joined protocol.Joined) {
	d.t.Helper()
	console = d.console(c)
	agent = d.agent(a)
	agent.send(protocol.Join{Code: theCode})
	joined = expect[protocol.Joined](agent, nil)
	expect[protocol.ConsentRequest](agent, nil)
	// The console, served by relay c, follows the room to relay a.
	expect(console, status(protocol.StatusJoined))
	agent.send(protocol.Consent{Level: protocol.LevelView, Granted: true})
	expect(console, status(protocol.StatusLive))
	agent.send(protocol.Offer{SDP: "v=0 offer"})
	if o := expect[protocol.Offer](console, nil); o.SDP != "v=0 offer" {
		d.t.Fatalf("offer %+v", o)
	}
	console.send(protocol.Answer{SDP: "v=0 answer"})
	if a := expect[protocol.Answer](agent, nil); a.SDP != "v=0 answer" {
		d.t.Fatalf("answer %+v", a)
	}
	console.send(protocol.ConsentRequest{Level: protocol.LevelControl})
	expect(agent, func(r protocol.ConsentRequest) bool { return r.Level == protocol.LevelControl })
	agent.send(protocol.Consent{Level: protocol.LevelControl, Granted: true, Text: "Mag Tina uw computer bedienen?", Lang: "nl"})
	expect(console, func(c protocol.Consent) bool { return c.Level == protocol.LevelControl && c.Granted })
	return console, agent, joined
}

// The console on one relay, the agent on another: signaling, consent and
// chat cross through PostgreSQL, and only the agent's relay claims the room.
func TestConsoleAndAgentOnDifferentRelays(t *testing.T) {
	d := newDesk(t)
	a, b := d.relay("relay-a", time.Minute), d.relay("relay-b", time.Minute)
	console, agent, _ := d.live(a, b)
	sent := time.Now()
	agent.send(protocol.Chat{Text: "Dag Tina"})
	if c := expect[protocol.Chat](console, nil); c.Text != "Dag Tina" {
		t.Fatalf("chat %+v", c)
	}
	// Stored by relay b, then a signal row to relay a woken by NOTIFY.
	t.Logf("a chat line from the agent on relay-b reached the console on relay-a in %v", time.Since(sent).Round(time.Microsecond))
	if home, err := a.node.Home(context.Background(), d.sess.ID); err != nil || home != "relay-b" {
		t.Fatalf("home %q, %v; want relay-b", home, err)
	}
	sess, err := d.st.Session(context.Background(), d.sess.ID)
	if err != nil || sess.Status != store.StatusLive {
		t.Fatalf("session %+v, %v", sess, err)
	}
	// The technician ends it from relay a: the agent on b hears it.
	console.send(protocol.End{})
	expect[protocol.End](agent, nil)
	expect(console, status(protocol.StatusEnded))
}

// saved waits until the room's home saved the level (it does every
// quarter second): a relay dying before that leaves the level before.
func (d *desk) saved(level protocol.Level) {
	d.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, d.dsn)
	if err != nil {
		d.t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		var state string
		if err := conn.QueryRow(ctx, "SELECT state FROM room_claims WHERE session_id = $1", d.sess.ID).Scan(&state); err != nil {
			d.t.Fatal(err)
		}
		if strings.Contains(state, `"level":"`+string(level)+`"`) {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("room state %s; want level %s", state, level)
		}
	}
}

// The agent's relay goes silent mid-session: the agent resumes on a third
// relay within the grace period at the granted level, the console on the
// first relay follows, and the silent relay's room is let go, not
// interrupted.
func TestAgentResumesOnAnotherRelay(t *testing.T) {
	d := newDesk(t)
	a, b, c := d.relay("relay-a", time.Minute), d.relay("relay-b", time.Minute), d.relay("relay-c", time.Minute)
	console, agent, joined := d.live(a, b)
	d.saved(protocol.LevelControl)
	b.stop()
	agent.ws.Close()
	start := time.Now()
	agent2 := d.agent(c)
	agent2.send(protocol.Resume{SessionID: joined.SessionID, Token: joined.ResumeToken})
	j := expect[protocol.Joined](agent2, nil)
	if !j.Resumed || j.KeptLevel != protocol.LevelControl {
		t.Fatalf("resumed %+v; want the control level kept", j)
	}
	expect(console, func(s protocol.Status) bool {
		return s.Status == protocol.StatusLive && s.Level == protocol.LevelControl
	})
	t.Logf("resumed on relay-c and the console on relay-a followed in %v", time.Since(start).Round(time.Millisecond))
	agent2.send(protocol.Offer{SDP: "v=0 again"})
	expect(console, func(o protocol.Offer) bool { return o.SDP == "v=0 again" })
	sess, err := d.st.Session(context.Background(), d.sess.ID)
	if err != nil || sess.Status != store.StatusLive {
		t.Fatalf("session %+v, %v; want live", sess, err)
	}
	if home, _ := a.node.Home(context.Background(), d.sess.ID); home != "relay-c" {
		t.Fatalf("home %q; want relay-c", home)
	}
}

// A resume after the grace period finds the room of a dead relay too old
// to carry on: the session is interrupted when that relay was last heard
// of, and the customer is asked again.
func TestResumeAfterGraceAsksAgain(t *testing.T) {
	d := newDesk(t)
	a, b, c := d.relay("relay-a", time.Minute), d.relay("relay-b", 2*time.Second), d.relay("relay-c", 2*time.Second)
	console, agent, joined := d.live(a, b)
	b.stop()
	agent.ws.Close()
	time.Sleep(3 * time.Second)
	agent2 := d.agent(c)
	agent2.send(protocol.Resume{SessionID: joined.SessionID, Token: joined.ResumeToken})
	if j := expect[protocol.Joined](agent2, nil); j.KeptLevel != "" {
		t.Fatalf("resumed %+v; want nothing kept", j)
	}
	if r := expect[protocol.ConsentRequest](agent2, nil); r.Level != protocol.LevelView {
		t.Fatalf("asked %+v; want view", r)
	}
	expect(console, status(protocol.StatusJoined))
}

// A relay dies and its agent never comes back: once the relay has been
// silent for the grace period, the leader interrupts the session at the
// moment the relay was last heard of, and drops its claim.
func TestLeaderInterruptsSessionsOfALostRelay(t *testing.T) {
	d := newDesk(t)
	// b's own grace timer, still armed in this process after its "crash",
	// must not be what interrupts: its grace is long, the leader's short.
	a, b := d.relay("relay-a", 2*time.Second), d.relay("relay-b", time.Hour)
	console, agent, _ := d.live(a, b)
	b.stop()
	lost := time.Now()
	agent.ws.Close()
	expect(console, status(protocol.StatusInterrupted))
	t.Logf("interrupted %v after the relay went silent", time.Since(lost).Round(time.Millisecond))
	sess, err := d.st.Session(context.Background(), d.sess.ID)
	if err != nil || sess.Status != store.StatusInterrupted {
		t.Fatalf("session %+v, %v; want interrupted", sess, err)
	}
	if orphans, err := a.node.Orphans(context.Background(), 0); err != nil || len(orphans) != 0 {
		t.Fatalf("claims of the lost relay left: %+v, %v", orphans, err)
	}
}

// One relay at a time holds the desk's jobs; when it stops, another takes
// them within a few beats.
func TestOneLeaderAtATime(t *testing.T) {
	d := newDesk(t)
	a, b := d.relay("relay-a", time.Minute), d.relay("relay-b", time.Minute)
	leaders := func() []*relay {
		var out []*relay
		for _, r := range []*relay{a, b} {
			if r.node.Leader() {
				out = append(out, r)
			}
		}
		return out
	}
	var first *relay
	for deadline := time.Now().Add(wait); first == nil; time.Sleep(50 * time.Millisecond) {
		switch l := leaders(); {
		case len(l) > 1:
			t.Fatal("two leaders at once")
		case len(l) == 1:
			first = l[0]
		case time.Now().After(deadline):
			t.Fatal("no leader")
		}
	}
	first.stop()
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		if l := leaders(); len(l) == 1 && l[0] != first {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no other leader after %s stopped", first.name)
		}
	}
}

// The console's relay dies: the agent's relay unseats that console (its
// detach never comes), so the room empties when the session ends.
func TestConsoleOfALostRelayIsUnseated(t *testing.T) {
	d := newDesk(t)
	a, b := d.relay("relay-a", time.Minute), d.relay("relay-b", time.Minute)
	console, _, _ := d.live(a, b)
	if st := b.hub.Stats(); st.Consoles != 1 {
		t.Fatalf("relay-b seats %d consoles, want 1", st.Consoles)
	}
	a.stop()
	console.ws.Close()
	for deadline := time.Now().Add(wait); b.hub.Stats().Consoles != 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("relay-b still seats the console of the lost relay-a")
		}
	}
}

// shutdown stops r as SIGTERM does: its hub shuts down while its node
// still runs, then the node leaves the desk.
func (r *relay) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := r.hub.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown %s: %v", r.name, err)
	}
	r.stop()
}

// kinds lists the session's event kinds from the n-th on.
func (d *desk) kinds(from int) []string {
	d.t.Helper()
	events, err := d.st.Events(context.Background(), d.sess.ID)
	if err != nil {
		d.t.Fatal(err)
	}
	var out []string
	for _, e := range events[min(from, len(events)):] {
		out = append(out, e.Kind)
	}
	return out
}

// A relay stopped on purpose (a rolling restart) hands its sessions over:
// the consent granted a moment before the stop is saved with the room, the
// agent is told to go elsewhere, and it resumes on another relay at that
// level with no new question; the console on a third relay follows.
func TestStoppingRelayHandsItsSessionsOver(t *testing.T) {
	d := newDesk(t)
	a, b, c := d.relay("relay-a", time.Minute), d.relay("relay-b", time.Minute), d.relay("relay-c", time.Minute)
	console, agent, joined := d.live(a, b)
	before := len(d.kinds(0))
	// No wait for the quarter-second save: the control just granted must
	// travel with the hand-over itself.
	stopped := time.Now()
	b.shutdown(t)
	if e := expect[protocol.Error](agent, nil); e.Code != protocol.ErrRelayRestarting {
		t.Fatalf("the agent heard %+v; want relay_restarting", e)
	}
	agent.ws.Close()
	agent2 := d.agent(c)
	agent2.send(protocol.Resume{SessionID: joined.SessionID, Token: joined.ResumeToken})
	if j := expect[protocol.Joined](agent2, nil); !j.Resumed || j.KeptLevel != protocol.LevelControl {
		t.Fatalf("resumed %+v; want the control level kept", j)
	}
	expect(console, func(s protocol.Status) bool {
		return s.Status == protocol.StatusLive && s.Level == protocol.LevelControl
	})
	t.Logf("relay-b stopped; the session was live again on relay-c after %v", time.Since(stopped).Round(time.Millisecond))
	sess, err := d.st.Session(context.Background(), d.sess.ID)
	if err != nil || sess.Status != store.StatusLive {
		t.Fatalf("session %+v, %v; want live", sess, err)
	}
	got := strings.Join(d.kinds(before), " ")
	if got != "link_down link_up resumed" {
		t.Errorf("events after the stop %q; want link_down link_up resumed", got)
	}
}

// A session handed over that no relay takes within the grace period is
// interrupted by the leader, its worked time ending at the hand-over, not
// at when the stopped relay had claimed it.
func TestHandedOverSessionNobodyTakesIsInterrupted(t *testing.T) {
	d := newDesk(t)
	a, b := d.relay("relay-a", 2*time.Second), d.relay("relay-b", 2*time.Second)
	console, agent, _ := d.live(a, b)
	time.Sleep(3 * time.Second) // the claim is older than the grace
	stopped := time.Now()
	b.shutdown(t)
	agent.ws.Close()
	expect(console, status(protocol.StatusInterrupted))
	since := time.Since(stopped)
	t.Logf("interrupted %v after the hand-over", since.Round(time.Millisecond))
	if since < 2*time.Second {
		t.Errorf("interrupted %v after the hand-over, within the grace period", since)
	}
	sess, err := d.st.Session(context.Background(), d.sess.ID)
	if err != nil || sess.Status != store.StatusInterrupted {
		t.Fatalf("session %+v, %v; want interrupted", sess, err)
	}
}
