package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// scene is the common stage of an end-to-end test: an X display, a relay,
// a browser, and a technician logged in to the console in one tab.
type scene struct {
	display string
	relay   *relay
	browser context.Context
	console context.Context
}

func newScene(t *testing.T, relayArgs ...string) *scene {
	t.Helper()
	s := &scene{display: startXvfb(t), relay: startRelay(t, relayArgs...)}
	s.browser = newBrowser(t)
	s.console = newTab(t, s.browser)
	consoleLogin(t, s.console, s.relay)
	return s
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
	run(t, tab, "log in",
		chromedp.Navigate(r.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#login input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=email]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=password]`), r.password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)),
	)
}

// startSession creates a ticket, starts a remote session on it, opens the
// session page and returns the code shown to the technician.
func startSession(t *testing.T, tab context.Context, title string) string {
	t.Helper()
	run(t, tab, "create ticket and start session",
		chromedp.SendKeys(chromedp.CSS(`#new-ticket input[name=title]`), title),
		chromedp.SendKeys(chromedp.CSS(`#new-ticket input[name=customerName]`), "Bakkerij Peeters"),
		chromedp.Click(chromedp.CSS(`#new-ticket button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#start-session`)),
		chromedp.Click(chromedp.CSS(`#start-session`)),
		chromedp.WaitVisible(chromedp.CSS(`#session-code`)),
	)
	code := strings.TrimSpace(eval[string](t, tab, `document.getElementById('session-code').textContent`))
	run(t, tab, "open the session page",
		chromedp.Click(chromedp.CSS(`#open-session`)),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-status]`)),
	)
	if len(strings.ReplaceAll(code, " ", "")) != 9 {
		t.Fatalf("session code %q is not 9 digits", code)
	}
	return code
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

func consoleStatus(t *testing.T, tab context.Context) string {
	return eval[string](t, tab, `document.getElementById('status').dataset.status || ''`)
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
