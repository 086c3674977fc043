package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/console"
	"github.com/meekijk/meekijk/internal/store"
)

// mailSetUp gives the desk SMTP settings, so link mails are queued (no
// worker runs: the test reads the queue).
func (e *env) mailSetUp(admin client) {
	e.t.Helper()
	e.call(admin, "PUT", "/api/v1/settings/mail", map[string]any{"host": "127.0.0.1", "port": 2525, "startTLS": false,
		"from": "support@desk.example", "publicUrl": e.srv.URL}, 200, nil)
}

// linkMails are the queued sign-in link mails, newest first.
func (e *env) linkMails() []store.Mail {
	e.t.Helper()
	ms, err := e.st.Mails(context.Background(), 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []store.Mail
	for _, m := range ms {
		if m.Kind == store.MailPortalLink {
			m.Body = mailBody(e, m.ID)
			out = append(out, m)
		}
	}
	return out
}

func mailBody(e *env, id int64) string {
	var b string
	if err := e.st.DB().QueryRow("SELECT body FROM mail_queue WHERE id = ?", id).Scan(&b); err != nil {
		e.t.Fatal(err)
	}
	return b
}

// linkIn is the portal link a mail carries.
func linkIn(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, "/portaal/in/")
	if i < 0 {
		t.Fatalf("no link in %q", body)
	}
	return strings.Fields(body[i:])[0]
}

func (e *env) askLink(email string) answer {
	e.t.Helper()
	return e.portalDo("", "", "POST", "/portaal/api/link", fmt.Sprintf(`{"email":%q,"lang":"fr"}`, email))
}

// A sign-in link is mailed to a reference person in their language; an
// unknown address and a contact not allowed in get the very same answer,
// and no mail.
func TestPortalLinkRequestTellsNobodyWhoExists(t *testing.T) {
	e := newEnv(t)
	e.mailSetUp(e.loginAs(store.RoleAdmin, "admin@desk.example"))
	ref := e.contact("Bakkerij Peeters", "Ann Peeters", "general")
	other := e.contact("Bakkerij Peeters", "Jan Boekhouder", "")
	answers := map[string]answer{}
	for _, addr := range []string{ref.Email, other.Email, "nobody@example.com"} {
		a := e.askLink(addr)
		if a.status != http.StatusAccepted {
			t.Fatalf("link for %s: %d %s", addr, a.status, a.body)
		}
		answers[addr] = a
	}
	if string(answers[ref.Email].body) != string(answers["nobody@example.com"].body) ||
		string(answers[other.Email].body) != string(answers["nobody@example.com"].body) {
		t.Errorf("answers differ: %s / %s / %s", answers[ref.Email].body, answers[other.Email].body, answers["nobody@example.com"].body)
	}
	ms := e.linkMails()
	if len(ms) != 1 || ms[0].To != ref.Email || ms[0].Lang != "nl" || !strings.Contains(ms[0].Body, "Beste Ann Peeters") {
		t.Fatalf("mails = %+v", ms)
	}
	// The mailed link signs in, once.
	if c, _, a := e.portalSignIn(linkIn(t, ms[0].Body)); c == "" {
		t.Fatalf("sign-in with the mailed link: %d %s", a.status, a.body)
	}
	if a := e.askLink("not an address"); a.status != http.StatusBadRequest || a.problem(t).Field != "email" {
		t.Errorf("bad address: %d %s", a.status, a.body)
	}
}

