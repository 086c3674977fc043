package auth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/auth"
)

// The store keeps no CSRF token in clear: a copy of the database gives an
// attacker neither the cookie nor the CSRF token of any login. A login row
// whose stored value is the token itself (as an older relay wrote it, or
// someone with write access) is no login at all.
func TestCSRFTokenNotStoredInClear(t *testing.T) {
	e := newEnv(t, auth.Config{})
	s := e.mustLogin(techEmail, techPass)
	var stored string
	if err := e.st.DB().QueryRow("SELECT csrf_token FROM logins").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored == s.csrf || strings.Contains(stored, s.csrf) {
		t.Fatalf("the database holds the CSRF token %q in clear", s.csrf)
	}
	// The token still works, and keeps working across requests.
	if a := e.do("POST", "/tech", s.header("Origin", e.origin(), auth.CSRFHeader, s.csrf), ""); a.status != http.StatusOK {
		t.Fatalf("POST with the CSRF token: %d %s", a.status, a.body)
	}
	if _, err := e.st.DB().Exec("UPDATE logins SET csrf_token = ?", s.csrf); err != nil {
		t.Fatal(err)
	}
	if a := e.do("GET", "/tech", s.header(), ""); a.status != http.StatusUnauthorized {
		t.Errorf("login with a CSRF token stored in clear: %d, want 401", a.status)
	}
}
