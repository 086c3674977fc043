package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
)

// liveSession is a session the customer allowed viewing at the clock's now.
func liveSession(t *testing.T, s *Store, c *clock, codeText string) Session {
	t.Helper()
	ctx := context.Background()
	sess := newSession(t, s, c, codeText)
	if _, err := s.RedeemCode(ctx, code(codeText), "agent", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Transition(ctx, sess.ID, []string{StatusJoined}, StatusLive, EventConsentGranted, "customer",
		map[string]string{"level": "view"}); err != nil {
		t.Fatal(err)
	}
	return sess
}

func workedSeconds(t *testing.T, s *Store, id int64, end time.Time) float64 {
	t.Helper()
	events, err := s.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var evs []billing.Event
	for _, e := range events {
		evs = append(evs, billing.Event{At: e.At, Kind: e.Kind, Detail: e.Detail})
	}
	var total time.Duration
	for _, seg := range billing.Timeline(evs, billing.Technician{ID: 1}, end) {
		total += seg.End.Sub(seg.Start)
	}
	return total.Seconds()
}

func TestResumeTokenIsCheckedAndSessionsAreNotDuplicated(t *testing.T) {
	s, c := openTest(t)
	ctx := context.Background()
	sess := liveSession(t, s, c, "400500600")
	if _, _, err := s.Resume(ctx, sess.ID, code("token-1"), "agent"); !errors.Is(err, ErrResumeRefused) {
		t.Fatalf("resume before any token: %v, want refused", err)
	}
	if err := s.SetResumeToken(ctx, sess.ID, code("token-1")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   int64
		hash []byte
	}{
		{"wrong token", sess.ID, code("token-2")},
		{"empty token", sess.ID, nil},
		{"other session", sess.ID + 1, code("token-1")},
	} {
		if _, _, err := s.Resume(ctx, tc.id, tc.hash, "agent"); !errors.Is(err, ErrResumeRefused) {
			t.Errorf("%s: %v, want refused", tc.name, err)
		}
	}
	got, interrupted, err := s.Resume(ctx, sess.ID, code("token-1"), "agent")
	if err != nil || got.ID != sess.ID || got.Status != StatusLive || interrupted {
		t.Fatalf("resume within the grace period = %+v, %v; want the same live session", got, err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM remote_sessions").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
	if _, err := s.End(ctx, sess.ID, "technician", "technician:1", "done"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Resume(ctx, sess.ID, code("token-1"), "agent"); !errors.Is(err, ErrSessionOver) {
		t.Errorf("resume of an ended session: %v, want ErrSessionOver", err)
	}
}

// A relay killed mid-session: at its next start the session is interrupted,
// its worked time stops at the last heartbeat, and the agent's resume puts
// it back to joined for a fresh consent.
func TestInterruptOpenStopsTimeAtTheLastHeartbeat(t *testing.T) {
	s, c := openTest(t)
	ctx := context.Background()
	c.advance(time.Hour)
	sess := liveSession(t, s, c, "700800900")
	if err := s.SetResumeToken(ctx, sess.ID, code("tok")); err != nil {
		t.Fatal(err)
	}
	waiting := newSession(t, s, c, "111000111")
	c.advance(10 * time.Minute)
	if err := s.Heartbeat(ctx, []int64{sess.ID}); err != nil {
		t.Fatal(err)
	}
	c.advance(7 * time.Minute) // the relay dies here; it starts again now
	ids, err := s.InterruptOpen(ctx, "relay")
	if err != nil || len(ids) != 1 || ids[0] != sess.ID {
		t.Fatalf("interrupted %v, %v; want only session %d", ids, err, sess.ID)
	}
	if got, _ := s.Session(ctx, waiting.ID); got.Status != StatusWaiting {
		t.Errorf("a waiting session became %s", got.Status)
	}
	if got, _ := s.Session(ctx, sess.ID); got.Status != StatusInterrupted {
		t.Errorf("status %s, want interrupted", got.Status)
	}
	if w := workedSeconds(t, s, sess.ID, c.now()); w != 600 {
		t.Errorf("worked %v s, want 600 (to the last heartbeat)", w)
	}
	if again, err := s.InterruptOpen(ctx, "relay"); err != nil || len(again) != 0 {
		t.Errorf("second start interrupted %v, %v", again, err)
	}

	c.advance(time.Minute)
	got, interrupted, err := s.Resume(ctx, sess.ID, code("tok"), "agent")
	if err != nil || got.Status != StatusJoined || !interrupted {
		t.Fatalf("resume after interruption = %s, %v; want joined", got.Status, err)
	}
	if err := s.AddEvent(ctx, sess.ID, EventLinkUp, "relay", nil); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Minute)
	if err := s.Transition(ctx, sess.ID, []string{StatusJoined}, StatusLive, EventConsentGranted, "customer",
		map[string]string{"level": "view"}); err != nil {
		t.Fatal(err)
	}
	c.advance(5 * time.Minute)
	if w := workedSeconds(t, s, sess.ID, c.now()); w != 600+300 {
		t.Errorf("worked %v s after resuming, want 900: only from the fresh consent on", w)
	}
}

func TestInterruptOnlyOpenSessions(t *testing.T) {
	s, c := openTest(t)
	ctx := context.Background()
	sess := liveSession(t, s, c, "121212121")
	c.advance(time.Minute)
	down := c.now()
	c.advance(time.Minute)
	if ok, err := s.Interrupt(ctx, sess.ID, down, InterruptGraceExpired, "relay"); !ok || err != nil {
		t.Fatalf("interrupt = %v, %v", ok, err)
	}
	if w := workedSeconds(t, s, sess.ID, c.now()); w != 60 {
		t.Errorf("worked %v s, want 60 (until the link went down)", w)
	}
	if ok, err := s.Interrupt(ctx, sess.ID, down, InterruptGraceExpired, "relay"); ok || err != nil {
		t.Errorf("second interrupt = %v, %v; want false", ok, err)
	}
	if ended, err := s.End(ctx, sess.ID, "technician", "technician:1", "gave_up"); !ended || err != nil {
		t.Errorf("an interrupted session cannot be ended: %v, %v", ended, err)
	}
}

// TestInterruptSessions: a relay shutting down interrupts all it holds in
// one transaction; a session that ended meanwhile is left as it is, and a
// session that does not exist undoes the whole write, which says which.
func TestInterruptSessions(t *testing.T) {
	s, c := openTest(t)
	ctx := context.Background()
	a, b, gone := liveSession(t, s, c, "646464646"), liveSession(t, s, c, "757575757"), liveSession(t, s, c, "868686868")
	if _, err := s.End(ctx, gone.ID, "technician", "technician:1", ""); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Minute)
	if err := s.InterruptSessions(ctx, []int64{a.ID, b.ID, gone.ID}, c.now(), InterruptShutdown, "relay"); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]string{a.ID: StatusInterrupted, b.ID: StatusInterrupted, gone.ID: StatusEnded} {
		if got, _ := s.Session(ctx, id); got.Status != want {
			t.Errorf("session %d is %s, want %s", id, got.Status, want)
		}
	}
	if w := workedSeconds(t, s, a.ID, c.now().Add(time.Hour)); w != 60 {
		t.Errorf("worked %v s, want 60: until the shutdown", w)
	}
	other := liveSession(t, s, c, "979797979")
	err := s.InterruptSessions(ctx, []int64{other.ID, 999}, c.now(), InterruptShutdown, "relay")
	if err == nil || !strings.Contains(err.Error(), "session 999") {
		t.Errorf("interrupting an unknown session: %v", err)
	}
	if got, _ := s.Session(ctx, other.ID); got.Status != StatusLive {
		t.Errorf("session %d is %s after a failed write, want live", other.ID, got.Status)
	}
}

func TestEndAbandonedEndsOnlyLongInterruptions(t *testing.T) {
	s, c := openTest(t)
	ctx := context.Background()
	old := liveSession(t, s, c, "313131313")
	if _, err := s.Interrupt(ctx, old.ID, c.now(), InterruptGraceExpired, "relay"); err != nil {
		t.Fatal(err)
	}
	c.advance(20 * time.Minute)
	recent := liveSession(t, s, c, "424242424")
	if _, err := s.Interrupt(ctx, recent.ID, c.now(), InterruptGraceExpired, "relay"); err != nil {
		t.Fatal(err)
	}
	live := liveSession(t, s, c, "535353535")
	ended, err := s.EndAbandoned(ctx, c.now().Add(-15*time.Minute), "relay")
	if err != nil || len(ended) != 1 || ended[0] != old.ID {
		t.Fatalf("ended %v, %v; want only session %d", ended, err, old.ID)
	}
	for id, want := range map[int64]string{old.ID: StatusEnded, recent.ID: StatusInterrupted, live.ID: StatusLive} {
		if got, _ := s.Session(ctx, id); got.Status != want {
			t.Errorf("session %d is %s, want %s", id, got.Status, want)
		}
	}
	if got, _ := s.Session(ctx, old.ID); got.EndedBy != "relay" || got.EndReason != ReasonAgentGone {
		t.Errorf("ended by %q for %q", got.EndedBy, got.EndReason)
	}
}