// Asking for links again and again slows the asker and never locks out the
// person: a request held back for the address is one whose inbox already
// holds a link that still works; the client asking too often is told to
// wait, and both limits lift with time.
func TestPortalLinkThrottled(t *testing.T) {
	e := newEnv(t)
	e.mailSetUp(e.loginAs(store.RoleAdmin, "admin@desk.example"))
	ref := e.contact("Bakkerij Peeters", "Ann Peeters", "general")
	for range 5 {
		if a := e.askLink(ref.Email); a.status != http.StatusAccepted {
			t.Fatalf("ask: %d %s", a.status, a.body)
		}
		e.clk.advance(time.Minute)
	}
	ms := e.linkMails()
	if len(ms) != 3 {
		t.Fatalf("%d mails for 5 requests in 5 minutes, want 3", len(ms))
	}
	// The honest person, held back now, still has live links in the inbox.
	if c, _, a := e.portalSignIn(linkIn(t, ms[0].Body)); c == "" {
		t.Fatalf("newest mailed link while held back: %d %s", a.status, a.body)
	}
	e.clk.advance(console.PortalLinkTTL)
	e.askLink(ref.Email)
	if n := len(e.linkMails()); n != 4 {
		t.Fatalf("after the window: %d mails, want 4", n)
	}

	// One client trying address after address is told to wait.
	var last answer
	for i := range 30 {
		if last = e.askLink(fmt.Sprintf("guess%d@example.com", i)); last.status != http.StatusAccepted {
			break
		}
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Fatalf("a client asking 30 times: %d %s", last.status, last.body)
	}
	e.clk.advance(16 * time.Minute)
	if a := e.askLink(ref.Email); a.status != http.StatusAccepted {
		t.Errorf("after the client's window: %d %s", a.status, a.body)
	}
}

// A person chooses a password, signs out and back in with it; a wrong
// password and an unknown address get the same answer, and guessing is
// throttled as console logins are.
func TestPortalPassword(t *testing.T) {
	e := newEnv(t)
	staff := e.login()
	ref, cookie, csrf := e.signedInAs(staff, "Bakkerij Peeters", "Ann Peeters")
	var l struct{ Link string }
	var me struct {
		Name, Company, Lang, CSRFToken string
		HasPassword                    bool
	}
	e.portalDo(cookie, "", "GET", "/portaal/api/me", "").decode(t, &me)
	if me.Name != "Ann Peeters" || me.Company != "Bakkerij Peeters" || me.Lang != "nl" || me.HasPassword || me.CSRFToken != csrf {
		t.Fatalf("me = %+v (csrf %s)", me, csrf)
	}
	if a := e.portalDo(cookie, csrf, "PUT", "/portaal/api/password", `{"password":"kort"}`); a.status != http.StatusBadRequest || a.problem(t).Field != "password" {
		t.Fatalf("short password: %d %s", a.status, a.body)
	}
	if a := e.portalDo(cookie, "", "PUT", "/portaal/api/password", `{"password":"brood en banket 1"}`); a.status != http.StatusForbidden {
		t.Fatalf("without CSRF: %d %s", a.status, a.body)
	}
	if a := e.portalDo(cookie, csrf, "PUT", "/portaal/api/password", `{"password":"brood en banket 1"}`); a.status != http.StatusNoContent {
		t.Fatalf("set password: %d %s", a.status, a.body)
	}
	// Changing it needs the current one.
	if a := e.portalDo(cookie, csrf, "PUT", "/portaal/api/password", `{"current":"fout","password":"brood en banket 2"}`); a.status != http.StatusBadRequest || a.problem(t).Field != "current" {
		t.Fatalf("change without the current one: %d %s", a.status, a.body)
	}
	if a := e.portalDo(cookie, csrf, "PUT", "/portaal/api/me/lang", `{"lang":"de"}`); a.status != http.StatusBadRequest {
		t.Errorf("lang de: %d %s", a.status, a.body)
	}
	if a := e.portalDo(cookie, csrf, "PUT", "/portaal/api/me/lang", `{"lang":"fr"}`); a.status != http.StatusNoContent {
		t.Fatalf("lang fr: %d %s", a.status, a.body)
	}
	if ct, _ := e.st.Contact(context.Background(), ref.ID); ct.Lang != "fr" {
		t.Errorf("contact's language = %q", ct.Lang)
	}
	if a := e.portalDo(cookie, csrf, "POST", "/portaal/api/signout", ""); a.status != http.StatusNoContent {
		t.Fatalf("sign out: %d %s", a.status, a.body)
	}
	if a := e.portalDo(cookie, "", "GET", "/portaal/api/me", ""); a.status != http.StatusUnauthorized {
		t.Fatalf("after sign-out: %d", a.status)
	}

	signIn := func(email, pw string) answer {
		return e.portalDo("", "", "POST", "/portaal/api/password-signin", fmt.Sprintf(`{"email":%q,"password":%q}`, email, pw))
	}
	wrong, unknown := signIn(ref.Email, "niet het wachtwoord"), signIn("nobody@example.com", "brood en banket 1")
	if wrong.status != http.StatusUnauthorized || string(wrong.body) != string(unknown.body) || unknown.status != wrong.status {
		t.Fatalf("wrong password %d %s, unknown address %d %s", wrong.status, wrong.body, unknown.status, unknown.body)
	}
	a := signIn(strings.ToUpper(ref.Email), "brood en banket 1")
	if a.status != http.StatusOK {
		t.Fatalf("password sign-in: %d %s", a.status, a.body)
	}
	var got struct{ CSRFToken string }
	a.decode(t, &got)
	c2 := ""
	for _, ck := range (&http.Response{Header: a.header}).Cookies() {
		if ck.Name == "meekijk_portal" {
			c2 = ck.Value
		}
	}
	e.portalDo(c2, "", "GET", "/portaal/api/me", "").decode(t, &me)
	if !me.HasPassword || me.Lang != "fr" || me.CSRFToken != got.CSRFToken {
		t.Errorf("me after password sign-in = %+v", me)
	}
	// Guessing: after the console's per-account limit, even the right
	// password waits, and it passes again once the window has gone by.
	for range 5 {
		signIn(ref.Email, "geraden wachtwoord")
	}
	if a := signIn(ref.Email, "brood en banket 1"); a.status != http.StatusTooManyRequests {
		t.Fatalf("after 5 guesses: %d %s", a.status, a.body)
	}
	e.clk.advance(16 * time.Minute)
	if a := signIn(ref.Email, "brood en banket 1"); a.status != http.StatusOK {
		t.Fatalf("after the window: %d %s", a.status, a.body)
	}
	// A person without an address on file cannot sign in by password: the
	// desk adds the address first.
	noMail, err := e.st.CreateContact(context.Background(), store.Contact{CustomerID: ref.CustomerID, Name: "Piet", Lang: "nl", ReferenceRole: "technical"})
	if err != nil {
		t.Fatal(err)
	}
	e.portalLink(staff, noMail.ID).decode(t, &l)
	pc, pcsrf, _ := e.portalSignIn(l.Link)
	if a := e.portalDo(pc, pcsrf, "PUT", "/portaal/api/password", `{"password":"brood en banket 3"}`); a.status != http.StatusConflict || a.problem(t).Error != "no_email" {
		t.Errorf("password without an address: %d %s", a.status, a.body)
	}
	// A console login is no portal session, and the reverse.
	if a := e.portalDo(staff.cookie, "", "GET", "/portaal/api/me", ""); a.status != http.StatusUnauthorized {
		t.Errorf("console cookie on /portaal/api/me: %d", a.status)
	}
	if a := e.do(client{cookie: c2}, "GET", "/api/v1/me", ""); a.status != http.StatusUnauthorized {
		t.Errorf("portal cookie on /api/v1/me: %d", a.status)
	}
}

