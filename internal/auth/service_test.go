package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/audit"
	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/store"
)

// clock is a settable time source shared by the store and the service, so
// login expiry and throttling windows can be crossed without sleeping.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *clock) advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

const (
	techEmail  = "tech@example.com"
	techPass   = "tech-password-1"
	adminEmail = "admin@example.com"
	adminPass  = "admin-password-1"
	loginTTL   = time.Hour
)

// hashOf hashes each password once per run: argon2id is deliberately slow,
// and the tests need many stores with the same users.
func hashOf(t *testing.T, pw string) string {
	t.Helper()
	hashesMu.Lock()
	defer hashesMu.Unlock()
	if h, ok := hashes[pw]; ok {
		return h
	}
	h, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	hashes[pw] = h
	return h
}

var (
	hashesMu sync.Mutex
	hashes   = map[string]string{}
)

type env struct {
	t   *testing.T
	clk *clock
	st  *store.Store
	srv *httptest.Server
	svc *auth.Service
	// client sends the requests; as() gives one bound to another address.
	client *http.Client
}

// as returns the env seen from another loopback address (127.0.0.0/8 is
// all ours on Linux): a second person's machine, for the per-address rules.
func (e *env) as(ip string) *env {
	c := *e
	tr := e.srv.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext
	c.client = &http.Client{Transport: tr}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &c
}

// newEnv serves a login route, a logout route and two routes behind Require
// (one for technicians, one for admins) from a real store.
func newEnv(t *testing.T, cfg auth.Config) *env {
	t.Helper()
	clk := &clock{}
	clk.ms.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixMilli())
	ctx := context.Background()
	st, err := store.OpenWithClock(ctx, filepath.Join(t.TempDir(), "m.db"), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, u := range []struct {
		email, pw string
		role      store.Role
	}{{techEmail, techPass, store.RoleTechnician}, {adminEmail, adminPass, store.RoleAdmin}} {
		if _, err := st.CreateUser(ctx, store.User{Email: u.email, Name: "N " + u.email, Role: u.role, PasswordHash: hashOf(t, u.pw)}); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Now = clk.now
	cfg.LoginTTL = loginTTL
	key, err := auth.LoadKey(filepath.Join(t.TempDir(), auth.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Key = key
	log := slog.New(slog.DiscardHandler)
	svc, err := auth.New(st, log, cfg)
	if err != nil {
		t.Fatal(err)
	}
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, ok := auth.LoginFrom(r.Context())
		if !ok {
			http.Error(w, "no login in context", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, l.User.Email)
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		l, err := svc.Login(w, r, auth.Credentials{Login: r.FormValue("email"), Password: r.FormValue("password"), Code: r.FormValue("code")})
		if err != nil {
			httpx.WriteError(w, r, log, err)
			return
		}
		httpx.JSON(w, http.StatusOK, map[string]string{"csrf": l.CSRFToken, "email": l.User.Email})
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := svc.Logout(w, r); err != nil {
			httpx.WriteError(w, r, log, err)
		}
	})
	mux.Handle("/tech", svc.Require(whoami, store.RoleTechnician, store.RoleAdmin))
	mux.Handle("/admin", svc.Require(whoami, store.RoleAdmin))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, clk: clk, st: st, srv: srv, svc: svc, client: srv.Client()}
}

func (e *env) origin() string { return e.srv.URL }

type answer struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(method, path string, header http.Header, body string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (e *env) login(email, pw string) answer {
	e.t.Helper()
	return e.do("POST", "/login", nil, url.Values{"email": {email}, "password": {pw}}.Encode())
}

// session is a successful login: its cookie and CSRF token.
type session struct {
	cookie *http.Cookie
	csrf   string
}

func (e *env) mustLogin(email, pw string) session {
	e.t.Helper()
	a := e.login(email, pw)
	if a.status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", email, a.status, a.body)
	}
	var out struct{ CSRF string }
	if err := json.Unmarshal([]byte(a.body), &out); err != nil || out.CSRF == "" {
		e.t.Fatalf("login body %q: %v", a.body, err)
	}
	resp := http.Response{Header: a.header}
	for _, c := range resp.Cookies() {
		if c.Name == auth.CookieName || c.Name == "__Host-"+auth.CookieName {
			return session{cookie: c, csrf: out.CSRF}
		}
	}
	e.t.Fatalf("login set no %s cookie", auth.CookieName)
	return session{}
}

func (s session) header(extra ...string) http.Header {
	h := http.Header{}
	if s.cookie != nil {
		h.Set("Cookie", s.cookie.Name+"="+s.cookie.Value)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return h
}

func TestLoginSetsStrictCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run("secure="+strconv.FormatBool(secure), func(t *testing.T) {
			e := newEnv(t, auth.Config{SecureCookies: secure})
			s := e.mustLogin(techEmail, techPass)
			c := s.cookie
			if !c.HttpOnly {
				t.Error("cookie not HttpOnly")
			}
			if c.SameSite != http.SameSiteStrictMode {
				t.Errorf("SameSite = %v, want Strict", c.SameSite)
			}
			if c.Secure != secure {
				t.Errorf("Secure = %v, want %v", c.Secure, secure)
			}
			// Under TLS the __Host- prefix: no subdomain or plain-HTTP
			// page can plant or overwrite the login cookie.
			if want := map[bool]string{false: auth.CookieName, true: "__Host-" + auth.CookieName}[secure]; c.Name != want || c.Domain != "" {
				t.Errorf("cookie %q (domain %q), want %q without a domain", c.Name, c.Domain, want)
			}
			if c.Path != "/" {
				t.Errorf("Path = %q, want /", c.Path)
			}
			if want := e.clk.now().Add(loginTTL); c.Expires.Sub(want).Abs() > time.Second {
				t.Errorf("Expires = %v, want %v", c.Expires, want)
			}
			// The store keeps the token's hash, never the token.
			if _, err := e.st.LoginByToken(context.Background(), auth.HashToken(c.Value)); err != nil {
				t.Errorf("login not stored under the token's hash: %v", err)
			}
			var n int
			if err := e.st.DB().QueryRow("SELECT count(*) FROM logins WHERE token_hash = ? OR csrf_token = ?",
				c.Value, c.Value).Scan(&n); err != nil || n != 0 {
				t.Errorf("raw token found in logins (%d rows, %v)", n, err)
			}
		})
	}
}

