package hub_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/sas"
	"github.com/meekijk/meekijk/relay/hub"
)

// TestSASCompared: "codes compared" counts only from a console that can
// have seen a code (live, media flowing on the connection now up); then it
// is recorded as a keyed hash, never the code, and the agent gets the hash.
func TestSASCompared(t *testing.T) {
	e := newEnv(t)
	agent, console := e.live()

	// Live, but no picture yet: a forged comparison is refused.
	console.send(t, protocol.SASCompared{Code: "123456"})
	expectError(t, console, protocol.ErrNotAllowed)
	// A console does not hand the agent a hash of its choosing.
	agent.send(t, protocol.Offer{SDP: "offer"})
	expect[protocol.Offer](t, console)
	agent.send(t, protocol.MediaStarted{})
	e.waitEvent("media_started")
	console.send(t, protocol.SASCompared{Hash: sas.AuditHash(e.sess.ID, "123456")})
	expectError(t, console, protocol.ErrBadMessage)
	// A malformed one is refused by name, and the connection lives on.
	if err := console.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"sas_compared","data":{"code":"12 34 56"}}`)); err != nil {
		t.Fatal(err)
	}
	expectError(t, console, protocol.ErrBadMessage)

	console.send(t, protocol.SASCompared{Code: "123456"})
	got := expect[protocol.SASCompared](t, agent)
	want := sas.AuditHash(e.sess.ID, "123456")
	if got.Hash != want || got.Code != "" {
		t.Fatalf("agent got %+v, want only the hash %s", got, want)
	}
	e.waitEvent(hub.EventSASCompared)
	evs, err := e.st.Events(context.Background(), e.sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Kind != hub.EventSASCompared {
			continue
		}
		var d map[string]string
		if err := json.Unmarshal(ev.Detail, &d); err != nil || d["hash"] != want || len(d) != 1 {
			t.Errorf("sas_compared detail %s, want only the hash %s", ev.Detail, want)
		}
	}

	// A new connection (not an ICE restart) has new certificates: until
	// its first frame there is nothing to compare.
	agent.send(t, protocol.Offer{SDP: "second offer"})
	expect[protocol.Offer](t, console)
	console.send(t, protocol.SASCompared{Code: "123456"})
	expectError(t, console, protocol.ErrNotAllowed)
	agent.send(t, protocol.Offer{SDP: "restart", Restart: true})
	expect[protocol.Offer](t, console)
	console.send(t, protocol.SASCompared{Code: "123456"})
	expectError(t, console, protocol.ErrNotAllowed)
}

// TestSASMismatchEnds: either side's "the codes differ" ends the session
// and the record says why.
func TestSASMismatchEnds(t *testing.T) {
	for _, by := range []string{protocol.ByTechnician, protocol.ByCustomer} {
		t.Run(by, func(t *testing.T) {
			e := newEnv(t)
			agent, console := e.live()
			from := agent
			if by == protocol.ByTechnician {
				from = console
			}
			from.send(t, protocol.End{Reason: protocol.ReasonSASMismatch})
			st := expectStatus(t, console, protocol.StatusEnded)
			if st.By != by || st.Reason != protocol.ReasonSASMismatch {
				t.Errorf("console got %+v, want ended by %s for sas_mismatch", st, by)
			}
			if by == protocol.ByTechnician {
				if end := expect[protocol.End](t, agent); end.Reason != protocol.ReasonSASMismatch {
					t.Errorf("agent got %+v", end)
				}
			}
			agent.expectClosed(t)
			e.shutdown()
			if s := e.session(); s.EndReason != protocol.ReasonSASMismatch || s.EndedBy != by {
				t.Errorf("stored session ended by %s for %s", s.EndedBy, s.EndReason)
			}
		})
	}
}

// TestSASCommitReachesTheAgent: the console's commitment to its next
// certificate goes to the agent as it is; a malformed one is refused.
func TestSASCommitReachesTheAgent(t *testing.T) {
	e := newEnv(t)
	agent, console := e.live()
	commit := protocol.SASCommit{Hash: sas.AuditHash(1, "000000")} // any hex SHA-256
	console.send(t, commit)
	if got := expect[protocol.SASCommit](t, agent); got != commit {
		t.Errorf("agent got %+v, want %+v", got, commit)
	}
	if err := console.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"sas_commit","data":{"hash":"00"}}`)); err != nil {
		t.Fatal(err)
	}
	expectError(t, console, protocol.ErrBadMessage)
}
