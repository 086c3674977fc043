package console_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/codeguard"
)

// One login cannot mint codes without end: a technician has at most
// codeguard.LiveCodesPerTechnician codes waiting, and starts at most
// codeguard.SessionsPerTechnicianPerHour sessions an hour. Each refusal
// is a 429 the console can translate, with when to try again.
func TestSessionCapsPerTechnician(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	// One ticket each: a new code on a ticket replaces its waiting one.
	start := func() answer {
		tk := e.createTicket(c, "Printer", "Bakkerij")
		return e.do(c, "POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID), "")
	}
	made := 0
	for range codeguard.LiveCodesPerTechnician {
		if a := start(); a.status != http.StatusCreated {
			t.Fatalf("session %d: %d %s", made+1, a.status, a.body)
		}
		made++
		e.clk.advance(time.Second)
	}
	a := start()
	if a.status != http.StatusTooManyRequests || a.problem(t).Error != "too_many_live_codes" {
		t.Fatalf("one code over the cap: %d %s, want 429 too_many_live_codes", a.status, a.body)
	}
	// The first code expires codeTTL after it was made, 5 s ago.
	if p := a.problem(t); p.RetryAfter != int((codeTTL-5*time.Second)/time.Second) || a.header.Get("Retry-After") == "" {
		t.Errorf("retryAfter %d (header %q), want %v", p.RetryAfter, a.header.Get("Retry-After"), codeTTL-5*time.Second)
	}
	// Once codes are used (agents joined), more sessions until the
	// hourly cap.
	for made < codeguard.SessionsPerTechnicianPerHour {
		if _, err := e.st.DB().Exec("UPDATE remote_sessions SET code_used_at = 1, status = 'joined'"); err != nil {
			t.Fatal(err)
		}
		for range codeguard.LiveCodesPerTechnician {
			if made == codeguard.SessionsPerTechnicianPerHour {
				break
			}
			if a := start(); a.status != http.StatusCreated {
				t.Fatalf("session %d: %d %s", made+1, a.status, a.body)
			}
			made++
		}
	}
	if _, err := e.st.DB().Exec("UPDATE remote_sessions SET code_used_at = 1, status = 'joined'"); err != nil {
		t.Fatal(err)
	}
	a = start()
	if a.status != http.StatusTooManyRequests || a.problem(t).Error != "too_many_sessions_per_hour" {
		t.Fatalf("session over the hourly cap: %d %s, want 429 too_many_sessions_per_hour", a.status, a.body)
	}
	// The first session of the hour was made 5 s ago.
	if p := a.problem(t); p.RetryAfter != 3600-5 {
		t.Errorf("retryAfter %d, want 3595", p.RetryAfter)
	}
	// Both refusals read in every language of the console.
	for _, k := range []string{"console.error.too_many_live_codes", "console.error.too_many_sessions_per_hour"} {
		if !strings.Contains(string(e.do(c, "GET", "/i18n.json", "").body), k) {
			t.Errorf("catalogue lacks %s", k)
		}
	}
}

// A copy of the database alone does not give the codes away. The stored
// value is keyed: even an attacker who knows the derivation and all but
// six digits of the code finds nothing by hashing candidates the way an
// unkeyed store would (plain SHA-256, or HMAC under an empty key).
func TestStoredCodeNeedsTheKey(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	tk := e.createTicket(c, "Printer", "Bakkerij")
	var out struct{ Code string }
	e.do(c, "POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID), "").decode(t, &out)
	digits := strings.ReplaceAll(out.Code, " ", "")
	var stored []byte
	if err := e.st.DB().QueryRow("SELECT code_hash FROM remote_sessions").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	prefix := digits[:6]
	emptyKey := hmac.New(sha256.New, nil)
	for n := range 1_000_000 {
		candidate := fmt.Sprintf("%s%06d", prefix, n)
		msg := []byte("meekijk-session-code:" + candidate)
		plain := sha256.Sum256(msg)
		emptyKey.Reset()
		emptyKey.Write(msg)
		if bytes.Equal(plain[:], stored) || bytes.Equal(emptyKey.Sum(nil), stored) {
			t.Fatalf("the stored value gives the code %s away without the key", candidate)
		}
	}
	if !bytes.Equal(codes.Hash(digits), stored) {
		t.Error("with the key, the stored value is not the code's hash")
	}
}
