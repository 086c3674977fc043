package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
)

// TestDeniedShare: the customer denies; the console says declined, no frame
// was ever sent, and the agent captured nothing.
func TestDeniedShare(t *testing.T) {
	s := newScene(t)
	r, console := s.relay, s.console
	code := startSession(t, console, "Boekhouding sluit niet af")
	ag, customer := s.customer(t)
	enterCode(t, customer, ag.pageURL, code)
	waitPhase(t, customer, "ask")
	run(t, customer, "deny", chromedp.Click(chromedp.CSS(`#deny`)))
	waitPhase(t, customer, "declined")
	waitConsoleStatus(t, console, "declined", 10*time.Second)
	ag.waitExit(t, 10*time.Second)

	if n := videoFrames(t, console); n != 0 {
		t.Errorf("console decoded %d frames after a denial", n)
	}
	if !strings.Contains(ag.Stderr(), "frames_captured=0") {
		t.Errorf("agent captured frames although the customer denied:\n%s", ag.Stderr())
	}
	if strings.Contains(ag.Stderr(), "sharing started") {
		t.Error("agent started sharing although the customer denied")
	}
	kinds, _ := sessionEvents(t, r)
	want := []string{"created", "agent_joined", "consent_asked", "consent_denied"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("session events %v, want %v", kinds, want)
	}
	var status string
	if err := r.db(t).QueryRow(`SELECT status FROM remote_sessions`).Scan(&status); err != nil || status != "declined" {
		t.Fatalf("stored status %q (%v), want declined", status, err)
	}
}

func codeError(t *testing.T, tab context.Context) string {
	t.Helper()
	waitJS(t, tab, "an error under the code field", `document.getElementById('code-error').textContent !== ''`, 10*time.Second)
	msg := eval[string](t, tab, `document.getElementById('code-error').textContent`)
	eval[bool](t, tab, `(document.getElementById('code-error').textContent = '', true)`)
	return msg
}

// TestCodeRefusals: wrong, reused and expired codes are refused with a
// clear message in the customer's language, and after three wrong guesses
// the address waits, even with the right code.
func TestCodeRefusals(t *testing.T) {
	s := newScene(t, "-code-ttl", "3s")
	r, console := s.relay, s.console
	expiring := startSession(t, console, "Code verloopt")
	ag, customer := s.customer(t)
	// Expired: wait past the 3 s lifetime, then type it.
	time.Sleep(3500 * time.Millisecond)
	// Before a code is accepted the page speaks the browser's language
	// (English in headless Chromium); this customer chooses Dutch.
	run(t, customer, "open the agent page", chromedp.Navigate(ag.pageURL), chromedp.WaitVisible(chromedp.CSS(`#code`)))
	chooseValue(t, customer, `#lang`, "nl")
	resubmitCode(t, customer, expiring)
	if msg := codeError(t, customer); !strings.Contains(msg, "verlopen") {
		t.Errorf("expired code message %q, want the Dutch 'verlopen'", msg)
	}
	waitConsoleStatus(t, console, "expired", 5*time.Second)

	// Wrong codes: two more (the expired one counted as a guess).
	for i := 0; i < 2; i++ {
		resubmitCode(t, customer, "000 000 000 00"+string(rune('1'+i)))
		if msg := codeError(t, customer); !strings.Contains(msg, "niet juist") {
			t.Fatalf("wrong code %d: message %q, want 'niet juist'", i+1, msg)
		}
	}
	// A malformed code is caught on the page and never sent.
	resubmitCode(t, customer, "12345")
	if msg := codeError(t, customer); !strings.Contains(msg, "12 cijfers") {
		t.Errorf("short code message %q, want '12 cijfers'", msg)
	}
	// The fourth guess within the minute is throttled, and so is a right
	// code: a guesser learns nothing while throttled.
	resubmitCode(t, customer, "000 000 000 009")
	if msg := codeError(t, customer); !strings.Contains(msg, "Te veel foute pogingen") {
		t.Fatalf("fourth guess: message %q, want throttling", msg)
	}
	run(t, console, "back to tickets", chromedp.Navigate(r.url+"/#/tickets"), chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)))
	fresh := startSession(t, console, "Verse code")
	resubmitCode(t, customer, fresh)
	if msg := codeError(t, customer); !strings.Contains(msg, "Te veel foute pogingen") {
		t.Fatalf("right code while throttled: message %q, want throttling", msg)
	}
	if strings.Contains(r.Stderr(), "agent joined") {
		t.Fatal("an agent joined while its address was throttled")
	}
}

