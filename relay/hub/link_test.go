package hub_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/relay/hub"
)

// resumeAgent connects a new agent connection and resumes the session with
// token; it returns the connection and the relay's Joined.
func (e *env) resumeAgent(token string) (*peer, protocol.Joined) {
	e.t.Helper()
	a := e.helloAgent(machine)
	a.send(e.t, protocol.Resume{SessionID: e.sess.ID, Token: token})
	j := expect[protocol.Joined](e.t, a)
	if !j.Resumed || j.SessionID != e.sess.ID || j.ResumeToken == "" || j.ResumeToken == token {
		e.t.Fatalf("joined after resume %+v: want resumed, same session, a new token", j)
	}
	e.joined = j
	return a, j
}

func withGrace(d time.Duration) func(*hub.Config) { return func(c *hub.Config) { c.Grace = d } }

// kindsFrom is the session's event kinds from the first of kind on.
func (e *env) kindsFrom(kind string) []string {
	k := e.eventKinds()
	if i := slices.Index(k, kind); i >= 0 {
		return k[i:]
	}
	return nil
}

func TestDropWithinGraceKeepsTheConsent(t *testing.T) {
	e := newEnv(t)
	agent, console := e.controlled()
	oldToken := e.joined.ResumeToken
	agent.ws.Close()
	if st := expectStatus(t, console, protocol.StatusReconnecting); st.Level != protocol.LevelControl {
		t.Errorf("console told %+v, want reconnecting at control", st)
	}
	e.waitEvent(store.EventLinkDown)

	back, j := e.resumeAgent(oldToken)
	if j.KeptLevel != protocol.LevelControl {
		t.Errorf("agent told the kept consent is %q, want control", j.KeptLevel)
	}
	if st := expectStatus(t, console, protocol.StatusLive); st.Reason != protocol.ReasonResumed || st.Level != protocol.LevelControl {
		t.Errorf("console told %+v, want live, resumed, at control", st)
	}
	// No new question: the customer's consent stands.
	back.send(t, protocol.Heartbeat{})
	expect[protocol.Heartbeat](t, back)
	e.waitEvent(store.EventResumed)
	if got, want := e.kindsFrom(store.EventLinkDown), []string{"link_down", "link_up", "resumed"}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	// Tokens are single-use: the one just used resumes nothing more.
	thief := e.helloAgent(machine)
	thief.send(t, protocol.Resume{SessionID: e.sess.ID, Token: oldToken})
	expectError(t, thief, protocol.ErrWrongCode)
	if s := e.session(); s.Status != store.StatusLive {
		t.Errorf("stored status %s, want live", s.Status)
	}
}

func TestDropLongerThanGraceNeedsNewConsent(t *testing.T) {
	for _, allow := range []bool{true, false} {
		t.Run(map[bool]string{true: "allowed again", false: "declined"}[allow], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { dropLongerThanGrace(t, allow) })
		})
	}
}

// dropLongerThanGrace runs on the bubble's clock: the grace period
// passes as soon as everyone waits.
func dropLongerThanGrace(t *testing.T, allow bool) {
	e := newSyncEnv(t, withGrace(150*time.Millisecond))
	agent, console := e.controlled()
	token := e.joined.ResumeToken
	agent.ws.Close()
	expectStatus(t, console, protocol.StatusReconnecting)
	if st := expectStatus(t, console, protocol.StatusInterrupted); st.Reason != store.InterruptGraceExpired {
		t.Errorf("console told %+v, want interrupted, grace_expired", st)
	}
	if s := e.session(); s.Status != store.StatusInterrupted {
		t.Fatalf("stored status %s, want interrupted", s.Status)
	}

	back, j := e.resumeAgent(token)
	if j.KeptLevel != "" {
		t.Errorf("agent told the consent %q was kept, after the grace period", j.KeptLevel)
	}
	if q := expect[protocol.ConsentRequest](t, back); q.Level != protocol.LevelView {
		t.Errorf("question %+v, want view again", q)
	}
	if st := expectStatus(t, console, protocol.StatusJoined); st.Reason != protocol.ReasonResumed {
		t.Errorf("console told %+v, want joined, resumed", st)
	}
	back.send(t, protocol.Consent{Level: protocol.LevelView, Granted: allow})
	if allow {
		if st := expectStatus(t, console, protocol.StatusLive); st.Level != protocol.LevelView {
			t.Errorf("console told %+v, want live at view: control needs asking again", st)
		}
		e.waitEvent(store.EventConsentGranted)
		if got, want := e.kindsFrom(store.EventLinkDown), []string{"link_down", "consent_revoked", "interrupted",
			"resumed", "link_up", "consent_asked", "consent_granted"}; !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		return
	}
	if st := expectStatus(t, console, protocol.StatusEnded); st.Reason != "declined_resume" {
		t.Errorf("console told %+v, want ended, declined_resume", st)
	}
	if s := e.session(); s.Status != store.StatusEnded {
		t.Errorf("stored status %s, want ended", s.Status)
	}
}

