package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// scene is the common stage of an end-to-end test: an X display, a relay,
// a browser, and the first admin logged in to the console in one tab. The
// desk is open around the clock, so tests pass at any hour, and has one
// customer, Bakkerij Peeters, for tickets.
type scene struct {
	display string
	relay   *relay
	browser context.Context
	console context.Context
}

// sceneCustomer is the customer startSession files its tickets for.
const sceneCustomer = "Bakkerij Peeters"

func newScene(t *testing.T, relayArgs ...string) *scene {
	t.Helper()
	s := &scene{display: startXvfb(t), relay: startRelay(t, relayArgs...)}
	s.browser = newBrowser(t)
	s.prepare(t)
	return s
}

// prepare opens the console tab of a scene whose display, relay and
// browser are set, logs the admin in and sets up the desk.
func (s *scene) prepare(t *testing.T) {
	t.Helper()
	s.console = newTab(t, s.browser)
	consoleLogin(t, s.console, s.relay)
	apiCall(t, s.console, "PUT", "/calendar", alwaysOpen(), 200)
	apiCall(t, s.console, "POST", "/customers", map[string]string{"name": sceneCustomer, "lang": "nl"}, 201)
	// Again, so the new-ticket form lists the customer.
	run(t, s.console, "reload the tickets page",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)),
	)
	waitJS(t, s.console, "customer listed", `[...document.querySelectorAll('#new-ticket select[name=customerId] option')].some(o => o.textContent.includes(`+jsString(sceneCustomer)+`))`, 10*time.Second)
}

// alwaysOpen is a support calendar open every minute of every day.
func alwaysOpen() map[string]any {
	var weekly []map[string]any
	for d := range 7 {
		weekly = append(weekly, map[string]any{"weekday": d, "from": "00:00", "to": "24:00"})
	}
	return map[string]any{"timeZone": "Europe/Brussels", "weekly": weekly, "holidays": "", "closures": []any{}}
}

// customer starts an agent and opens its page in a new tab, as the
// customer's browser would.
func (s *scene) customer(t *testing.T, agentArgs ...string) (*agent, context.Context) {
	t.Helper()
	return startAgent(t, s.relay.url, s.display, agentArgs...), newTab(t, s.browser)
}

// consoleLogin logs the first admin in, in tab.
func consoleLogin(t *testing.T, tab context.Context, r *relay) {
	t.Helper()
	loginAs(t, tab, r, "admin", r.password)
}

// loginAs logs a user in through the console's login form, in tab.
func loginAs(t *testing.T, tab context.Context, r *relay, email, password string) {
	t.Helper()
	submitLogin(t, tab, r, email, password)
	run(t, tab, "logged in as "+email, chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)))
}

// newContext opens a tab in a fresh browser context: its own cookies, as
// another person's browser.
func newContext(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// startSession creates a ticket for the scene's customer, starts a remote
// session on it, opens the session page and returns the code shown to the
// technician.
func startSession(t *testing.T, tab context.Context, title string) string {
	t.Helper()
	createTicket(t, tab, title, sceneCustomer, "")
	run(t, tab, "start session",
		chromedp.Click(chromedp.CSS(`#start-session`)),
		chromedp.WaitVisible(chromedp.CSS(`#session-code`)),
	)
	code := strings.TrimSpace(eval[string](t, tab, `document.getElementById('session-code').textContent`))
	run(t, tab, "open the session page",
		chromedp.Click(chromedp.CSS(`#open-session`)),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-status]`)),
	)
	if len(strings.ReplaceAll(code, " ", "")) != 12 {
		t.Fatalf("session code %q is not 12 digits", code)
	}
	return code
}

// createTicket fills in the new-ticket form on the tickets page (which
// must be open) for customer and, unless "", their contact, and waits for
// the ticket's page.
func createTicket(t *testing.T, tab context.Context, title, customer, contact string) {
	t.Helper()
	run(t, tab, "type the subject",
		chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)),
		chromedp.SendKeys(chromedp.CSS(`#new-ticket input[name=title]`), title),
	)
	chooseOption(t, tab, `#new-ticket select[name=customerId]`, customer)
	// The customer's contacts load, and the coverage hint appears, before
	// the form is sent: a click while the form grows could miss.
	waitJS(t, tab, "contacts of "+customer, `(() => {
		const s = document.querySelector('#new-ticket select[name=customerId]');
		return s.dataset.loaded === s.value;
	})()`, 10*time.Second)
	if contact != "" {
		chooseOption(t, tab, `#new-ticket select[name=contactId]`, contact)
	}
	run(t, tab, "create the ticket",
		chromedp.Click(chromedp.CSS(`#new-ticket button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#start-session`)),
	)
}