func TestLoginEmailIsNormalized(t *testing.T) {
	e := newEnv(t, auth.Config{})
	e.mustLogin("  TECH@Example.COM ", techPass)
}

func TestBadCredentialsRevealNothing(t *testing.T) {
	e := newEnv(t, auth.Config{})
	wrongPass := e.login(techEmail, "not-the-password")
	unknown := e.login("nobody@example.com", techPass)
	for name, a := range map[string]answer{"wrong password": wrongPass, "unknown account": unknown} {
		if a.status != http.StatusUnauthorized || !strings.Contains(a.body, `"bad_credentials"`) {
			t.Errorf("%s: %d %s, want 401 bad_credentials", name, a.status, a.body)
		}
		if a.header.Get("Set-Cookie") != "" {
			t.Errorf("%s set a cookie", name)
		}
	}
	if wrongPass.body != unknown.body {
		t.Errorf("answers differ:\n wrong password: %s\n unknown account: %s", wrongPass.body, unknown.body)
	}
	wantBody := auth.ErrBadCredentials.Message
	if !strings.Contains(wrongPass.body, wantBody) {
		t.Errorf("body %s does not carry ErrBadCredentials (%q)", wrongPass.body, wantBody)
	}
}

func TestLoginThrottledPerAccount(t *testing.T) {
	e := newEnv(t, auth.Config{})
	for i := range 5 {
		if a := e.login(techEmail, "wrong"); a.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d %s, want 401", i+1, a.status, a.body)
		}
		e.clk.advance(time.Second)
	}
	// The sixth attempt is refused before the password is looked at, so even
	// the right one does not get through.
	a := e.login(techEmail, techPass)
	if a.status != http.StatusTooManyRequests || !strings.Contains(a.body, `"throttled"`) {
		t.Fatalf("sixth attempt: %d %s, want 429 throttled", a.status, a.body)
	}
	secs, err := strconv.Atoi(a.header.Get("Retry-After"))
	if err != nil || secs <= 0 || secs > int((15*time.Minute).Seconds()) {
		t.Errorf("Retry-After = %q, want seconds within the 15-minute window", a.header.Get("Retry-After"))
	}
	var body struct{ RetryAfter int }
	if err := json.Unmarshal([]byte(a.body), &body); err != nil || body.RetryAfter != secs {
		t.Errorf("body retryAfter = %d (%v), want %d", body.RetryAfter, err, secs)
	}
	// The limit is per account: another account from the same address
	// still logs in.
	e.mustLogin(adminEmail, adminPass)
	// Once the window has passed the account is open again.
	e.clk.advance(15 * time.Minute)
	e.mustLogin(techEmail, techPass)
}

