package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable time source for tests.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *clock) advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

func openTest(t *testing.T) (*Store, *clock) {
	t.Helper()
	c := &clock{}
	c.ms.Store(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).UnixMilli())
	s, err := OpenWithClock(context.Background(), testDSN(t), c.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("store on %s", s.Dialect())
	t.Cleanup(func() { s.Close() })
	return s, c
}

// twin is a second Store on s's database: on PostgreSQL what a second
// relay sharing it is (its own pool, its own connections).
func twin(t *testing.T, s *Store, c *clock) *Store {
	t.Helper()
	other, err := OpenWithClock(context.Background(), s.dsn, c.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

func mustUser(t *testing.T, s *Store, email string) User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), User{Email: email, Name: "Tech " + email, Role: RoleTechnician, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPragmasOnEveryConnection(t *testing.T) {
	sqliteOnly(t, "PRAGMAs are SQLite's own")
	s, _ := openTest(t)
	ctx := context.Background()
	// Hold several connections at once so the pool must open new ones.
	var conns []interface{ Close() error }
	for i := 0; i < 4; i++ {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var fk, busy int
		var mode string
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if fk != 1 || busy != 10000 || mode != "wal" {
			t.Errorf("conn %d: foreign_keys=%d busy_timeout=%d journal_mode=%s", i, fk, busy, mode)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestReopenKeepsDataAndSchemaVersion(t *testing.T) {
	path := testDSN(t)
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, User{Email: "a@x", Name: "A", Role: RoleAdmin, PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.UserByEmail(ctx, "A@X"); err != nil {
		t.Fatalf("user lost or e-mail match case-sensitive: %v", err)
	}
	var v int
	versionQ := "PRAGMA user_version"
	if s.Dialect() == Postgres {
		versionQ = "SELECT version FROM schema_version"
	}
	s.db.QueryRow(versionQ).Scan(&v)
	if v < 1 {
		t.Fatalf("user_version = %d", v)
	}
}

func TestBootstrapAdminOnlyOnce(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	ok, err := s.BootstrapAdmin(ctx, User{Email: "admin", Name: "Admin", PasswordHash: "h"}, 0)
	if err != nil || !ok {
		t.Fatalf("first bootstrap = %v, %v", ok, err)
	}
	// Even with the admin gone, the path stays closed.
	if _, err := s.db.Exec("DELETE FROM users"); err != nil {
		t.Fatal(err)
	}
	ok, err = s.BootstrapAdmin(ctx, User{Email: "admin2", Name: "Admin", PasswordHash: "h"}, 0)
	if err != nil || ok {
		t.Fatalf("second bootstrap = %v, %v; want false, nil", ok, err)
	}
}

// TestBootstrapSetsDefaultRate: a fresh desk can price billable work at
// once; the rate is in force from the first start and in the audit log.
func TestBootstrapSetsDefaultRate(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if ok, err := s.BootstrapAdmin(ctx, User{Email: "admin", Name: "Admin", PasswordHash: "h"}, 8500); err != nil || !ok {
		t.Fatalf("bootstrap = %v, %v", ok, err)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	cents, ok, err := s.DefaultRateOn(ctx, today)
	if err != nil || !ok || cents != 8500 {
		t.Fatalf("default rate today = %d, %v, %v; want 8500", cents, ok, err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM audit_log WHERE event = 'rate.added' AND actor = 'relay'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rate.added entries by the relay (%v), want 1", n, err)
	}
}

func TestDuplicateEmailIsConflict(t *testing.T) {
	s, _ := openTest(t)
	mustUser(t, s, "jan@desk.example")
	_, err := s.CreateUser(context.Background(), User{Email: "JAN@desk.example", Name: "J", Role: RoleTechnician, PasswordHash: "x"})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
}

func TestLoginExpires(t *testing.T) {
	s, c := openTest(t)
	ctx := context.Background()
	u := mustUser(t, s, "t@x")
	tok := []byte("hash-of-token")
	if err := s.CreateLogin(ctx, tok, u.ID, "csrf", c.now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	l, err := s.LoginByToken(ctx, tok)
	if err != nil || l.User.ID != u.ID || l.CSRFToken != "csrf" {
		t.Fatalf("login = %+v, %v", l, err)
	}
	c.advance(time.Hour)
	if _, err := s.LoginByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired login: err = %v", err)
	}
}

func mustCustomer(t *testing.T, s *Store, name string) Customer {
	t.Helper()
	c, err := s.CreateCustomer(context.Background(), Customer{Name: name, Lang: "nl"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustTicket(t *testing.T, s *Store, customerID, by int64, title string) Ticket {
	t.Helper()
	tk, err := s.CreateTicket(context.Background(), NewTicket{Title: title, CustomerID: customerID, Kind: "question",
		CategoryID: 1, Priority: "normal", Impact: "medium"}, by)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// 200 concurrent creations give 200 distinct, consecutive numbers, made
// through two Store handles on one database (two relays).
func TestTicketNumbersUniqueUnderConcurrency(t *testing.T) {
	s, c := openTest(t)
	stores := []*Store{s, twin(t, s, c)}
	u := mustUser(t, s, "t@x")
	cust := mustCustomer(t, s, "Bakkerij Peeters")
	const n = 200
	refs := make(chan string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk, err := stores[i%2].CreateTicket(context.Background(), NewTicket{Title: "t", CustomerID: cust.ID, Kind: "question",
				CategoryID: 1, Priority: "normal", Impact: "medium"}, u.ID)
			if err != nil {
				t.Error(err)
				return
			}
			refs <- tk.Reference
		}()
	}
	wg.Wait()
	close(refs)
	seen := map[string]bool{}
	for r := range refs {
		if seen[r] {
			t.Errorf("duplicate reference %s", r)
		}
		seen[r] = true
	}
	for i := 1; i <= n; i++ {
		if ref := fmt.Sprintf("2026-%06d", i); !seen[ref] {
			t.Errorf("reference %s missing: %d distinct references, want 2026-000001..2026-000200", ref, len(seen))
			break
		}
	}
}

func code(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func newSession(t *testing.T, s *Store, c *clock, codeText string) Session {
	t.Helper()
	u := mustUser(t, s, codeText+"@x")
	tk := mustTicket(t, s, mustCustomer(t, s, "Bakkerij Peeters "+codeText).ID, u.ID, "Printer")
	sess, err := s.CreateSession(context.Background(), NewSession{TicketID: tk.ID, TechnicianID: u.ID,
		CodeHash: code(codeText), CodeExpires: c.now().Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func TestRedeemCode(t *testing.T) {
	s, c := openTest(t)
	ctx := context.Background()
	sess := newSession(t, s, c, "111222333")
	if sess.Status != StatusWaiting || sess.TicketTitle != "Printer" || sess.CustomerName != "Bakkerij Peeters 111222333" {
		t.Fatalf("new session = %+v", sess)
	}
	if _, err := s.RedeemCode(ctx, code("999999999"), "agent", nil); !errors.Is(err, ErrCodeUnknown) {
		t.Fatalf("wrong code: %v", err)
	}
	got, err := s.RedeemCode(ctx, code("111222333"), "agent", map[string]string{"hostname": "kassa"})
	if err != nil || got.ID != sess.ID || got.Status != StatusJoined {
		t.Fatalf("redeem = %+v, %v", got, err)
	}
	if _, err := s.RedeemCode(ctx, code("111222333"), "agent", nil); !errors.Is(err, ErrCodeUsed) {
		t.Fatalf("reused code: %v", err)
	}

	expiring := newSession(t, s, c, "444555666")
	c.advance(10 * time.Minute)
	if !expiring.CodeExpired(c.now()) {
		t.Errorf("CodeExpired false after 10 minutes")
	}
	if _, err := s.RedeemCode(ctx, code("444555666"), "agent", nil); !errors.Is(err, ErrCodeExpired) {
		t.Fatalf("expired code: %v", err)
	}
}

// Ten agents redeem one code at once, through two relays: one wins.
func TestRedeemRaceGivesOneSession(t *testing.T) {
	s, c := openTest(t)
	stores := []*Store{s, twin(t, s, c)}
	newSession(t, s, c, "123123123")
	var ok, used atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := stores[i%2].RedeemCode(context.Background(), code("123123123"), "agent", nil)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrCodeUsed):
				used.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || used.Load() != 9 {
		t.Fatalf("ok=%d used=%d, want 1 and 9", ok.Load(), used.Load())
	}
}

func TestTransitionsAndEvents(t *testing.T) {
	s, c := openTest(t)
	ctx := context.Background()
	sess := newSession(t, s, c, "777888999")
	if err := s.Transition(ctx, sess.ID, []string{StatusJoined}, StatusLive, EventConsentGranted, "customer", nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("live from waiting: %v, want ErrConflict", err)
	}
	if _, err := s.RedeemCode(ctx, code("777888999"), "agent", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Transition(ctx, sess.ID, []string{StatusJoined}, StatusLive, EventConsentGranted, "customer", map[string]string{"level": "view"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvent(ctx, sess.ID, EventMediaStarted, "agent", nil); err != nil {
		t.Fatal(err)
	}
	ended, err := s.End(ctx, sess.ID, "customer", "customer", "stopped")
	if err != nil || !ended {
		t.Fatalf("end = %v, %v", ended, err)
	}
	ended, err = s.End(ctx, sess.ID, "technician", "technician:1", "ended")
	if err != nil || ended {
		t.Fatalf("second end = %v, %v; want false", ended, err)
	}
	got, _ := s.Session(ctx, sess.ID)
	if got.Status != StatusEnded || got.EndedBy != "customer" || got.EndedAt.IsZero() {
		t.Errorf("ended session = %+v", got)
	}
	evs, err := s.Events(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	want := []string{EventCreated, EventAgentJoined, EventConsentGranted, EventMediaStarted, EventEnded}
	if len(kinds) != len(want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events %v, want %v", kinds, want)
		}
	}
}

func TestCreateSessionUnknownTicket(t *testing.T) {
	s, c := openTest(t)
	u := mustUser(t, s, "t@x")
	_, err := s.CreateSession(context.Background(), NewSession{TicketID: 999, TechnicianID: u.ID, CodeHash: code("1"), CodeExpires: c.now()})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

// The portal's author of customers' tickets is in the users table, for the
// notes' sake, but not a member of the desk: the users list leaves it out.
func TestUsersLeaveOutThePortal(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, err := s.BootstrapAdmin(ctx, User{Email: "admin", Name: "Admin", PasswordHash: "h"}, 0); err != nil {
		t.Fatal(err)
	}
	users, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Email != "admin" {
		t.Errorf("users %+v, want the admin alone", users)
	}
}
