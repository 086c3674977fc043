package hub_test

import (
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/protocol"
)

// A technician opening the session (a hand-over) while the hub records
// the customer's answer to an overrun question must not freeze the room.
// The hub is held inside the answer's billable-time query while the new
// console attaches, which is the window in which the two once took the
// room's lock and the hub-wide estimate lock in opposite orders.
func TestHandoverRacingAnOverrunAnswer(t *testing.T) {
	ee := newEstimateEnv(t, false)
	agent, _ := ee.overrunAsked()

	entered, release := make(chan struct{}), make(chan struct{})
	gate := func() {
		close(entered)
		<-release
	}
	ee.gate.Store(&gate)
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: true, Text: "verder", Lang: "nl"})
	select {
	case <-entered:
	case <-time.After(wait):
		t.Fatal("the answer never asked for the billable time")
	}
	ee.gate.Store(nil)

	// The other technician opens the session while the answer is held.
	ws, _, err := websocket.DefaultDialer.Dial(ee.wsURL("/ws/console/"+strconv.FormatInt(ee.sess.ID, 10)+"?as=other"),
		http.Header{"Origin": {ee.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	other := &peer{name: "other console", ws: ws}
	other.send(t, protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleConsole})
	expect[protocol.Welcome](t, other)
	// Welcome is sent just before the hand-over takes the room: give it
	// the moment it needs to get there, then let the answer go on.
	time.Sleep(50 * time.Millisecond)
	close(release)

	done := make(chan protocol.Status, 1)
	go func() {
		_ = ws.SetReadDeadline(time.Now().Add(2 * wait))
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if m, err := protocol.Decode(b); err == nil {
				if st, ok := m.(protocol.Status); ok {
					done <- st
					return
				}
			}
		}
	}()
	select {
	case st := <-done:
		if st.Level != protocol.LevelView {
			t.Errorf("new technician sees level %q, want view", st.Level)
		}
	case <-time.After(wait):
		frozen("hand-over and overrun answer deadlocked the room")
	}
	if h := expect[protocol.Handover](t, agent); h.Technician != "Piet Janssens" {
		t.Errorf("agent told %+v", h)
	}
}

// frozen fails the run at once with every goroutine's stack: with a room
// frozen, the cleanup's Shutdown would wait on it forever (a panic or
// t.Fatal runs cleanups too), and a test must fail rather than hang.
func frozen(what string) {
	fmt.Fprintf(os.Stderr, "FAIL: %s; goroutines:\n", what)
	_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
	os.Exit(1)
}