// chooseOption picks the first option of a <select> whose text contains
// label, as a user would (the page hears change and input), waiting for
// the option to be there.
func chooseOption(t *testing.T, tab context.Context, selector, label string) {
	t.Helper()
	waitJS(t, tab, "choose "+label+" in "+selector, `(() => {
		const s = document.querySelector(`+jsString(selector)+`);
		const o = s && [...s.options].find(o => o.textContent.includes(`+jsString(label)+`));
		if (!o) return false;
		s.value = o.value;
		s.dispatchEvent(new Event('input', { bubbles: true }));
		s.dispatchEvent(new Event('change', { bubbles: true }));
		return true;
	})()`, 10*time.Second)
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// evalAsync evaluates JavaScript that returns a promise and decodes what
// it resolves to.
func evalAsync[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return out
}

// apiCall sends an API request (path under /api/v1) from a logged-in
// console tab, with the login's CSRF token, fails the test unless the
// answer has status want, and returns the answer's JSON.
func apiCall(t *testing.T, tab context.Context, method, path string, body any, want int) json.RawMessage {
	t.Helper()
	payload := "undefined"
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		payload = jsString(string(b))
	}
	res := evalAsync[struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}](t, tab, `(async () => {
		const me = await (await fetch('/api/v1/me')).json();
		const res = await fetch('/api/v1' + `+jsString(path)+`, { method: `+jsString(method)+`,
			headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrfToken }, body: `+payload+` });
		return { status: res.status, body: await res.text() };
	})()`)
	if res.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.Status, want, res.Body)
	}
	return json.RawMessage(res.Body)
}

// shot saves a full-page screenshot of tab as name.png in
// $MEEKIJK_E2E_SHOTS, when set, to look at the pages.
func shot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv("MEEKIJK_E2E_SHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// enterCode types the code on the agent's page.
func enterCode(t *testing.T, tab context.Context, pageURL, code string) {
	t.Helper()
	run(t, tab, "enter code on the agent page",
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible(chromedp.CSS(`#code`)),
		chromedp.SendKeys(chromedp.CSS(`#code`), code),
		chromedp.Click(chromedp.CSS(`#code-form button[type=submit]`)),
	)
}

// resubmitCode types another code on an already open agent page.
func resubmitCode(t *testing.T, tab context.Context, code string) {
	t.Helper()
	run(t, tab, "clear code", chromedp.WaitVisible(chromedp.CSS(`#code`)))
	eval[bool](t, tab, `(document.getElementById('code').value = '', true)`)
	run(t, tab, "retype code",
		chromedp.SendKeys(chromedp.CSS(`#code`), code),
		chromedp.Click(chromedp.CSS(`#code-form button[type=submit]`)),
	)
}

func waitConsoleStatus(t *testing.T, tab context.Context, want string, within time.Duration) {
	t.Helper()
	waitJS(t, tab, "console status "+want, `document.getElementById('status').dataset.status === '`+want+`'`, within)
}

func waitPhase(t *testing.T, tab context.Context, phase string) {
	t.Helper()
	waitJS(t, tab, "agent page phase "+phase, `document.body.dataset.phase === '`+phase+`'`, 15*time.Second)
}

func videoFrames(t *testing.T, tab context.Context) int {
	return eval[int](t, tab, `Number(document.getElementById('screen').dataset.frames)`)
}

// sessionEvents reads the session's event kinds from the database file.
func sessionEvents(t *testing.T, r *relay) (kinds, actors []string) {
	t.Helper()
	rows, err := r.db(t).Query(`SELECT kind, actor FROM session_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, a string
		if err := rows.Scan(&k, &a); err != nil {
			t.Fatal(err)
		}
		kinds, actors = append(kinds, k), append(actors, a)
	}
	return kinds, actors
}
