package hub_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
)

const churnCycles = 200

// leaveCleanly sends a close frame, as a browser closing its tab does, and
// waits for the relay to close its side.
func (p *peer) leaveCleanly(t *testing.T) {
	t.Helper()
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := p.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(wait)); err != nil {
		t.Fatalf("%s: close frame: %v", p.name, err)
	}
	p.expectClosed(t)
	p.ws.Close()
}

// vanish drops the TCP connection without a close frame, as a pulled cable
// or a killed process does.
func (p *peer) vanish() { p.ws.Close() }

// churnSession creates a fresh session, joins an agent to it with its code
// and attaches a console; with live, the customer allows viewing too.
func (e *env) churnSession(i int, live bool) (agent, console *peer) {
	e.t.Helper()
	code := fmt.Sprintf("7%011d", i)
	sess, err := e.st.CreateSession(context.Background(), store.NewSession{TicketID: e.sess.TicketID,
		TechnicianID: e.tech.ID, CodeHash: codes.Hash(code), CodeExpires: e.clk.now().Add(10 * time.Minute)})
	if err != nil {
		e.t.Fatalf("cycle %d: create session: %v", i, err)
	}
	e.sess = sess
	agent = e.helloAgent(machine)
	agent.send(e.t, protocol.Join{Code: code})
	expect[protocol.Joined](e.t, agent)
	expect[protocol.ConsentRequest](e.t, agent)
	console, st := e.console()
	if st.Status != protocol.StatusJoined {
		e.t.Fatalf("cycle %d: console status %+v, want joined", i, st)
	}
	if live {
		agent.send(e.t, protocol.Consent{Level: protocol.LevelView, Granted: true})
		expectStatus(e.t, console, protocol.StatusLive)
	}
	return agent, console
}

// Connections come and go all day on a relay: 200 sessions, each ended a
// different way, must leave no connection, room or goroutine behind.
func TestChurnLeavesNothingBehind(t *testing.T) {
	e := newEnv(t)
	// The test server's accept loop lives until cleanup; everything started
	// after this point must be gone by the end.
	before := goleak.IgnoreCurrent()
	start := time.Now()
	endings := []struct {
		name string
		live bool
		end  func(agent, console *peer)
	}{
		{"customer ends", true, func(agent, console *peer) {
			agent.send(t, protocol.End{})
			expectStatus(t, console, protocol.StatusEnded)
			agent.expectClosed(t)
			agent.vanish()
			console.leaveCleanly(t)
		}},
		{"technician ends", true, func(agent, console *peer) {
			console.send(t, protocol.End{})
			expect[protocol.End](t, agent)
			agent.expectClosed(t)
			agent.vanish()
			console.vanish()
		}},
		// What the relay does for a vanished agent (end at once, or wait
		// for it to come back) is not this test's business: only that
		// nothing is left once both sides are gone.
		{"agent vanishes while live", true, func(agent, console *peer) {
			agent.vanish()
			console.leaveCleanly(t)
		}},
		{"console leaves first", true, func(agent, console *peer) {
			console.leaveCleanly(t)
			agent.leaveCleanly(t)
		}},
		{"both vanish before consent", false, func(agent, console *peer) {
			console.vanish()
			agent.vanish()
		}},
		{"agent leaves before consent", false, func(agent, console *peer) {
			agent.leaveCleanly(t)
			console.vanish()
		}},
	}
	for i := range churnCycles {
		ending := endings[i%len(endings)]
		agent, console := e.churnSession(i, ending.live)
		ending.end(agent, console)
		if t.Failed() {
			t.Fatalf("cycle %d (%s) failed", i, ending.name)
		}
	}
	cycled := time.Since(start)

	// The relay notices every departure by itself, without a shutdown to
	// push it.
	waitHeld := func(what string, done func(rooms, conns int) bool) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for rooms, conns := e.hub.Held(); !done(rooms, conns); rooms, conns = e.hub.Held() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: hub still holds %d rooms and %d connections after %v", what, rooms, conns, wait)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitHeld("before shutdown", func(_, conns int) bool { return conns == 0 })
	e.shutdown()
	waitHeld("after shutdown", func(rooms, conns int) bool { return rooms == 0 && conns == 0 })
	goleak.VerifyNone(t, before)
	t.Logf("%d cycles in %v; all gone %v after start", churnCycles, cycled.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
