package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meekijk/meekijk/console"
	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/mail"
	"github.com/meekijk/meekijk/internal/sessioncode"
	"github.com/meekijk/meekijk/internal/store"
)

const (
	email    = "tina@example.com"
	password = "tina-password-1"
	codeTTL  = 10 * time.Minute
)

var discard = slog.New(slog.DiscardHandler)

// codes is the console's code hasher, under a fixed test key.
var codes, _ = sessioncode.NewHasher([]byte("0123456789abcdef0123456789abcdef"))

// passwordHash is computed once: argon2id is deliberately slow.
var passwordHash = sync.OnceValues(func() (string, error) { return auth.HashPassword(password) })

// clock is a settable time source shared by the store, the logins and the
// console, so code expiry can be crossed without sleeping.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *clock) advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

type socketCall struct {
	user store.User
	id   int64
}

type env struct {
	t       *testing.T
	clk     *clock
	dir     string
	st      *store.Store
	srv     *httptest.Server
	user    store.User
	sockets chan socketCall
	auth    *auth.Service
	mail    *mail.Worker // not running: a test that sends mail runs it
}

// newEnv serves the console the way the relay does: mounted at / and
// wrapped in the security headers.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	clk := &clock{}
	clk.ms.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixMilli())
	dir := t.TempDir()
	st, err := store.OpenWithClock(ctx, filepath.Join(dir, "m.db"), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, err := passwordHash()
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, store.User{Email: email, Name: "Tina Peeters", Role: store.RoleTechnician, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	key, err := auth.LoadKey(filepath.Join(dir, auth.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(st, discard, auth.Config{Now: clk.now, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	sockets := make(chan socketCall, 4)
	mailKey, err := mail.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	worker := mail.NewWorker(st, mailKey, mail.Sender{}, discard, clk.now, console.Receipts(st, clk.now))
	h, _, err := console.New(console.Config{
		Store: st, Auth: svc, CodeTTL: codeTTL, Now: clk.now, Codes: codes, Mail: worker, AttachmentsDir: filepath.Join(dir, "attachments"),
		Socket: func(w http.ResponseWriter, r *http.Request, user store.User, id int64) {
			sockets <- socketCall{user, id}
			w.WriteHeader(http.StatusNoContent)
		},
	}, discard)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	srv := httptest.NewServer(httpx.SecurityHeaders(console.CSP, mux))
	t.Cleanup(srv.Close)
	return &env{t: t, clk: clk, dir: dir, st: st, srv: srv, user: u, sockets: sockets, auth: svc, mail: worker}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// problem is the JSON body of an error answer.
type problem struct {
	Error, Message, Field string
	RetryAfter            int
}

func (a answer) problem(t *testing.T) problem {
	t.Helper()
	var p problem
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("error body %q: %v", a.body, err)
	}
	return p
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body %q: %v", a.body, err)
	}
}

// client is a browser tab: a cookie, a CSRF token and an origin, each
// optional so the tests can leave one out.
type client struct {
	cookie string
	csrf   string
	origin string
}

func (e *env) do(c client, method, path, body string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", auth.CookieName+"="+c.cookie)
	}
	if c.csrf != "" {
		req.Header.Set(auth.CSRFHeader, c.csrf)
	}
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func loginBody(email, pw string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	return string(b)
}

// login logs in through the API and returns the tab with its cookie, token
// and our origin.
func (e *env) login() client {
	e.t.Helper()
	a := e.do(client{origin: e.srv.URL}, "POST", "/api/v1/login", loginBody(email, password))
	if a.status != http.StatusOK {
		e.t.Fatalf("login: %d %s", a.status, a.body)
	}
	var me struct{ CSRFToken string }
	a.decode(e.t, &me)
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == auth.CookieName {
			return client{cookie: c.Value, csrf: me.CSRFToken, origin: e.srv.URL}
		}
	}
	e.t.Fatal("login set no cookie")
	return client{}
}

type ticket struct {
	ID           int64
	Reference    string
	Title        string
	CustomerName string
	Sessions     []session
}

type session struct {
	ID             int64
	TicketID       int64
	Status         string
	CodeExpired    bool
	CodeValidForMs int64
	Technician     string
}

// customerID finds or creates the customer of this name.
func (e *env) customerID(name string) int64 {
	e.t.Helper()
	name = strings.TrimSpace(name)
	cs, err := e.st.Customers(context.Background(), name, 10)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range cs {
		if c.Name == name {
			return c.ID
		}
	}
	c, err := e.st.CreateCustomer(context.Background(), store.Customer{Name: name, Lang: "nl"})
	if err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

func (e *env) createTicket(c client, title, customer string) ticket {
	e.t.Helper()
	b, _ := json.Marshal(map[string]any{"title": title, "customerId": e.customerID(customer)})
	a := e.do(c, "POST", "/api/v1/tickets", string(b))
	if a.status != http.StatusCreated {
		e.t.Fatalf("create ticket: %d %s", a.status, a.body)
	}
	var tk ticket
	a.decode(e.t, &tk)
	return tk
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		origin string
		body   string
		want   int
		code   string
	}{
		{"foreign origin", "http://evil.example", loginBody(email, password), 403, "bad_origin"},
		{"no origin", "", loginBody(email, password), 403, "bad_origin"},
		{"wrong password", e.srv.URL, loginBody(email, "nope"), 401, "bad_credentials"},
		{"unknown field", e.srv.URL, `{"email":"tina@example.com","password":"x","admin":true}`, 400, "invalid"},
		{"key in another case", e.srv.URL, `{"Email":"tina@example.com","password":"x"}`, 400, "invalid"},
		{"duplicate key", e.srv.URL, `{"email":"tina@example.com","password":"x","password":"y"}`, 400, "invalid"},
		{"body over limit", e.srv.URL, loginBody(email, strings.Repeat("p", 5000)), 413, "too_large"},
		{"right password", e.srv.URL, loginBody(email, password), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(client{origin: tc.origin}, "POST", "/api/v1/login", tc.body)
			if a.status != tc.want {
				t.Fatalf("status %d %s, want %d", a.status, a.body, tc.want)
			}
			if tc.code != "" {
				if p := a.problem(t); p.Error != tc.code {
					t.Errorf("error %q, want %q", p.Error, tc.code)
				}
				if a.header.Get("Set-Cookie") != "" {
					t.Error("a refused login set a cookie")
				}
				return
			}
			var me struct {
				User struct {
					ID          int64
					Email, Role string
				}
				CSRFToken string
			}
			a.decode(t, &me)
			if me.User.ID != e.user.ID || me.User.Email != email || me.User.Role != "technician" || me.CSRFToken == "" {
				t.Errorf("login answer %+v", me)
			}
		})
	}
}

func TestMeAndLogout(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	a := e.do(c, "GET", "/api/v1/me", "")
	var me struct {
		User      struct{ Email string }
		CSRFToken string
	}
	a.decode(t, &me)
	if a.status != 200 || me.User.Email != email || me.CSRFToken != c.csrf {
		t.Fatalf("me: %d %s", a.status, a.body)
	}
	if a := e.do(c, "POST", "/api/v1/logout", ""); a.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", a.status, a.body)
	}
	if a := e.do(c, "GET", "/api/v1/me", ""); a.status != http.StatusUnauthorized {
		t.Errorf("me after logout: %d, want 401", a.status)
	}
}

func TestCreateTicket(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	first := e.createTicket(c, "  Kassa print geen tickets ", " Bakkerij Peeters ")
	if first.Reference != "2026-000001" || first.Title != "Kassa print geen tickets" || first.CustomerName != "Bakkerij Peeters" {
		t.Errorf("first ticket %+v", first)
	}
	second := e.createTicket(c, "Scanner", "Slagerij")
	if !regexp.MustCompile(`^2026-\d{6}$`).MatchString(second.Reference) || second.Reference != "2026-000002" {
		t.Errorf("second reference %q, want 2026-000002", second.Reference)
	}
	a := e.do(c, "GET", "/api/v1/tickets", "")
	var list []ticket
	a.decode(t, &list)
	if len(list) != 2 || list[0].ID != second.ID || list[1].ID != first.ID {
		t.Errorf("ticket list %+v, want newest first", list)
	}
	a = e.do(c, "GET", fmt.Sprintf("/api/v1/tickets/%d", first.ID), "")
	var got ticket
	a.decode(t, &got)
	if a.status != 200 || got.Reference != first.Reference || got.Sessions == nil || len(got.Sessions) != 0 {
		t.Errorf("ticket: %d %s", a.status, a.body)
	}
}

func TestCreateTicketValidation(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	bakkerij := e.customerID("Bakkerij")
	body := func(title string, customer int64) string {
		b, _ := json.Marshal(map[string]any{"title": title, "customerId": customer})
		return string(b)
	}
	cases := []struct {
		name  string
		body  string
		want  int
		code  string
		field string
	}{
		{"empty title", body("", bakkerij), 400, "invalid", "title"},
		{"blank title", body(" \t ", bakkerij), 400, "invalid", "title"},
		{"title over 200 characters", body(strings.Repeat("t", 201), bakkerij), 400, "invalid", "title"},
		{"title of 200 accented characters", body(strings.Repeat("é", 200), bakkerij), 201, "", ""},
		{"no customer", body("Printer", 0), 400, "invalid", "customerId"},
		{"unknown customer", body("Printer", 999), 400, "invalid", "customerId"},
		{"unknown kind", `{"title":"Printer","customerId":1,"kind":"wish"}`, 400, "invalid", "kind"},
		{"unknown field", `{"title":"Printer","customerId":1,"admin":true}`, 400, "invalid", "admin"},
		{"field of the wrong type", `{"title":"Printer","customerId":"1"}`, 400, "invalid", "customerId"},
		{"duplicate key", `{"title":"Printer","customerId":1,"customerId":2}`, 400, "invalid", "customerId"},
		{"not json", `title=Printer`, 400, "bad_json", ""},
		{"body over limit", body(strings.Repeat("t", 17000), bakkerij), 413, "too_large", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(c, "POST", "/api/v1/tickets", tc.body)
			if a.status != tc.want {
				t.Fatalf("status %d %s, want %d", a.status, a.body, tc.want)
			}
			if tc.want == 201 {
				return
			}
			if p := a.problem(t); p.Error != tc.code || p.Field != tc.field {
				t.Errorf("problem %+v, want error %q field %q", p, tc.code, tc.field)
			}
		})
	}
	// Only the one valid case created a ticket.
	var list []ticket
	e.do(c, "GET", "/api/v1/tickets", "").decode(t, &list)
	if len(list) != 1 {
		t.Errorf("%d tickets after the validation cases, want 1", len(list))
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	tk := e.createTicket(c, "Printer", "Bakkerij")
	cases := []struct{ method, path string }{
		{"GET", "/api/v1/tickets/999"},
		{"GET", "/api/v1/tickets/abc"},
		{"GET", "/api/v1/tickets/0"},
		{"GET", "/api/v1/tickets/-1"},
		{"GET", fmt.Sprintf("/api/v1/tickets/%d.0", tk.ID)},
		{"POST", "/api/v1/tickets/999/sessions"},
		{"POST", "/api/v1/tickets/x/sessions"},
		{"GET", "/api/v1/sessions/999"},
		{"GET", "/api/v1/sessions/abc"},
		{"GET", "/api/v1/sessions/999/events"},
		{"GET", "/ws/console/abc"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			a := e.do(c, tc.method, tc.path, "")
			if a.status != http.StatusNotFound {
				t.Fatalf("status %d %s, want 404", a.status, a.body)
			}
			if p := a.problem(t); p.Error != "not_found" {
				t.Errorf("error %q, want not_found", p.Error)
			}
		})
	}
	select {
	case call := <-e.sockets:
		t.Errorf("socket called for a bad id: %+v", call)
	default:
	}
}

