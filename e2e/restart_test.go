package e2e

import (
	"database/sql"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// stopWith sends sig to the relay and waits for it to exit.
func (r *relay) stopWith(t *testing.T, sig syscall.Signal, within time.Duration) time.Duration {
	t.Helper()
	begun := time.Now()
	if err := r.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.Done():
	case <-time.After(within):
		t.Fatalf("relay still running %v after %v", within, sig)
	}
	return time.Since(begun)
}

// startAgain starts a relay on the address and data of the stopped one, as
// an upgrade or a supervisor would.
func (r *relay) startAgain(t *testing.T) {
	t.Helper()
	addr := strings.TrimPrefix(r.url, "http://")
	r.Proc = start(t, nil, bin.relay, "-addr", addr, "-data", r.dataDir, "-company", "Softwarehuis Janssens")
	if got := strings.TrimSuffix(waitLine(t, r.Proc, "Console: "), "/"); got != r.url {
		t.Fatalf("restarted relay at %s, want %s", got, r.url)
	}
}

type sessionRow struct {
	status string
	count  int
}

func onlySession(t *testing.T, db *sql.DB) sessionRow {
	t.Helper()
	var row sessionRow
	if err := db.QueryRow(`SELECT max(status), count(*) FROM remote_sessions`).Scan(&row.status, &row.count); err != nil {
		t.Fatal(err)
	}
	return row
}

// interruptions lists the session's interrupted events' reasons and the
// times (Unix ms) of its link_down events.
func interruptions(t *testing.T, db *sql.DB) (reasons []string, downs []int64) {
	t.Helper()
	rows, err := db.Query(`SELECT kind, at, json_extract(detail, '$.reason') FROM session_events
		WHERE kind IN ('interrupted', 'link_down') ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var at int64
		var reason sql.NullString
		if err := rows.Scan(&kind, &at, &reason); err != nil {
			t.Fatal(err)
		}
		if kind == "interrupted" {
			reasons = append(reasons, reason.String)
		} else {
			downs = append(downs, at)
		}
	}
	return reasons, downs
}

// TestRelayRestartsDuringALiveSession: a relay stopped for an upgrade
// (SIGTERM) and one killed outright (kill -9) both leave the session
// interrupted in the store, its worked time stopped; the agent comes back
// on its own, the customer is asked again, and the same session goes on,
// never a second one.
func TestRelayRestartsDuringALiveSession(t *testing.T) {
	s := newScene(t)
	ag, customer := s.liveSession(t, "Boekhouding: BTW-aangifte blijft leeg")
	db := s.relay.db(t)

	restart := func(how string, sig syscall.Signal) {
		t.Helper()
		frames := videoFrames(t, s.console)
		took := s.relay.stopWith(t, sig, 10*time.Second)
		if sig == syscall.SIGTERM {
			var exit *exec.ExitError
			if err := s.relay.Err(); err != nil && !errors.As(err, &exit) {
				t.Errorf("relay exit after SIGTERM: %v", err)
			} else if err != nil {
				t.Errorf("relay exited with %v after SIGTERM, want 0", err)
			}
			t.Logf("SIGTERM: relay exited after %v", took.Round(time.Millisecond))
			waitJS(t, s.console, "console told the relay restarts", `document.getElementById('session-error').textContent.length > 0`, 5*time.Second)
		}
		waitJS(t, customer, "agent page says it reconnects", `!document.getElementById('link').hidden`, 10*time.Second)
		// A relay that stops records the interruption itself; a killed
		// one cannot, and the next start does (checked below).
		if row := onlySession(t, db); sig == syscall.SIGTERM && (row.status != "interrupted" || row.count != 1) {
			t.Fatalf("%s: sessions %+v, want one, interrupted", how, row)
		}
		s.relay.startAgain(t)
		waitPhase(t, customer, "ask")
		waitConsoleStatus(t, s.console, "joined", 15*time.Second)
		waitJS(t, s.console, "console says the customer is asked again", `document.getElementById('session-notice').textContent.includes('opnieuw de vraag')`, 5*time.Second)
		run(t, customer, "allow again", chromedp.Click(chromedp.CSS(`#allow`)))
		waitPhase(t, customer, "sharing")
		waitConsoleStatus(t, s.console, "live", 10*time.Second)
		waitJS(t, s.console, "frames after "+how, `Number(document.getElementById('screen').dataset.frames) > `+itoa(frames+5), 15*time.Second)
		if row := onlySession(t, db); row.status != "live" || row.count != 1 {
			t.Fatalf("after %s: sessions %+v, want the same one, live", how, row)
		}
	}

	restart("SIGTERM", syscall.SIGTERM)
	killedAt := time.Now()
	restart("kill -9", syscall.SIGKILL)
	// The agent resumed without its consent each time: it must have
	// offered nothing the relay had to refuse before the new Allow.
	if refused := logLinesWith(ag.Stderr(), "before consent"); len(refused) > 0 {
		t.Errorf("agent signalled before the customer's new Allow:\n%s", strings.Join(refused, "\n"))
	}

	reasons, downs := interruptions(t, db)
	if want := []string{"relay_shutdown", "relay_restart"}; strings.Join(reasons, ",") != strings.Join(want, ",") {
		t.Errorf("interruptions %v, want %v", reasons, want)
	}
	// The killed relay could record nothing: the next one stops the
	// worked time at its last heartbeat (every 10 s) or event.
	if len(downs) != 2 {
		t.Fatalf("link_down events at %v, want 2", downs)
	}
	lost := killedAt.Sub(time.UnixMilli(downs[1]))
	if lost < 0 || lost > 11*time.Second {
		t.Errorf("worked time of the killed relay stops %v before the kill, want 0..11 s", lost)
	}
	t.Logf("kill -9: worked time stopped %v before the kill", lost.Round(time.Millisecond))
	kinds, _ := sessionEvents(t, s.relay)
	if n := strings.Count(strings.Join(kinds, " "), "consent_granted"); n != 3 {
		t.Errorf("%d consent grants, want 3 (first, after each restart): %v", n, kinds)
	}
}
