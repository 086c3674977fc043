package app

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/protocol"
)

// resumeScript is what a dropRelay sends on a connection that resumes.
type resumeScript struct {
	kept protocol.Level // the consent level the relay kept, "" for none
	// early is sent before the Joined that answers the resume, as a relay
	// may when a console attaches in between; nil for nothing.
	early func(send func(protocol.Message))
	// resumed follows the Joined and the console's commitment.
	resumed func(send func(protocol.Message))
}

// dropRelay is a relay whose first connection dies (no close frame, as
// when a network drops) once the customer allowed viewing. Later
// connections must resume with the token; they are refused while the
// relay is "down" (refuse) and answered as script says.
func dropRelay(t *testing.T, grace int, script resumeScript, refuse *atomic.Bool, got chan<- protocol.Message) *httptest.Server {
	t.Helper()
	var conns atomic.Int32
	serve := relayHandler(t, func(c relayConn) {
		first := conns.Add(1) == 1
		// read skips heartbeats and reports the rest.
		read := func() protocol.Message {
			for {
				m := c.read()
				if m == nil || m.Type() != "heartbeat" {
					if m != nil {
						select {
						case got <- m:
						default:
						}
					}
					return m
				}
			}
		}
		if m := read(); m == nil || m.Type() != "hello" {
			t.Errorf("first message %v, want hello", m)
			return
		}
		c.send(protocol.Welcome{Protocol: protocol.Version})
		if first {
			read() // join
			c.send(protocol.Joined{SessionID: 7, Technician: "Jan", ResumeToken: "token-1", GraceSeconds: grace})
			c.send(protocol.ConsentRequest{Level: protocol.LevelView})
			for m := read(); m != nil && m.Type() != "consent"; m = read() {
			}
			refuse.Store(true)
			_ = c.ws.UnderlyingConn().Close()
			return
		}
		if m, ok := read().(protocol.Resume); !ok || m.SessionID != 7 || m.Token != "token-1" {
			t.Errorf("agent came back with %#v, want a resume of session 7 with its token", m)
			return
		}
		if script.early != nil {
			script.early(c.send)
		}
		c.send(protocol.Joined{SessionID: 7, Technician: "Jan", ResumeToken: "token-2", GraceSeconds: grace, Resumed: true, KeptLevel: script.kept})
		// What the console announces when the session is live again.
		c.send(protocol.SASCommit{Hash: strings.Repeat("ab", 32)})
		if script.resumed != nil {
			script.resumed(c.send)
		}
		for read() != nil {
		}
	})
	// While "down", the relay refuses before any WebSocket.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		serve(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// dropped is an agent whose customer allowed viewing just before its relay
// dropped; the relay refuses connections until refuse is cleared.
type dropped struct {
	app      *App
	counters counters
	refuse   atomic.Bool
	got      chan protocol.Message
}

func allowThenDrop(t *testing.T, grace int, script resumeScript) *dropped {
	t.Helper()
	d := &dropped{got: make(chan protocol.Message, 64)}
	srv := dropRelay(t, grace, script, &d.refuse, d.got)
	var stop func()
	d.app, stop = startApp(t, srv.URL, &d.counters)
	t.Cleanup(stop)
	act(t, d.app, "code", "123456789")
	waitPhase(t, d.app, "ask")
	act(t, d.app, "allow", "")
	return d
}

// A drop within the grace period: the page says so, no new question is
// asked, and the stream is offered again on the new connection.
func TestDropWithinGraceResumesWithoutNewConsent(t *testing.T) {
	d := allowThenDrop(t, 60, resumeScript{kept: protocol.LevelView})
	a, got := d.app, d.got
	waitState(t, a, `"link":"reconnecting"`)
	time.Sleep(300 * time.Millisecond)
	d.refuse.Store(false)
	waitMessage(t, got, "resume")
	// The drop cut the first offer off before any answer, so there is no
	// ICE session to restart: a new offer comes instead (e2e tests the
	// restart of a connected stream).
	waitMessage(t, got, "offer")
	waitPhase(t, a, "sharing")
	for len(got) > 0 {
		if m := <-got; m.Type() == "consent" {
			t.Errorf("agent sent %+v after resuming; nothing was asked", m)
		}
	}
}

// A console that attaches to the relay's room while the agent resumes asks
// for a new offer, and that word may reach the agent before the answer to
// its resume (a console on another relay, following the session to the
// relay the agent came back to). The agent offers anew once resumed; it
// used to stop its stream and start none, and the technician's picture
// stayed frozen until the session ended.
func TestRenegotiateBeforeTheResumeAnswerStillOffers(t *testing.T) {
	d := allowThenDrop(t, 60, resumeScript{kept: protocol.LevelView, early: func(send func(protocol.Message)) {
		send(protocol.Renegotiate{})
	}})
	waitState(t, d.app, `"link":"reconnecting"`)
	d.refuse.Store(false)
	waitMessage(t, d.got, "resume")
	waitMessage(t, d.got, "offer")
	waitPhase(t, d.app, "sharing")
}

// askView is the relay asking again to view, as after a lapsed consent.
func askView(send func(protocol.Message)) { send(protocol.ConsentRequest{Level: protocol.LevelView}) }

// A drop longer than the grace period stops sharing at the agent, and the
// relay's new question is asked again.
func TestDropLongerThanGraceStopsSharing(t *testing.T) {
	d := allowThenDrop(t, 1, resumeScript{resumed: askView})
	a, got, c := d.app, d.got, &d.counters
	waitState(t, a, `"phase":"connecting"`)
	waitState(t, a, `"link":"lost"`)
	before := c.captures.Load()
	time.Sleep(300 * time.Millisecond)
	if n := c.captures.Load(); n != before {
		t.Errorf("%d captures after sharing stopped", n-before)
	}
	d.refuse.Store(false)
	waitMessage(t, got, "resume")
	waitPhase(t, a, "ask")
}

// A customer who stops sharing while the relay is unreachable is heard
// once it is back: the agent resumes only to deliver the Stop.
func TestStopDuringADropReachesTheRelay(t *testing.T) {
	// An interrupted session would be asked again: the agent must not
	// take the question up.
	d := allowThenDrop(t, 60, resumeScript{resumed: askView})
	waitState(t, d.app, `"link":"reconnecting"`)
	act(t, d.app, "stop", "")
	waitPhase(t, d.app, "ended")
	d.refuse.Store(false)
	waitMessage(t, d.got, "resume")
	if end := waitMessage(t, d.got, "end").(protocol.End); end.By != protocol.ByCustomer || end.Reason != "customer_stopped" {
		t.Errorf("delivered %+v, want the customer's stop", end)
	}
	waitPhase(t, d.app, "ended")
}

// A relay that restarted (kill -9) within the grace period answers the
// resume without keeping the consent, and asks again: the agent stops
// capturing and offers nothing until the customer's new Allow, and the
// page shows the question, not "link lost".
func TestResumeWithoutKeptConsentSharesNothingBeforeAllow(t *testing.T) {
	d := allowThenDrop(t, 60, resumeScript{resumed: askView})
	a, got, c := d.app, d.got, &d.counters
	waitState(t, a, `"link":"reconnecting"`)
	d.refuse.Store(false)
	waitMessage(t, got, "resume")
	waitPhase(t, a, "ask")
	opened := c.opened.Load()
	time.Sleep(500 * time.Millisecond)
	for len(got) > 0 {
		if m := <-got; m.Type() == "offer" {
			t.Fatalf("agent offered a stream after a resume that kept no consent, before a new Allow")
		}
	}
	captures := c.captures.Load()
	time.Sleep(300 * time.Millisecond)
	if n := c.captures.Load() - captures; n != 0 {
		t.Errorf("%d captures while the customer is asked again", n)
	}
	if n := c.opened.Load(); n != opened {
		t.Errorf("screen opened %d times after the resume, before Allow", n-opened)
	}
	if s := pageState(t, a); strings.Contains(s, `"link":`) {
		t.Errorf("page shows a link problem with the relay back: %s", s)
	}
	act(t, a, "allow", "")
	waitMessage(t, got, "consent")
	waitMessage(t, got, "offer")
	waitPhase(t, a, "sharing")
}

// pageState is the state the page is shown now: the first event of its
// stream.
func pageState(t *testing.T, a *App) string {
	t.Helper()
	body := pageEvents(t, a)
	defer body.Close()
	line, err := bufio.NewReader(body).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}