func TestSilentLinkIsDownUntilHeardAgain(t *testing.T) {
	synctest.Test(t, testSilentLinkIsDownUntilHeardAgain)
}

func testSilentLinkIsDownUntilHeardAgain(t *testing.T) {
	e := newSyncEnv(t)
	agent, console := e.live()
	silentFrom := e.clk.now()
	e.clk.advance(protocol.LinkTimeout + time.Second)
	expectStatus(t, console, protocol.StatusReconnecting)
	agent.send(t, protocol.Heartbeat{})
	expect[protocol.Heartbeat](t, agent)
	if st := expectStatus(t, console, protocol.StatusLive); st.Reason != protocol.ReasonResumed {
		t.Errorf("console told %+v, want live, resumed", st)
	}
	e.waitEvent(store.EventLinkUp)
	evs, err := e.st.Events(context.Background(), e.sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Kind == store.EventLinkDown && !ev.At.Equal(silentFrom) {
			t.Errorf("link_down at %v, want %v: the link went down when the relay last heard the agent", ev.At, silentFrom)
		}
	}
}

func TestShutdownInterruptsOpenSessions(t *testing.T) {
	e := newEnv(t)
	e.live()
	e.shutdown()
	if s := e.session(); s.Status != store.StatusInterrupted {
		t.Errorf("stored status %s, want interrupted", s.Status)
	}
	if k := e.eventKinds(); k[len(k)-1] != store.EventInterrupted {
		t.Errorf("events %v, want the last to be interrupted", k)
	}
}

func TestResumeBeforeHelloOrWithWrongTokenRefused(t *testing.T) {
	e := newEnv(t)
	e.live()
	for _, tc := range []struct {
		name string
		m    protocol.Resume
	}{
		{"wrong token", protocol.Resume{SessionID: e.sess.ID, Token: "x"}},
		{"other session", protocol.Resume{SessionID: e.sess.ID + 1, Token: e.joined.ResumeToken}},
		{"no token", protocol.Resume{SessionID: e.sess.ID}},
	} {
		a := e.helloAgent(machine)
		a.send(t, tc.m)
		expectError(t, a, protocol.ErrWrongCode)
	}
}

// An interrupted session whose agent never comes back is ended by the
// relay after AbandonAfter, and its console told.
func TestAbandonedSessionIsEnded(t *testing.T) { synctest.Test(t, testAbandonedSessionIsEnded) }

func testAbandonedSessionIsEnded(t *testing.T) {
	e := newSyncEnv(t, withGrace(100*time.Millisecond))
	agent, console := e.live()
	agent.ws.Close()
	expectStatus(t, console, protocol.StatusReconnecting)
	expectStatus(t, console, protocol.StatusInterrupted)
	e.clk.advance(hub.AbandonAfter - time.Minute)
	time.Sleep(1500 * time.Millisecond) // a sweep or more, too early to end it (the bubble's clock)
	synctest.Wait()
	if s := e.session(); s.Status != store.StatusInterrupted {
		t.Fatalf("status %s before AbandonAfter, want interrupted", s.Status)
	}
	e.clk.advance(2 * time.Minute)
	if st := expectStatus(t, console, protocol.StatusEnded); st.By != protocol.ByRelay || st.Reason != store.ReasonAgentGone {
		t.Errorf("console told %+v, want ended by the relay, agent_gone", st)
	}
	if s := e.session(); s.Status != store.StatusEnded || s.EndReason != store.ReasonAgentGone {
		t.Errorf("stored %s (%s), want ended, agent_gone", s.Status, s.EndReason)
	}
	// Its token resumes nothing now.
	a := e.helloAgent(machine)
	a.send(t, protocol.Resume{SessionID: e.sess.ID, Token: e.joined.ResumeToken})
	expectError(t, a, protocol.ErrSessionOver)
}

// A session the store says is live but this hub does not hold (another
// relay process had it, and nothing interrupted it) resumes only with a
// new consent: the consent is not this relay's to vouch for.
func TestResumeOfASessionThisHubDoesNotHold(t *testing.T) {
	e := newEnv(t)
	e.live()
	other := hub.New(e.st, discard, hub.Config{Company: company, Now: e.clk.now, Codes: codes})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws/agent", other.ServeAgent)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = other.Shutdown(ctx)
		srv.Close()
	})
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/agent", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	a := &peer{name: "agent", ws: ws}
	a.send(t, protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent, Agent: &machine})
	expect[protocol.Welcome](t, a)
	a.send(t, protocol.Resume{SessionID: e.sess.ID, Token: e.joined.ResumeToken})
	if j := expect[protocol.Joined](t, a); !j.Resumed {
		t.Errorf("joined %+v, want resumed", j)
	}
	if q := expect[protocol.ConsentRequest](t, a); q.Level != protocol.LevelView {
		t.Errorf("question %+v, want view", q)
	}
	if s := e.session(); s.Status != store.StatusJoined {
		t.Errorf("stored status %s, want joined (asked again)", s.Status)
	}
}
