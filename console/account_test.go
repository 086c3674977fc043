package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/store"
)

// tryLogin logs in with a login, a password and a second-factor code
// (empty: none); it returns the tab (empty unless it worked) and the answer.
func (e *env) tryLogin(login, pw, code string) (client, answer) {
	e.t.Helper()
	b, _ := json.Marshal(map[string]string{"email": login, "password": pw, "code": code})
	a := e.do(client{origin: e.srv.URL}, "POST", "/api/v1/login", string(b))
	if a.status != http.StatusOK {
		return client{}, a
	}
	var me struct{ CSRFToken string }
	a.decode(e.t, &me)
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == auth.CookieName {
			return client{cookie: c.Value, csrf: me.CSRFToken, origin: e.srv.URL}, a
		}
	}
	e.t.Fatal("login set no cookie")
	return client{}, a
}

func (e *env) mustLogin(login, pw, code string) client {
	e.t.Helper()
	c, a := e.tryLogin(login, pw, code)
	if a.status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", login, a.status, a.body)
	}
	return c
}

// expect checks an answer's status and, for an error, its code.
func expect(t *testing.T, what string, a answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: %d %s, want %d %s", what, a.status, a.body, status, code)
	}
	if code != "" {
		if p := a.problem(t); p.Error != code {
			t.Fatalf("%s: error %q, want %q", what, p.Error, code)
		}
	}
}

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (e *env) auditEvents(events ...string) int {
	e.t.Helper()
	rows, err := e.st.AuditEntries(context.Background(), store.AuditFilter{Events: events, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(rows)
}

func TestChangeOwnPassword(t *testing.T) {
	e := newEnv(t)
	here, elsewhere := e.mustLogin(email, password, ""), e.mustLogin(email, password, "")
	const next = "a new passphrase of mine"
	expect(t, "wrong current", e.do(here, "POST", "/api/v1/account/password", jsonBody(map[string]string{"current": "nope", "new": next})), 400, "wrong_password")
	expect(t, "too short", e.do(here, "POST", "/api/v1/account/password", jsonBody(map[string]string{"current": password, "new": "short"})), 400, "password_short")
	expect(t, "no CSRF token", e.do(client{cookie: here.cookie, origin: here.origin}, "POST", "/api/v1/account/password",
		jsonBody(map[string]string{"current": password, "new": next})), 403, "bad_csrf")
	expect(t, "change", e.do(here, "POST", "/api/v1/account/password", jsonBody(map[string]string{"current": password, "new": next})), 204, "")
	// The login that changed it goes on; the user's other logins end.
	expect(t, "this login", e.do(here, "GET", "/api/v1/tickets", ""), 200, "")
	expect(t, "the other login", e.do(elsewhere, "GET", "/api/v1/tickets", ""), 401, "login_required")
	expect(t, "old password", func() answer { _, a := e.tryLogin(email, password, ""); return a }(), 401, "bad_credentials")
	e.mustLogin(email, next, "")
	if n := e.auditEvents("user.password_changed"); n != 1 {
		t.Errorf("%d user.password_changed entries, want 1", n)
	}
}

func TestAdminResetsPassword(t *testing.T) {
	e := newEnv(t)
	const adminLogin = "boss@example.com"
	admin := e.loginAs(store.RoleAdmin, adminLogin)
	tech := e.mustLogin(email, password, "")
	expect(t, "technician resets", e.do(tech, "POST", "/api/v1/users/2/password-reset", ""), 403, "forbidden")
	a := e.do(admin, "POST", fmt.Sprintf("/api/v1/users/%d/password-reset", e.user.ID), "")
	expect(t, "reset", a, 200, "")
	var out struct{ Password string }
	a.decode(t, &out)
	if len(out.Password) < 20 {
		t.Fatalf("reset answered password %q", out.Password)
	}
	if cc := a.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	expect(t, "technician's old login", e.do(tech, "GET", "/api/v1/tickets", ""), 401, "login_required")
	// With the new password the technician may only change it.
	tech = e.mustLogin(email, out.Password, "")
	var me struct{ Pending string }
	e.do(tech, "GET", "/api/v1/me", "").decode(t, &me)
	if me.Pending != auth.StepPasswordChange {
		t.Fatalf("pending %q, want %q", me.Pending, auth.StepPasswordChange)
	}
	expect(t, "tickets before the change", e.do(tech, "GET", "/api/v1/tickets", ""), 403, "password_change_required")
	expect(t, "change", e.do(tech, "POST", "/api/v1/account/password", jsonBody(map[string]string{"current": out.Password, "new": "my own passphrase"})), 204, "")
	expect(t, "tickets after the change", e.do(tech, "GET", "/api/v1/tickets", ""), 200, "")
	if n := e.auditEvents("user.password_reset"); n != 1 {
		t.Errorf("%d user.password_reset entries, want 1", n)
	}
}

// code is the TOTP code of secret at the env's clock, plus offset steps.
func (e *env) code(secret string, steps int) string {
	e.t.Helper()
	c, err := totp.GenerateCodeCustom(secret, e.clk.now().Add(time.Duration(steps)*30*time.Second),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// enrol sets up a second factor for the tab's user and returns the secret
// and the recovery codes.
func (e *env) enrol(c client) (string, []string) {
	e.t.Helper()
	a := e.do(c, "POST", "/api/v1/account/totp", "")
	expect(e.t, "begin", a, 200, "")
	var en struct{ Secret, URL, QR string }
	a.decode(e.t, &en)
	if !strings.HasPrefix(en.QR, "data:image/png;base64,") || !strings.HasPrefix(en.URL, "otpauth://totp/") || len(en.Secret) < 16 {
		e.t.Fatalf("enrolment %+v", en)
	}
	wrong := "000000"
	if wrong == e.code(en.Secret, 0) {
		wrong = "000001"
	}
	expect(e.t, "wrong first code", e.do(c, "POST", "/api/v1/account/totp/confirm", jsonBody(map[string]string{"code": wrong})), 400, "bad_code")
	a = e.do(c, "POST", "/api/v1/account/totp/confirm", jsonBody(map[string]string{"code": e.code(en.Secret, 0)}))
	expect(e.t, "confirm", a, 200, "")
	var out struct{ RecoveryCodes []string }
	a.decode(e.t, &out)
	return en.Secret, out.RecoveryCodes
}

func TestTOTPEnrolmentAndLogin(t *testing.T) {
	e := newEnv(t)
	c := e.mustLogin(email, password, "")
	secret, recovery := e.enrol(c)
	if len(recovery) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(recovery))
	}
	expect(t, "second enrolment", e.do(c, "POST", "/api/v1/account/totp", ""), 409, "conflict")

	// Neither the secret nor a recovery code is in the database in clear.
	var sealed []byte
	if err := e.st.DB().QueryRow("SELECT totp_secret FROM users WHERE id = ?", e.user.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(secret)) {
		t.Error("the TOTP secret is stored in clear")
	}
	var hashes int
	if err := e.st.DB().QueryRow("SELECT count(*) FROM recovery_codes WHERE user_id = ? AND instr(code_hash, ?) = 0", e.user.ID, recovery[0]).Scan(&hashes); err != nil || hashes != 10 {
		t.Errorf("%d recovery hashes not containing the code (%v), want 10", hashes, err)
	}

	e.clk.advance(time.Minute) // the enrolment's code is spent
	_, a := e.tryLogin(email, password, "")
	expect(t, "no code", a, 401, "code_required")
	_, a = e.tryLogin(email, password, "123 456")
	expect(t, "malformed code", a, 401, "bad_code")
	good := e.code(secret, 0)
	bad := "000000"
	if bad == good {
		bad = "999999"
	}
	_, a = e.tryLogin(email, password, bad)
	expect(t, "wrong code", a, 401, "bad_code")
	e.mustLogin(email, password, good)
	_, a = e.tryLogin(email, password, good)
	expect(t, "the same code again", a, 401, "bad_code")
	_, a = e.tryLogin(email, password, e.code(secret, -1))
	expect(t, "an older code", a, 401, "bad_code")

	e.mustLogin(email, password, strings.ToUpper(recovery[3]))
	_, a = e.tryLogin(email, password, recovery[3])
	expect(t, "a recovery code twice", a, 401, "bad_code")
	if n := e.auditEvents("user.recovery_code_used"); n != 1 {
		t.Errorf("%d user.recovery_code_used entries, want 1", n)
	}
}

// Wrong codes are throttled as wrong passwords are: a stolen password does
// not give a million tries at the code.
func TestTOTPCodesThrottled(t *testing.T) {
	e := newEnv(t)
	secret, _ := e.enrol(e.mustLogin(email, password, ""))
	// The enrolment's wrong first code counted too; let its window pass.
	e.clk.advance(15 * time.Minute)
	good := e.code(secret, 0)
	for i := range 5 {
		bad := []string{"111111", "222222", "333333", "444444", "555555", "666666"}[i]
		if bad == good {
			bad = "777777"
		}
		_, a := e.tryLogin(email, password, bad)
		expect(t, "wrong code", a, 401, "bad_code")
	}
	_, a := e.tryLogin(email, password, good)
	expect(t, "right code after five wrong ones", a, 429, "throttled")
}

func TestTOTPPolicyForcesEnrolment(t *testing.T) {
	e := newEnv(t)
	const adminLogin = "boss@example.com"
	admin := e.loginAs(store.RoleAdmin, adminLogin)
	expect(t, "bad policy", e.do(admin, "PUT", "/api/v1/settings/security", jsonBody(map[string]string{"totpRequired": "sometimes"})), 400, "invalid")
	expect(t, "admins", e.do(admin, "PUT", "/api/v1/settings/security", jsonBody(map[string]string{"totpRequired": auth.PolicyAdmins})), 200, "")
	// The admin's own login is now held until they enrol; a technician is not.
	expect(t, "admin's page", e.do(admin, "GET", "/api/v1/users", ""), 403, "totp_enrolment_required")
	tech := e.mustLogin(email, password, "")
	expect(t, "technician's page", e.do(tech, "GET", "/api/v1/tickets", ""), 200, "")
	secret, _ := e.enrol(admin)
	expect(t, "admin's page after enrolling", e.do(admin, "GET", "/api/v1/users", ""), 200, "")
	expect(t, "everyone", e.do(admin, "PUT", "/api/v1/settings/security", jsonBody(map[string]string{"totpRequired": auth.PolicyEveryone})), 200, "")
	expect(t, "technician's page", e.do(tech, "GET", "/api/v1/tickets", ""), 403, "totp_enrolment_required")

	// An admin resets another admin's second factor (a lost phone): the
	// user's logins end, and it is audited.
	var boss int64
	if err := e.st.DB().QueryRow("SELECT id FROM users WHERE email = ?", adminLogin).Scan(&boss); err != nil {
		t.Fatal(err)
	}
	e.clk.advance(time.Minute)
	admin = e.mustLogin(adminLogin, password, e.code(secret, 0))
	expect(t, "reset own", e.do(admin, "POST", fmt.Sprintf("/api/v1/users/%d/totp-reset", boss), ""), 204, "")
	expect(t, "login after reset", e.do(admin, "GET", "/api/v1/users", ""), 401, "login_required")
	admin = e.mustLogin(adminLogin, password, "")
	expect(t, "enrolment required again", e.do(admin, "GET", "/api/v1/users", ""), 403, "totp_enrolment_required")
	if n := e.auditEvents("user.totp_reset"); n != 1 {
		t.Errorf("%d user.totp_reset entries, want 1", n)
	}
}