func TestLoginThrottledPerAddress(t *testing.T) {
	e := newEnv(t, auth.Config{})
	// Ten failures spread over accounts stay under each account's limit
	// but reach the address's.
	for i := range 10 {
		if a := e.login("nobody"+strconv.Itoa(i)+"@example.com", "x"); a.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, a.status, a.body)
		}
	}
	if a := e.login(techEmail, techPass); a.status != http.StatusTooManyRequests {
		t.Fatalf("after 10 failures from one address: %d %s, want 429", a.status, a.body)
	}
}

func TestRequire(t *testing.T) {
	e := newEnv(t, auth.Config{})
	tech := e.mustLogin(techEmail, techPass)
	admin := e.mustLogin(adminEmail, adminPass)
	foreign := "http://evil.example"
	cases := []struct {
		name   string
		method string
		path   string
		header http.Header
		want   int
		code   string // error code in the body when refused, the user's e-mail when let through
	}{
		{"no cookie", "GET", "/tech", nil, 401, "login_required"},
		{"unknown cookie", "GET", "/tech", session{cookie: &http.Cookie{Name: auth.CookieName, Value: "forged"}}.header(), 401, "login_required"},
		{"wrong role", "GET", "/admin", tech.header(), 403, "forbidden"},
		{"admin on admin route", "GET", "/admin", admin.header(), 200, adminEmail},
		{"GET needs no CSRF", "GET", "/tech", tech.header(), 200, techEmail},
		{"HEAD needs no CSRF", "HEAD", "/tech", tech.header(), 200, ""},
		{"POST without token", "POST", "/tech", tech.header("Origin", e.origin()), 403, "bad_csrf"},
		{"POST with wrong token", "POST", "/tech", tech.header("Origin", e.origin(), auth.CSRFHeader, admin.csrf), 403, "bad_csrf"},
		{"POST with token, no Origin", "POST", "/tech", tech.header(auth.CSRFHeader, tech.csrf), 403, "bad_origin"},
		{"POST with token, foreign Origin", "POST", "/tech", tech.header(auth.CSRFHeader, tech.csrf, "Origin", foreign), 403, "bad_origin"},
		{"DELETE with token, foreign Origin", "DELETE", "/tech", tech.header(auth.CSRFHeader, tech.csrf, "Origin", foreign), 403, "bad_origin"},
		{"POST with token and Origin", "POST", "/tech", tech.header(auth.CSRFHeader, tech.csrf, "Origin", e.origin()), 200, techEmail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(tc.method, tc.path, tc.header, "")
			if a.status != tc.want {
				t.Fatalf("status %d %s, want %d", a.status, a.body, tc.want)
			}
			switch {
			case tc.want != 200:
				if !strings.Contains(a.body, `"`+tc.code+`"`) {
					t.Errorf("body %s, want error %s", a.body, tc.code)
				}
			case tc.code != "" && a.body != tc.code:
				// LoginFrom must hand the handler the cookie's user.
				t.Errorf("handler saw login %q, want %q", a.body, tc.code)
			}
		})
	}
}

func TestLogoutEndsLogin(t *testing.T) {
	e := newEnv(t, auth.Config{})
	s := e.mustLogin(techEmail, techPass)
	other := e.mustLogin(techEmail, techPass)
	if a := e.do("GET", "/tech", s.header(), ""); a.status != 200 {
		t.Fatalf("before logout: %d", a.status)
	}
	a := e.do("POST", "/logout", s.header(), "")
	if a.status != 200 {
		t.Fatalf("logout: %d %s", a.status, a.body)
	}
	resp := http.Response{Header: a.header}
	cleared := false
	for _, c := range resp.Cookies() {
		cleared = cleared || (c.Name == auth.CookieName && c.Value == "" && c.MaxAge < 0)
	}
	if !cleared {
		t.Errorf("logout did not clear the cookie: %v", a.header["Set-Cookie"])
	}
	// A copy of the old cookie (kept by an attacker, or another tab) must
	// be dead server-side, not only in the browser.
	if a := e.do("GET", "/tech", s.header(), ""); a.status != http.StatusUnauthorized {
		t.Errorf("old cookie after logout: %d, want 401", a.status)
	}
	if a := e.do("GET", "/tech", other.header(), ""); a.status != 200 {
		t.Errorf("another login of the same user ended too: %d", a.status)
	}
}