func TestStartSession(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	tk := e.createTicket(c, "Printer", "Bakkerij")
	a := e.do(c, "POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID), "")
	if a.status != http.StatusCreated {
		t.Fatalf("start session: %d %s", a.status, a.body)
	}
	var out struct {
		Session session
		Code    string
	}
	a.decode(t, &out)
	if !regexp.MustCompile(`^\d{3} \d{3} \d{3} \d{3}$`).MatchString(out.Code) {
		t.Fatalf("code %q, want four groups of three digits", out.Code)
	}
	digits := strings.ReplaceAll(out.Code, " ", "")
	s := out.Session
	if s.Status != store.StatusWaiting || s.TicketID != tk.ID || s.CodeExpired || s.Technician != "Tina Peeters" {
		t.Errorf("session %+v", s)
	}
	if d := time.Duration(s.CodeValidForMs) * time.Millisecond; d > codeTTL || d < codeTTL-time.Second {
		t.Errorf("codeValidForMs = %v, want about %v", d, codeTTL)
	}

	// The store keeps the code's hash and nothing from which the code could
	// be read back: not in the row, not in the events, not anywhere in the
	// database files (the WAL included).
	var stored []byte
	if err := e.st.DB().QueryRow("SELECT code_hash FROM remote_sessions WHERE id = ?", s.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, codes.Hash(digits)) {
		t.Error("stored code_hash is not the hash of the shown code")
	}
	files, _ := filepath.Glob(filepath.Join(e.dir, "m.db*"))
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range []string{digits, out.Code} {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("%s contains the code %q", filepath.Base(f), needle)
			}
		}
	}

	// The session as the pages read it, now and once the code expired.
	var got session
	e.do(c, "GET", fmt.Sprintf("/api/v1/sessions/%d", s.ID), "").decode(t, &got)
	if got.ID != s.ID || got.Status != store.StatusWaiting || got.CodeExpired {
		t.Errorf("GET session %+v", got)
	}
	e.clk.advance(codeTTL)
	e.do(c, "GET", fmt.Sprintf("/api/v1/sessions/%d", s.ID), "").decode(t, &got)
	if !got.CodeExpired || got.CodeValidForMs != 0 {
		t.Errorf("after the TTL: codeExpired %v, codeValidForMs %d; want true, 0", got.CodeExpired, got.CodeValidForMs)
	}

	var withSessions ticket
	e.do(c, "GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), "").decode(t, &withSessions)
	if len(withSessions.Sessions) != 1 || withSessions.Sessions[0].ID != s.ID {
		t.Errorf("ticket sessions %+v", withSessions.Sessions)
	}

	a = e.do(c, "GET", fmt.Sprintf("/api/v1/sessions/%d/events", s.ID), "")
	var events []struct{ Kind, Actor string }
	a.decode(t, &events)
	if len(events) != 1 || events[0].Kind != store.EventCreated || events[0].Actor != store.ActorName("technician", e.user.ID) {
		t.Errorf("events %s, want one created by technician:%d", a.body, e.user.ID)
	}
	if bytes.Contains(a.body, []byte(digits)) {
		t.Error("events carry the code")
	}

	// A second session draws another code.
	var again struct{ Code string }
	e.do(c, "POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID), "").decode(t, &again)
	if again.Code == out.Code {
		t.Errorf("two sessions got the same code %q", again.Code)
	}
}

func TestAPIRequiresLogin(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	tk := e.createTicket(c, "Printer", "Bakkerij")
	// Our own origin and a valid-looking token, so the login alone is what
	// is missing.
	anon := client{origin: e.srv.URL, csrf: c.csrf}
	forged := client{origin: e.srv.URL, csrf: c.csrf, cookie: "forged"}
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/me"},
		{"POST", "/api/v1/logout"},
		{"GET", "/api/v1/tickets"},
		{"POST", "/api/v1/tickets"},
		{"GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID)},
		{"POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID)},
		{"GET", "/api/v1/sessions/1"},
		{"GET", "/api/v1/sessions/1/events"},
		{"GET", "/api/v1/sessions/1/billing"},
		{"GET", "/api/v1/billing/statement?customer=1&month=2026-03"},
		{"GET", "/api/v1/billing/export.csv?from=2026-03-01&to=2026-03-31"},
		{"GET", "/api/v1/billing/chart.svg?customer=1&from=2026-01&to=2026-03"},
		{"GET", "/ws/console/1"},
	}
	for _, r := range routes {
		for name, cl := range map[string]client{"no cookie": anon, "forged cookie": forged} {
			t.Run(name+" "+r.method+" "+r.path, func(t *testing.T) {
				a := e.do(cl, r.method, r.path, `{"title":"x","customerName":"y"}`)
				if a.status != http.StatusUnauthorized {
					t.Fatalf("status %d %s, want 401", a.status, a.body)
				}
				if p := a.problem(t); p.Error != "login_required" {
					t.Errorf("error %q, want login_required", p.Error)
				}
			})
		}
	}
	select {
	case call := <-e.sockets:
		t.Errorf("socket reached without a login: %+v", call)
	default:
	}
	var list []ticket
	e.do(c, "GET", "/api/v1/tickets", "").decode(t, &list)
	if len(list) != 1 {
		t.Errorf("%d tickets, want only the one created with a login", len(list))
	}
}

func TestStateChangingRoutesNeedCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	tk := e.createTicket(c, "Printer", "Bakkerij")
	noToken := client{cookie: c.cookie, origin: c.origin}
	wrongToken := client{cookie: c.cookie, origin: c.origin, csrf: "not-the-token"}
	foreign := client{cookie: c.cookie, csrf: c.csrf, origin: "http://evil.example"}
	noOrigin := client{cookie: c.cookie, csrf: c.csrf}
	routes := []string{"/api/v1/logout", "/api/v1/tickets", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID)}
	tabs := []struct {
		name string
		cl   client
		code string
	}{
		{"no token", noToken, "bad_csrf"},
		{"wrong token", wrongToken, "bad_csrf"},
		{"foreign origin", foreign, "bad_origin"},
		{"no origin", noOrigin, "bad_origin"},
	}
	for _, path := range routes {
		for _, tab := range tabs {
			t.Run(tab.name+" "+path, func(t *testing.T) {
				a := e.do(tab.cl, "POST", path, `{"title":"x","customerName":"y"}`)
				if a.status != http.StatusForbidden {
					t.Fatalf("status %d %s, want 403", a.status, a.body)
				}
				if p := a.problem(t); p.Error != tab.code {
					t.Errorf("error %q, want %q", p.Error, tab.code)
				}
			})
		}
	}
	// None of the refused requests had an effect.
	if a := e.do(c, "GET", "/api/v1/me", ""); a.status != 200 {
		t.Errorf("logged out by a refused request: %d", a.status)
	}
	var got ticket
	e.do(c, "GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), "").decode(t, &got)
	if len(got.Sessions) != 0 {
		t.Errorf("refused requests started %d sessions", len(got.Sessions))
	}
	var list []ticket
	e.do(c, "GET", "/api/v1/tickets", "").decode(t, &list)
	if len(list) != 1 {
		t.Errorf("refused requests created tickets: %d", len(list))
	}
}

func TestConsoleSocketGetsUserAndSession(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	if a := e.do(c, "GET", "/ws/console/42", ""); a.status != http.StatusNoContent {
		t.Fatalf("status %d %s", a.status, a.body)
	}
	select {
	case call := <-e.sockets:
		if call.id != 42 || call.user.ID != e.user.ID || call.user.Email != email {
			t.Errorf("socket called with %+v", call)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("socket not called")
	}
}

func TestPageAndHeaders(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		path, contains string
		want           int
	}{
		{"/", "<title>Meekijk</title>", 200},
		{"/assets/app.js", "", 200},
		{"/assets/style.css", "", 200},
		{"/no-such-page", "", 404},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			a := e.do(client{}, "GET", tc.path, "")
			if a.status != tc.want {
				t.Fatalf("status %d, want %d", a.status, tc.want)
			}
			if !bytes.Contains(a.body, []byte(tc.contains)) {
				t.Errorf("body does not contain %q", tc.contains)
			}
			for h, want := range map[string]string{
				"Content-Security-Policy": console.CSP,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
			} {
				if got := a.header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
		})
	}
	// The index is HTML, so the browser applies the CSP to it.
	if ct := e.do(client{}, "GET", "/", "").header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("index Content-Type %q", ct)
	}
	for _, directive := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(console.CSP, directive) {
			t.Errorf("CSP lacks %q", directive)
		}
	}
	if strings.Contains(console.CSP, "unsafe-inline") || strings.Contains(console.CSP, "unsafe-eval") {
		t.Error("CSP allows inline or eval'd code")
	}
}

func TestI18nServesOnlyConsoleKeys(t *testing.T) {
	e := newEnv(t)
	a := e.do(client{}, "GET", "/i18n.json", "")
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, Content-Type %q", a.status, a.header.Get("Content-Type"))
	}
	var cat map[string]map[string]string
	a.decode(t, &cat)
	if len(cat) == 0 || cat["console.title"] == nil {
		t.Fatalf("catalog has %d keys, no console.title", len(cat))
	}
	for k, texts := range cat {
		// The console also shows ticket words and billable reasons; the
		// agent's texts ("agent.") and the status page's stay out.
		if !strings.HasPrefix(k, "console.") && !strings.HasPrefix(k, "ticket.") && !strings.HasPrefix(k, "reason.") {
			t.Errorf("key %q is not a console key", k)
		}
		if texts["nl"] == "" {
			t.Errorf("key %q has no Dutch text", k)
		}
	}
}
