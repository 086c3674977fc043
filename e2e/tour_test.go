package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// rawText finds what a user must never read: catalog keys, internal actor
// names, unfilled placeholders, a count in the wrong number, and the
// API's field names in brackets.
var rawText = regexp.MustCompile(`\b(console|agent|status|ticket|reason|session|error)\.[a-z_]+(\.[a-z_]+)*\b|` +
	`\b(user|technician):\d+\b|\{[a-z]+(\|[^{}]*)?\}|\b1 (minutes|minuten|seconds|secondes|seconden|entries|entrées)\b|` +
	`\((vatNumber|centsPerHour|customerId|contactId|effectiveFrom)\b`)

// TestScreenshotTour visits every console page and the customer's pages
// (the agent's page, the status page) in Dutch, French and English, and
// checks each as a reader would: no catalog key or internal name, no
// "1 minutes", no empty banner. With MEEKIJK_SCREENSHOTS=dir it also
// saves each page as dir/<page>-<lang>.png, to look at.
func TestScreenshotTour(t *testing.T) {
	dir := os.Getenv("MEEKIJK_SCREENSHOTS")
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := newScene(t)
	tab := s.console
	cuID := itoa(int(s.customerID(t)))
	apiCall(t, tab, "PUT", "/customers/"+cuID, map[string]string{"name": sceneCustomer, "vatNumber": "BE0403170701", "lang": "nl"}, 200)
	apiCall(t, tab, "POST", "/customers/"+cuID+"/contacts", map[string]string{"name": "Marie Dubois", "referenceRole": "general", "lang": "fr"}, 201)
	run(t, tab, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)))
	createTicket(t, tab, "Kassa print geen tickets", sceneCustomer, "Marie Dubois")
	ticketHash := eval[string](t, tab, `location.hash`)
	statusURL := eval[string](t, tab, `document.getElementById('status-url').value`)

	// A whole session, so the receipt, the timeline and the chat exist.
	run(t, tab, "start a session", chromedp.Click(chromedp.CSS(`#start-session`)), chromedp.WaitVisible(chromedp.CSS(`#session-code`)))
	code := text(t, tab, `#session-code`)
	run(t, tab, "open the session page", chromedp.Click(chromedp.CSS(`#open-session`)), chromedp.WaitVisible(chromedp.CSS(`#status[data-status]`)))
	sessionHash := eval[string](t, tab, `location.hash`)
	sessionID := strings.TrimPrefix(sessionHash, "#/sessions/")
	ag, customer := s.customer(t)
	run(t, customer, "open the agent page", chromedp.Navigate(ag.pageURL), chromedp.WaitVisible(chromedp.CSS(`#code`)))
	for _, l := range []string{"nl", "fr", "en"} {
		chooseValue(t, customer, `#lang`, l)
		waitJS(t, customer, "agent page in "+l, `document.documentElement.lang === '`+l+`'`, 5*time.Second)
		check(t, customer, dir, "agent-code-"+l)
	}
	enterCode(t, customer, ag.pageURL, code)
	waitPhase(t, customer, "ask")
	for _, l := range []string{"nl", "fr", "en"} {
		chooseValue(t, customer, `#lang`, l)
		waitJS(t, customer, "agent page in "+l, `document.documentElement.lang === '`+l+`'`, 5*time.Second)
		check(t, customer, dir, "agent-ask-"+l)
	}
	run(t, customer, "allow viewing", chromedp.Click(chromedp.CSS(`#allow`)))
	waitPhase(t, customer, "sharing")
	waitJS(t, tab, "live", `document.getElementById('status').dataset.status === 'live'`, 15*time.Second)
	check(t, customer, dir, "agent-sharing-en")
	// The picture appearing moves the chat form down: a click sent while
	// it moves can miss the button on a loaded machine.
	waitJS(t, tab, "first frame", `Number(document.getElementById('screen').dataset.frames) > 0`, 15*time.Second)
	run(t, tab, "chat", chromedp.SendKeys(chromedp.CSS(`#chat-input`), "Ik kijk even mee."),
		chromedp.Click(chromedp.CSS(`#chat-form button[type=submit]`)))
	waitJS(t, tab, "chat line", `document.getElementById('chat-log').innerText.includes('Ik kijk even mee.')`, 5*time.Second)
	check(t, tab, dir, "session-live-nl")
	run(t, tab, "end the session", chromedp.Click(chromedp.CSS(`#end-session`)))
	waitJS(t, tab, "ended", `document.getElementById('status').dataset.status === 'ended'`, 10*time.Second)
	check(t, customer, dir, "agent-ended-en")

	month := time.Now().Format("2006-01")
	pages := []struct{ name, hash, ready string }{
		{"tickets", "#/tickets", `#new-ticket`},
		{"ticket", ticketHash, `#ticket-title`},
		{"session-ended", sessionHash, `#status[data-status=ended]`},
		{"customers", "#/customers", `#new-customer`},
		{"customer", "#/customers/" + cuID, `#customer-name`},
		{"users", "#/users", `#users`},
		{"calendar", "#/calendar", `#calendar-form`},
		{"categories", "#/categories", `#categories`},
		{"rates", "#/rates", `#new-rate`},
		{"billing", "#/billing?customer=" + cuID + "&month=" + month, `#statement`},
		{"audit", "#/audit", `#chain-status`},
		{"audit-sessions", "#/audit/sessions", `#review-sessions-list`},
		{"audit-timeline", "#/audit/sessions/" + sessionID, `#timeline`},
	}
	for _, l := range []string{"nl", "fr", "en"} {
		eval[bool](t, tab, `(localStorage.setItem('meekijk.lang', '`+l+`'), true)`)
		for _, p := range pages {
			run(t, tab, "open "+p.name+" in "+l, chromedp.Navigate(s.relay.url+"/"+p.hash), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(p.ready)))
			time.Sleep(300 * time.Millisecond) // what loads after the first paint
			check(t, tab, dir, p.name+"-"+l)
		}
		status := newTab(t, s.browser)
		if st := openStatusPage(t, status, statusURL+"?lang="+l); st != 200 {
			t.Fatalf("status page: %d", st)
		}
		check(t, status, dir, "status-"+l)
	}
	// The login page, in the language chosen last.
	login := newContext(t, s.browser)
	run(t, login, "open the login page", chromedp.Navigate(s.relay.url+"/"), chromedp.WaitVisible(chromedp.CSS(`#login`)))
	check(t, login, dir, "login")
}

// check reads a page as its user would and, with dir set, saves it.
func check(t *testing.T, tab context.Context, dir, name string) {
	t.Helper()
	body := eval[string](t, tab, `document.body.innerText`)
	for _, m := range rawText.FindAllString(body, -1) {
		t.Errorf("%s shows %q", name, m)
	}
	if !eval[bool](t, tab, noEmptyBanner) {
		t.Errorf("%s has an empty banner", name)
	}
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG, not JPEG
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}