func TestExpiredLoginRefused(t *testing.T) {
	e := newEnv(t, auth.Config{})
	s := e.mustLogin(techEmail, techPass)
	e.clk.advance(loginTTL - time.Second)
	if a := e.do("GET", "/tech", s.header(), ""); a.status != 200 {
		t.Fatalf("a second before expiry: %d, want 200", a.status)
	}
	e.clk.advance(time.Second)
	if a := e.do("GET", "/tech", s.header(), ""); a.status != http.StatusUnauthorized {
		t.Fatalf("at expiry: %d %s, want 401", a.status, a.body)
	}
}

// auditRows returns the audit entries of these events, oldest first.
func (e *env) auditRows(events ...string) []audit.Entry {
	e.t.Helper()
	rows, err := e.st.AuditEntries(context.Background(), store.AuditFilter{Events: events, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

// Issue 15, finding 2: wrong passwords for the admin from one address slow
// that address for that account, and never the owner with the right
// password elsewhere; the flood is audited in a few aggregated rows.
func TestLoginFloodSparesOwnerElsewhere(t *testing.T) {
	e := newEnv(t, auth.Config{})
	attacker, owner := e.as("127.0.0.2"), e.as("127.0.0.3")
	const flood = 200
	refused := 0
	for i := range flood {
		a := attacker.login(adminEmail, "guess-"+strconv.Itoa(i))
		switch a.status {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Fatalf("guess %d: %d %s", i, a.status, a.body)
		}
	}
	if refused != flood-5 {
		t.Errorf("%d of %d guesses throttled, want all but the first 5", refused, flood)
	}
	// The owner, from their own address, logs in at once.
	owner.mustLogin(adminEmail, adminPass)
	// The attacker's address stays throttled for the admin, even with the
	// right password.
	if a := attacker.login(adminEmail, adminPass); a.status != http.StatusTooManyRequests {
		t.Errorf("attacker with the right password: %d %s, want 429", a.status, a.body)
	}
	e.svc.FlushAudit(context.Background())
	rows := e.auditRows("login_failed", "login_throttled", "login_failures")
	if len(rows) != 3 {
		t.Fatalf("%d audit rows for a flood of %d, want 3 (first failure, first refusal, summary): %+v", len(rows), flood+1, rows)
	}
	var sum struct {
		Account             string
		Failures, Throttled int
		Scope               string
	}
	for _, r := range rows {
		if r.IP != "127.0.0.2" {
			t.Errorf("row %s from %q, want the attacker's address", r.Event, r.IP)
		}
	}
	if err := json.Unmarshal(rows[2].Payload, &sum); err != nil || rows[2].Event != "login_failures" {
		t.Fatalf("summary %s %s: %v", rows[2].Event, rows[2].Payload, err)
	}
	if sum.Account != adminEmail || sum.Failures != 5 || sum.Throttled != flood-5+1 || sum.Scope != "account" {
		t.Errorf("summary %+v, want %s: 5 failures, %d throttled, scope account", sum, adminEmail, flood-5+1)
	}
}

// An address that tries many accounts is throttled for all of them, and
// the account names it varies do not add audit rows.
func TestLoginAddressFloodAuditedOnce(t *testing.T) {
	e := newEnv(t, auth.Config{})
	attacker := e.as("127.0.0.4")
	for i := range 300 {
		attacker.login("nobody"+strconv.Itoa(i)+"@example.com", "x")
	}
	e.as("127.0.0.5").mustLogin(techEmail, techPass)
	e.svc.FlushAudit(context.Background())
	// 10 first failures (one per account tried before the address limit),
	// one refusal and one summary for the address.
	if n := len(e.auditRows("login_failed", "login_throttled", "login_failures")); n != 12 {
		t.Errorf("%d audit rows for 300 guesses over 300 accounts, want 12", n)
	}
}