// A portal session ends after its lifetime: a clear 401, and a change
// sent with it does nothing.
func TestPortalSessionExpires(t *testing.T) {
	e := newEnv(t)
	staff := e.login()
	_, cookie, csrf := e.signedInAs(staff, "Bakkerij Peeters", "Ann Peeters")
	tk := e.createTicket(staff, "Kassa", "Bakkerij Peeters")
	e.clk.advance(8*time.Hour + time.Second)
	a := e.portalDo(cookie, csrf, "POST", fmt.Sprintf("/portaal/api/tickets/%d/notes", tk.ID), `{"body":"te laat"}`)
	if a.status != http.StatusUnauthorized || a.problem(t).Error != "unauthorized" {
		t.Fatalf("note after expiry: %d %s", a.status, a.body)
	}
	if notes, _ := e.st.Notes(context.Background(), tk.ID, true); len(notes) != 0 {
		t.Errorf("an expired session added %d notes", len(notes))
	}
	if a := e.portalDo(cookie, "", "GET", "/portaal/api/me", ""); a.status != http.StatusUnauthorized {
		t.Errorf("me after expiry: %d", a.status)
	}
	// Signing in again drops the expired session from the database.
	e.signedInAs(staff, "Bakkerij Peeters", "Bart Peeters")
	var n int
	if err := e.st.DB().QueryRow("SELECT count(*) FROM portal_logins").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d portal sessions kept, want 1 (%v)", n, err)
	}
}
