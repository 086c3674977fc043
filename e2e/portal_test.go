package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// portalPerson is a customer's contact with a browser of their own.
type portalPerson struct {
	id   int64
	name string
	tab  context.Context
}

// addPortalContact adds a contact to a customer through the console's
// API; role "" is a contact who is no reference person.
func addPortalContact(t *testing.T, s *scene, customerID int64, name, email, lang, role string) int64 {
	t.Helper()
	var ct struct{ ID int64 }
	json.Unmarshal(apiCall(t, s.console, "POST", fmt.Sprintf("/customers/%d/contacts", customerID),
		map[string]string{"name": name, "email": email, "lang": lang, "referenceRole": role}, 201), &ct)
	return ct.ID
}

// staffPortalLink is the sign-in link a technician copies from the
// contact's page, as an absolute URL.
func staffPortalLink(t *testing.T, s *scene, contactID int64) string {
	t.Helper()
	var out struct{ Link string }
	json.Unmarshal(apiCall(t, s.console, "POST", fmt.Sprintf("/contacts/%d/portal-link", contactID), nil, 201), &out)
	return s.relay.url + out.Link
}

// signInByLink opens a sign-in link in tab and waits for the portal's
// home page.
func signInByLink(t *testing.T, tab context.Context, link string) {
	t.Helper()
	run(t, tab, "open the sign-in link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`#nav-home`)))
	waitJS(t, tab, "home page", `document.querySelector('[data-page=home]') !== null`, 10*time.Second)
}

// portalGo opens a portal page by its hash route and waits for selector.
func portalGo(t *testing.T, tab context.Context, r *relay, route, selector string) {
	t.Helper()
	run(t, tab, "open the portal's "+route, chromedp.Navigate(r.url+"/portaal/#"+route), chromedp.WaitVisible(chromedp.CSS(selector)))
}

// setField sets a form control's value as typing would, the page hearing
// input and change.
func setField(t *testing.T, tab context.Context, selector, value string) {
	t.Helper()
	eval[bool](t, tab, `(() => { const e = document.querySelector(`+jsString(selector)+`); e.value = `+jsString(value)+`;
		e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true })); return true; })()`)
}

// portalClient is a customer person's portal session outside the browser,
// to ask for every URL the way a curious person would.
type portalClient struct {
	base string
	http *http.Client
	csrf string
}

func portalClientByLink(t *testing.T, base, link string) *portalClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &portalClient{base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	tok := link[strings.LastIndex(link, "/")+1:]
	status, body := c.do(t, "POST", "/portaal/api/signin", "application/json", []byte(`{"token":"`+tok+`"}`))
	var out struct{ CSRFToken string }
	if err := json.Unmarshal(body, &out); status != 200 || err != nil {
		t.Fatalf("portal sign-in: %d %s", status, body)
	}
	c.csrf = out.CSRFToken
	return c
}

func (c *portalClient) do(t *testing.T, method, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Origin", c.base)
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// consoleTickets is the console's list of tickets, by reference.
func consoleTickets(t *testing.T, s *scene) map[string]int64 {
	t.Helper()
	var ts []struct {
		ID        int64
		Reference string
	}
	json.Unmarshal(apiCall(t, s.console, "GET", "/tickets", nil, 200), &ts)
	out := map[string]int64{}
	for _, tk := range ts {
		out[tk.Reference] = tk.ID
	}
	return out
}

// portalShot reads a portal page as a customer would (no catalog key, no
// empty banner) and, with MEEKIJK_SCREENSHOTS set, saves it there.
func portalShot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	time.Sleep(200 * time.Millisecond) // fonts and what loads after the first paint
	check(t, tab, os.Getenv("MEEKIJK_SCREENSHOTS"), "portal-"+name)
}

// TestPortalReferencePerson: a reference person signs in with a link, files
// a request (the console lists it with its reference), adds a note,
// approves an estimate, and after a session finds its receipt; bad input
// is answered on the page in their language, and nothing is half made.
func TestPortalReferencePerson(t *testing.T) {
	s := newScene(t)
	r := s.relay
	customerID := s.customerID(t)
	annID := addPortalContact(t, s, customerID, "Ann Peeters", "ann@bakkerij-peeters.example", "nl", "general")
	ann := portalPerson{id: annID, name: "Ann Peeters", tab: newContext(t, s.browser)}
	apiCall(t, s.console, "POST", fmt.Sprintf("/customers/%d/prepaid", customerID),
		map[string]any{"purchasedOn": time.Now().Format(time.DateOnly), "minutes": 600, "priceCents": 76500}, 200)

	// The sign-in page, and a link asked for by e-mail: the same answer
	// whoever asks.
	portalGo(t, ann.tab, r, "/", `#link-form`)
	chooseValue(t, ann.tab, `#lang`, "nl") // the browser speaks English
	waitJS(t, ann.tab, "sign-in page in Dutch", `document.documentElement.lang === 'nl' && !!document.getElementById('link-form')`, 5*time.Second)
	portalShot(t, ann.tab, "signin-nl")
	run(t, ann.tab, "ask for a link", chromedp.SendKeys(chromedp.CSS(`#link-form input[name=email]`), "ann@bakkerij-peeters.example"),
		chromedp.Click(chromedp.CSS(`#link-form button[type=submit]`)))
	waitJS(t, ann.tab, "link asked", `document.getElementById('link-sent').textContent.includes('ann@bakkerij-peeters.example')`, 10*time.Second)

	// An expired link, then a used one: said on the page, in Dutch.
	// Its expiry, 30 minutes away, is moved into the past in the database.
	expired := staffPortalLink(t, s, annID)
	if _, err := r.openDB(t, "").Exec(`UPDATE portal_links SET expires_at = 1 WHERE used_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	run(t, ann.tab, "open an expired link", chromedp.Navigate(expired), chromedp.WaitVisible(chromedp.CSS(`#signin-notice`)))
	if got := text(t, ann.tab, `#signin-notice`); !strings.Contains(got, "verlopen") {
		t.Errorf("expired link: %q", got)
	}
	if path := eval[string](t, ann.tab, `location.pathname`); path != "/portaal/" {
		t.Errorf("the token stays in the address bar: %s", path)
	}
	portalShot(t, ann.tab, "signin-expired-nl")
	link := staffPortalLink(t, s, annID)
	signInByLink(t, ann.tab, link)
	if href := eval[string](t, ann.tab, `location.href`); strings.Contains(href, "/in/") {
		t.Errorf("the token stays in the address bar: %s", href)
	}
	other := newContext(t, s.browser)
	run(t, other, "open the used link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`#signin-notice`)))
	// A browser of its own, in English: the language chosen was in the other.
	if got := text(t, other, `#signin-notice`); !strings.Contains(got, "used already") {
		t.Errorf("used link: %q", got)
	}

	// A request without a description: named at the field, nothing filed.
	before := len(consoleTickets(t, s))
	portalGo(t, ann.tab, r, "/new", `#request-form`)
	portalShot(t, ann.tab, "request-nl")
	chooseValue(t, ann.tab, `#request-form select[name=kind]`, "problem")
	chooseValue(t, ann.tab, `#request-form select[name=priority]`, "high")
	setField(t, ann.tab, `#request-form input[name=product]`, "Kassa")
	setField(t, ann.tab, `#request-form input[name=title]`, "Kassa print geen tickets")
	run(t, ann.tab, "send without a description", chromedp.Click(chromedp.CSS(`#request-form button[type=submit]`)))
	waitJS(t, ann.tab, "description refused", `document.querySelector('[data-error-for=description]').textContent !== ''`, 10*time.Second)
	if got := text(t, ann.tab, `[data-error-for=description]`); !strings.Contains(got, "beschrijving") {
		t.Errorf("missing description: %q", got)
	}
	if eval[string](t, ann.tab, `document.activeElement.name`) != "description" {
		t.Error("the focus is not on the description")
	}
	portalShot(t, ann.tab, "request-error-nl")
	if n := len(consoleTickets(t, s)); n != before {
		t.Fatalf("a refused request left %d tickets, want %d", n, before)
	}
	setField(t, ann.tab, `#request-form textarea[name=description]`, "Sinds vanmorgen drukt de kassa geen tickets meer af.")

	// A file over the limit: named at the file field, nothing filed, no
	// file left in the relay's data.
	files := t.TempDir()
	big, small := filepath.Join(files, "kassa-export.zip"), filepath.Join(files, "foutmelding.txt")
	if err := os.WriteFile(big, bytes.Repeat([]byte("x"), 11<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(small, []byte("Fout 0x3F bij het afdrukken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, ann.tab, "attach a large file", chromedp.SetUploadFiles(chromedp.CSS(`#request-form input[name=attachment]`), []string{big}),
		chromedp.Click(chromedp.CSS(`#request-form button[type=submit]`)))
	waitJS(t, ann.tab, "large file refused", `document.querySelector('#request-form [data-error-for=attachment]').textContent !== ''`, 20*time.Second)
	if got := text(t, ann.tab, `#request-form [data-error-for=attachment]`); !strings.Contains(got, "te groot") {
		t.Errorf("oversized attachment: %q", got)
	}
	portalShot(t, ann.tab, "request-too-large-nl")
	if n := len(consoleTickets(t, s)); n != before {
		t.Fatalf("a refused request left %d tickets, want %d", n, before)
	}
	if left, _ := os.ReadDir(filepath.Join(r.dataDir, "attachments")); len(left) != 0 {
		t.Errorf("a refused request left %d files behind", len(left))
	}
	run(t, ann.tab, "send the request with a small file", chromedp.SetUploadFiles(chromedp.CSS(`#request-form input[name=attachment]`), []string{small}),
		chromedp.Click(chromedp.CSS(`#request-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#request-done`)))
	ref := eval[string](t, ann.tab, `document.getElementById('request-done').dataset.reference`)
	// No contract: billable, and the page says why.
	if got := text(t, ann.tab, `#request-covered`); !strings.Contains(got, "geen actief onderhoudscontract") {
		t.Errorf("coverage of the request: %q", got)
	}
	portalShot(t, ann.tab, "request-done-nl")
	ticketID, ok := consoleTickets(t, s)[ref]
	if !ok {
		t.Fatalf("the console does not list %s", ref)
	}

	// A note on the ticket; the console shows it.
	run(t, ann.tab, "open the ticket", chromedp.Click(chromedp.CSS(`#request-open`)), chromedp.WaitVisible(chromedp.CSS(`#note-form`)))
	setField(t, ann.tab, `#note-form textarea[name=body]`, "Het gebeurt op beide kassa's.")
	run(t, ann.tab, "add a note", chromedp.Click(chromedp.CSS(`#note-form button[type=submit]`)))
	waitJS(t, ann.tab, "note listed", `(document.getElementById('note-list')?.textContent || '').includes("beide kassa's")`, 10*time.Second)
	if raw := apiCall(t, s.console, "GET", fmt.Sprintf("/tickets/%d", ticketID), nil, 200); !strings.Contains(string(raw), "beide kassa") {
		t.Errorf("the console does not show the note: %s", raw)
	}
	// The attachment: listed, downloaded as sent, and seen by the desk.
	waitJS(t, ann.tab, "file listed", `(document.getElementById('file-list')?.textContent || '').includes('foutmelding.txt')`, 5*time.Second)
	got := evalAsync[string](t, ann.tab, `fetch(document.querySelector('#file-list a').href).then(r => r.text())`)
	if got != "Fout 0x3F bij het afdrukken\n" {
		t.Errorf("downloaded attachment: %q", got)
	}
	if raw := apiCall(t, s.console, "GET", fmt.Sprintf("/tickets/%d/files", ticketID), nil, 200); !strings.Contains(string(raw), "foutmelding.txt") {
		t.Errorf("the console does not list the file: %s", raw)
	}
	portalShot(t, ann.tab, "ticket-nl")

	// The desk estimates 90 minutes of billable work and announces work
	// outside the contract: two questions, on the ticket and at home.
	var estimate struct{ ID int64 }
	json.Unmarshal(apiCall(t, s.console, "POST", fmt.Sprintf("/tickets/%d/estimates", ticketID),
		map[string]any{"minutes": 90, "description": "De kassadatabase herstellen"}, 201), &estimate)
	apiCall(t, s.console, "POST", fmt.Sprintf("/tickets/%d/out-of-contract", ticketID),
		map[string]any{"minutes": 30, "description": "Het bonlayout aanpassen", "reason": "layoutwijzigingen vallen buiten het contract"}, 201)
	portalGo(t, ann.tab, r, "/", `#questions`)
	if n := eval[int](t, ann.tab, `document.querySelectorAll('#questions li').length`); n != 2 {
		t.Errorf("home lists %d questions, want 2", n)
	}
	portalShot(t, ann.tab, "home-nl")
	question := fmt.Sprintf(`#questions .question[data-id="%d"]`, estimate.ID)
	portalGo(t, ann.tab, r, fmt.Sprintf("/tickets/%d", ticketID), question)
	if got := text(t, ann.tab, question+` blockquote`); !strings.Contains(got, "90 minuten") || !strings.Contains(got, "€") {
		t.Errorf("the estimate's text: %q", got)
	}
	portalShot(t, ann.tab, "ticket-questions-nl")
	run(t, ann.tab, "approve without the tick", chromedp.Click(chromedp.CSS(question+` button.approve`)))
	waitJS(t, ann.tab, "tick asked for", `document.querySelector(`+jsString(question+` [data-error-for=accept]`)+`).textContent !== ''`, 5*time.Second)
	run(t, ann.tab, "approve the estimate", chromedp.Click(chromedp.CSS(question+` input[name=accept]`)),
		chromedp.Click(chromedp.CSS(question+` button.approve`)))
	waitJS(t, ann.tab, "approved", `!!document.querySelector(`+jsString(question+` [data-answer=approved]`)+`)`, 10*time.Second)
	var approvals []struct {
		ID       int64
		Approval *struct{ By, Text, TextSHA256 string }
	}
	json.Unmarshal(apiCall(t, s.console, "GET", fmt.Sprintf("/tickets/%d/approvals", ticketID), nil, 200), &approvals)
	approved := 0
	for _, a := range approvals {
		if a.Approval != nil {
			approved++
			if a.ID != estimate.ID || a.Approval.By != fmt.Sprintf("contact:%d", annID) || len(a.Approval.TextSHA256) != 64 ||
				!strings.Contains(a.Approval.Text, "90 minuten") {
				t.Errorf("the console shows approval %+v of %d", a.Approval, a.ID)
			}
		}
	}
	if approved != 1 {
		t.Errorf("the console shows %d approvals, want 1", approved)
	}
	// The work outside the contract she refuses, after confirming: the
	// console's ticket shows the refusal, who and when.
	var offer struct{ ID int64 }
	for _, a := range approvals {
		if a.ID != estimate.ID {
			offer.ID = a.ID
		}
	}
	refused := fmt.Sprintf(`#questions .question[data-id="%d"]`, offer.ID)
	eval[bool](t, ann.tab, `(window.confirm = () => true, true)`) // she answers the confirmation with OK
	run(t, ann.tab, "refuse the out-of-contract work", chromedp.Click(chromedp.CSS(refused+` button.refuse`)))
	waitJS(t, ann.tab, "refused", `!!document.querySelector(`+jsString(refused+` [data-answer=refused]`)+`)`, 10*time.Second)
	portalShot(t, ann.tab, "ticket-approved-nl")
	run(t, s.console, "see the refusal in the console", chromedp.Navigate(fmt.Sprintf("%s/#/tickets/%d", r.url, ticketID)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#ticket-approvals [data-approval="%d"] [data-answer=refused]`, offer.ID))))
	if got := text(t, s.console, fmt.Sprintf(`#ticket-approvals [data-approval="%d"]`, offer.ID)); !strings.Contains(got, "Ann Peeters") {
		t.Errorf("the console's refusal: %q", got)
	}

	// A session on the ticket: control with the 90 minutes approved in the
	// portal is not asked for again; once it ends, the receipt is there.
	run(t, s.console, "open the ticket in the console", chromedp.Navigate(fmt.Sprintf("%s/#/tickets/%d", r.url, ticketID)),
		chromedp.WaitVisible(chromedp.CSS(`#start-session`)), chromedp.Click(chromedp.CSS(`#start-session`)),
		chromedp.WaitVisible(chromedp.CSS(`#session-code`)))
	code := text(t, s.console, `#session-code`)
	run(t, s.console, "open the session page", chromedp.Click(chromedp.CSS(`#open-session`)), chromedp.WaitVisible(chromedp.CSS(`#status[data-status]`)))
	_, customer := s.sharing(t, code)
	run(t, s.console, "ask for control with the estimate", chromedp.SendKeys(chromedp.CSS(`#control-estimate`), "90"),
		chromedp.Click(chromedp.CSS(`#request-control`)))
	confirmCodes(t, s.console)
	waitJS(t, customer, "control question", `!document.getElementById('prompt').hidden`, 10*time.Second)
	if eval[bool](t, customer, `document.getElementById('prompt-estimate-label').offsetParent !== null || document.getElementById('prompt-yes').disabled`) {
		t.Error("the agent asks again for the estimate approved in the portal")
		// Approved once more, so the receipt below is still checked.
		run(t, customer, "approve the estimate again", chromedp.Click(chromedp.CSS(`#prompt-estimate`)))
		waitJS(t, customer, "Yes enabled", `!document.getElementById('prompt-yes').disabled`, 5*time.Second)
	}
	run(t, customer, "allow control", chromedp.Click(chromedp.CSS(`#prompt-yes`)))
	waitJS(t, s.console, "control active", `document.getElementById('control-state').dataset.control === 'on'`, 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // some work, so the receipt has a billed intervention
	run(t, s.console, "end the session", chromedp.Click(chromedp.CSS(`#end-session`)))
	waitJS(t, s.console, "ended", `document.getElementById('status').dataset.status === 'ended'`, 10*time.Second)
	// The ticket lists the session: worked, billed (no contract, so the
	// minimum) and why, and a link to its receipt. The tab shows the
	// ticket already: home first, so the page is drawn anew.
	portalGo(t, ann.tab, r, "/", `#tickets`)
	portalGo(t, ann.tab, r, fmt.Sprintf("/tickets/%d", ticketID), `#session-list a.receipt-link`)
	if got := text(t, ann.tab, `#session-list li.session`); !strings.Contains(got, "min gewerkt") || !strings.Contains(got, "60 min aangerekend") ||
		!strings.Contains(got, "Waarom:") {
		t.Errorf("the ticket's session: %q", got)
	}
	portalShot(t, ann.tab, "ticket-sessions-nl")
	// The receipt opens in a tab of its own, the portal staying open: here,
	// in the same tab.
	run(t, ann.tab, "open the session's receipt", chromedp.Navigate(eval[string](t, ann.tab, `document.querySelector('#session-list a.receipt-link').href`)),
		chromedp.WaitVisible(chromedp.CSS(`#sessions`)))
	waitJS(t, ann.tab, "receipt", `!!document.querySelector('#sessions .receipt') && !!document.querySelector(location.hash + ' .receipt')`, 10*time.Second)
	if got := text(t, ann.tab, `#sessions .receipt`); !strings.Contains(got, "Verslag van de sessie") {
		t.Errorf("receipt: %q", got)
	}
	portalShot(t, ann.tab, "receipt-nl")

	// A person of another customer gets, for every one of these, the
	// answer of an id that does not exist.
	garage := addPortalCustomer(t, s, "Garage Claes")
	janID := addPortalContact(t, s, garage, "Jan Claes", "jan@garage-claes.example", "fr", "general")
	jan := portalClientByLink(t, r.url, staffPortalLink(t, s, janID))
	var own struct {
		Files []struct{ ID int64 }
	}
	json.Unmarshal(evalAsync[json.RawMessage](t, ann.tab, fmt.Sprintf(`fetch('/portaal/api/tickets/%d').then(r => r.json())`, ticketID)), &own)
	if len(own.Files) != 1 {
		t.Fatalf("ticket files: %+v", own)
	}
	for _, u := range []struct{ method, path, body string }{
		{"GET", "/portaal/api/tickets/%d", ""},
		{"POST", "/portaal/api/tickets/%d/notes", `{"body":"hallo"}`},
		{"POST", "/portaal/api/tickets/%d/approvals/" + fmt.Sprint(estimate.ID), `{"lang":"fr","version":"x","accept":true}`},
		{"POST", "/portaal/api/tickets/%d/estimates/" + fmt.Sprint(estimate.ID) + "/approve", `{"lang":"fr","version":"x","accept":true}`},
		{"GET", "/portaal/api/tickets/%d/files/" + fmt.Sprint(own.Files[0].ID), ""},
		{"POST", "/portaal/api/tickets/%d/files", ""},
	} {
		status, body := jan.do(t, u.method, fmt.Sprintf(u.path, ticketID), "application/json", []byte(u.body))
		wantStatus, wantBody := jan.do(t, u.method, fmt.Sprintf(u.path, 999999), "application/json", []byte(u.body))
		if status != 404 || wantStatus != 404 || !bytes.Equal(body, wantBody) {
			t.Errorf("%s %s of another customer: %d %s; a missing one: %d %s", u.method, u.path, status, body, wantStatus, wantBody)
		}
	}
	if status, body := jan.do(t, "GET", "/portaal/api/tickets", "", nil); status != 200 || strings.Contains(string(body), ref) {
		t.Errorf("another customer's list: %d %s", status, body)
	}
	janTab := newContext(t, s.browser)
	signInByLink(t, janTab, staffPortalLink(t, s, janID))
	portalGo(t, janTab, r, fmt.Sprintf("/tickets/%d", ticketID), `#page-error`)
	if got := text(t, janTab, `#page-error`); !strings.Contains(got, "Introuvable") {
		t.Errorf("another customer's ticket page: %q", got)
	}

	// A contact who is no reference person gets no link until invited.
	pietID := addPortalContact(t, s, customerID, "Piet Peeters", "piet@bakkerij-peeters.example", "nl", "")
	apiCall(t, s.console, "POST", fmt.Sprintf("/contacts/%d/portal-link", pietID), nil, 409)
	apiCall(t, s.console, "POST", fmt.Sprintf("/contacts/%d/portal-invite", pietID), nil, 204)
	signInByLink(t, newContext(t, s.browser), staffPortalLink(t, s, pietID))

	// Hours and invoices: last month's invoice, readable and as its XML.
	apiCall(t, s.console, "PUT", fmt.Sprintf("/customers/%d", customerID), map[string]string{"name": sceneCustomer, "vatNumber": "BE0403170701", "lang": "nl"}, 200)
	apiCall(t, s.console, "POST", "/rates/default", map[string]any{"centsPerHour": 8500, "effectiveFrom": "2020-01-01"}, 200)
	invoiceLastMonth(t, s.console, r, customerID, ticketID)
	portalGo(t, ann.tab, r, "/hours", `#invoice-list`)
	if n := eval[int](t, ann.tab, `document.querySelectorAll('#statement-list tbody tr').length`); n != 1 {
		t.Errorf("%d statements listed, want 1", n)
	}
	if xml := evalAsync[string](t, ann.tab, `fetch(document.querySelector('#invoice-list a.invoice-xml').href).then(r => r.text())`); !strings.Contains(xml, "<Invoice") {
		t.Errorf("the invoice's XML: %.200s", xml)
	}
	// The balance the desk sees for the customer, as the console has it.
	var prepaid struct {
		Balance struct{ RemainingMinutes int }
	}
	json.Unmarshal(apiCall(t, s.console, "GET", fmt.Sprintf("/customers/%d/prepaid", customerID), nil, 200), &prepaid)
	if got := eval[string](t, ann.tab, `document.getElementById('balance-left').dataset.minutes`); got != fmt.Sprint(prepaid.Balance.RemainingMinutes) {
		t.Errorf("the portal shows %s prepaid minutes left, the console %d", got, prepaid.Balance.RemainingMinutes)
	}
	portalShot(t, ann.tab, "hours-nl")
	run(t, ann.tab, "read the invoice", chromedp.Navigate(eval[string](t, ann.tab, `document.querySelector('#invoice-list a.invoice-view').href`)),
		chromedp.WaitVisible(chromedp.CSS(`#invoice-total`)))
	portalShot(t, ann.tab, "invoice-nl")
	portalGo(t, ann.tab, r, "/account", `#set-password`)
	portalShot(t, ann.tab, "account-nl")
	// A password of her own, then signing in with it.
	const password = "brood-en-banket-2026"
	setField(t, ann.tab, `#set-password input[name=password]`, password)
	setField(t, ann.tab, `#set-password input[name=repeat]`, password)
	run(t, ann.tab, "set a password", chromedp.Click(chromedp.CSS(`#set-password button[type=submit]`)))
	waitJS(t, ann.tab, "password set", `document.getElementById('password-set').textContent !== ''`, 10*time.Second)
	run(t, ann.tab, "sign out", chromedp.Click(chromedp.CSS(`#signout`)), chromedp.WaitVisible(chromedp.CSS(`#password-form`)))
	setField(t, ann.tab, `#password-form input[name=email]`, "ann@bakkerij-peeters.example")
	setField(t, ann.tab, `#password-form input[name=password]`, "verkeerd-wachtwoord-1")
	run(t, ann.tab, "sign in with a wrong password", chromedp.Click(chromedp.CSS(`#password-form button[type=submit]`)))
	waitJS(t, ann.tab, "wrong password said", `document.querySelector('#password-form .form-error').textContent !== ''`, 10*time.Second)
	setField(t, ann.tab, `#password-form input[name=password]`, password)
	run(t, ann.tab, "sign in with the password", chromedp.Click(chromedp.CSS(`#password-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#nav-home`)))

	// In French: the switch is kept on her contact; every page again.
	chooseValue(t, ann.tab, `#lang`, "fr")
	waitJS(t, ann.tab, "portal in French", `document.documentElement.lang === 'fr' && document.getElementById('nav-home').textContent === 'Mes demandes'`, 10*time.Second)
	var cu struct {
		Contacts []struct {
			ID   int64
			Lang string
		}
	}
	json.Unmarshal(apiCall(t, s.console, "GET", fmt.Sprintf("/customers/%d", customerID), nil, 200), &cu)
	for _, ct := range cu.Contacts {
		if ct.ID == annID && ct.Lang != "fr" {
			t.Errorf("Ann's language stays %q", ct.Lang)
		}
	}
	portalGo(t, ann.tab, r, fmt.Sprintf("/tickets/%d", ticketID), `#status-link`)
	run(t, ann.tab, "open sessions and receipts", chromedp.Navigate(eval[string](t, ann.tab, `document.getElementById('status-link').href`)),
		chromedp.WaitVisible(chromedp.CSS(`#sessions .receipt`)))
	if got := text(t, ann.tab, `#sessions .receipt`); !strings.Contains(got, "Compte rendu de la session") {
		t.Errorf("receipt in French: %q", got)
	}
	portalShot(t, ann.tab, "receipt-fr")
	for _, p := range []struct{ name, route, ready string }{
		{"home-fr", "/", `#tickets`},
		{"ticket-fr", fmt.Sprintf("/tickets/%d", ticketID), `#session-list`},
		{"hours-fr", "/hours", `#invoice-list`},
		{"account-fr", "/account", `#set-password`},
		{"request-fr", "/new", `#request-form`},
	} {
		portalGo(t, ann.tab, r, p.route, p.ready)
		portalShot(t, ann.tab, p.name)
	}
	portalGo(t, ann.tab, r, "/hours", `#invoice-list`)
	run(t, ann.tab, "read the invoice in French", chromedp.Navigate(eval[string](t, ann.tab, `document.querySelector('#invoice-list a.invoice-view').href`)),
		chromedp.WaitVisible(chromedp.CSS(`#invoice-total`)))
	if got := text(t, ann.tab, `#invoice-total`); !strings.Contains(got, "102,85") {
		t.Errorf("the invoice's total: %q", got)
	}
	portalShot(t, ann.tab, "invoice-fr")
	portalGo(t, ann.tab, r, "/new", `#request-form`)
	setField(t, ann.tab, `#request-form input[name=title]`, "Nouvel utilisateur")
	run(t, ann.tab, "send without a description", chromedp.Click(chromedp.CSS(`#request-form button[type=submit]`)))
	waitJS(t, ann.tab, "description refused", `document.querySelector('[data-error-for=description]').textContent.includes('Décrivez')`, 10*time.Second)
	portalShot(t, ann.tab, "request-error-fr")
	setField(t, ann.tab, `#request-form textarea[name=description]`, "Comment ajouter un utilisateur à la caisse ?")
	run(t, ann.tab, "send the request", chromedp.Click(chromedp.CSS(`#request-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#request-done`)))
	portalShot(t, ann.tab, "request-done-fr")
	run(t, ann.tab, "sign out", chromedp.Click(chromedp.CSS(`#signout`)), chromedp.WaitVisible(chromedp.CSS(`#link-form`)))
	portalShot(t, ann.tab, "signin-fr")
}

// addPortalCustomer adds a customer through the console's API.
func addPortalCustomer(t *testing.T, s *scene, name string) int64 {
	t.Helper()
	var cu struct{ ID int64 }
	json.Unmarshal(apiCall(t, s.console, "POST", "/customers", map[string]string{"name": name, "lang": "fr"}, 201), &cu)
	return cu.ID
}