// TestUsedCode: a code works once; a second agent with it is told so.
func TestUsedCode(t *testing.T) {
	s := newScene(t)
	code := startSession(t, s.console, "Eenmalige code")
	first, tab1 := s.customer(t)
	enterCode(t, tab1, first.pageURL, code)
	waitPhase(t, tab1, "ask")

	second, tab2 := s.customer(t, "-lang", "fr")
	enterCode(t, tab2, second.pageURL, code)
	if msg := codeError(t, tab2); !strings.Contains(msg, "déjà été utilisé") {
		t.Errorf("reused code message %q, want the French 'déjà été utilisé'", msg)
	}
	waitPhase(t, tab1, "ask") // the first customer is not disturbed
}

// TestAgentPageRefusesStrangers: the agent's local page answers only
// requests with its token, for its own host, from its own origin.
func TestAgentPageRefusesStrangers(t *testing.T) {
	display := startXvfb(t)
	r := startRelay(t)
	ag := startAgent(t, r.url, display)
	page, err := url.Parse(ag.pageURL)
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + page.Host
	action := ag.pageURL + "action"
	body := `{"kind":"allow"}`
	withoutToken := "http://" + page.Host + "/"
	wrongToken := "http://" + page.Host + "/AAAA" + strings.Repeat("A", len(page.Path)-6) + "/"
	cases := []struct {
		name, method, url, host, origin string
		want                            int
	}{
		{"page with token", "GET", ag.pageURL, "", "", 200},
		{"no token", "GET", withoutToken, "", "", 403},
		{"wrong token", "GET", wrongToken, "", "", 403},
		{"foreign host (DNS rebinding)", "GET", ag.pageURL, "evil.example:" + page.Port(), "", 403},
		{"foreign origin reading", "GET", ag.pageURL + "events", "", "http://evil.example", 403},
		{"foreign origin posting", "POST", action, "", "http://evil.example", 403},
		{"post without origin", "POST", action, "", "", 403},
		{"own origin posting", "POST", action, "", origin, 204},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, c.url, nil)
		if c.method == "POST" {
			req, _ = http.NewRequest(c.method, c.url, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
		}
		if c.host != "" {
			req.Host = c.host
		}
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	// The accepted "allow" was ignored: no question was on screen.
	if strings.Contains(ag.Stderr(), "sharing started") {
		t.Error("an allow posted with no question on screen started sharing")
	}
}

// TestConsoleSocketRefusesForeignOrigin: a page elsewhere cannot open the
// console's WebSocket with the technician's cookie.
func TestConsoleSocketRefusesForeignOrigin(t *testing.T) {
	r := startRelay(t)
	api := loginAPI(t, r.url, "admin", r.password)
	var cu, tk struct{ ID int64 }
	var sess struct{ Session struct{ ID int64 } }
	if api.do(t, "POST", "/api/v1/customers", map[string]string{"name": "c"}, &cu) != 201 ||
		api.do(t, "POST", "/api/v1/tickets", map[string]any{"title": "t", "customerId": cu.ID}, &tk) != 201 ||
		// Any hour: outside support hours the reason is kept, inside ignored.
		api.do(t, "POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID), map[string]string{"overrideReason": "test"}, &sess) != 201 {
		t.Fatal("could not set up a session through the API")
	}
	id := fmt.Sprint(sess.Session.ID)

	u, _ := url.Parse(r.url)
	wsURL := "ws://" + u.Host + "/ws/console/" + id
	header := func(origin string) http.Header {
		h := http.Header{"Origin": {origin}}
		for _, c := range api.http.Jar.Cookies(u) {
			h.Add("Cookie", c.Name+"="+c.Value)
		}
		return h
	}
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, header("http://evil.example")); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("foreign origin: err=%v resp=%v, want 403", err, resp)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, header(r.url))
	if err != nil {
		t.Fatalf("own origin refused: %v", err)
	}
	conn.Close()
	// Without the cookie, even our own origin is refused.
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {r.url}}); err == nil || resp.StatusCode != 401 {
		t.Fatalf("no login: err=%v, want 401", err)
	}
}
