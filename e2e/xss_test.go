package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/protocol"
)

// hostileAgent joins a session as an agent would, but says whatever the
// test wants about the customer's machine and the consent it showed.
func hostileAgent(t *testing.T, relayURL, code string, info protocol.AgentInfo, consentText string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(relayURL, "http")+"/ws/agent", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	send := func(m protocol.Message) {
		b, _ := protocol.Encode(m)
		if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(typ string) {
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for %s: %v", typ, err)
			}
			if m, err := protocol.Decode(b); err == nil && m.Type() == typ {
				return
			}
		}
	}
	send(protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent, Agent: &info})
	waitFor("welcome")
	send(protocol.Join{Code: code})
	waitFor("consent_request")
	send(protocol.Consent{Level: protocol.LevelView, Granted: true, Text: consentText, Lang: "nl"})
	return ws
}

// TestAgentTextRendersAsText: host and user names and the consent text come
// from the customer's machine, which may be hostile; the technician's and
// the admin's pages show them as text and run nothing.
func TestAgentTextRendersAsText(t *testing.T) {
	s := newScene(t)
	code := startSession(t, s.console, "Verdacht")
	id := strings.TrimPrefix(eval[string](t, s.console, `location.hash`), "#/sessions/")
	if _, err := strconv.Atoi(id); err != nil {
		t.Fatalf("session page hash %q", id)
	}
	const (
		host = `<img src=x onerror="window.__xss='host'">KASSA`
		user = `<script>window.__xss='user'</script>marie`
		text = `<b>vet</b><img src=y onerror="window.__xss='consent'"> Jan vraagt om uw scherm te bekijken.`
	)
	hostileAgent(t, s.relay.url, code, protocol.AgentInfo{Hostname: host, User: user, OS: "<i>os</i>"}, text)
	waitConsoleStatus(t, s.console, "live", 5*time.Second)

	// The technician's session page, then the admin's timeline.
	checkPage := func(where string, wants ...string) {
		t.Helper()
		if x := eval[string](t, s.console, `String(window.__xss || '')`); x != "" {
			t.Fatalf("%s: agent text ran as script (%s)", where, x)
		}
		if n := eval[int](t, s.console, `document.querySelectorAll('main img, main script, main b, main i').length`); n != 0 {
			t.Fatalf("%s: agent text became %d elements", where, n)
		}
		page := eval[string](t, s.console, `document.querySelector('main').innerText`)
		for _, w := range wants {
			if !strings.Contains(page, w) {
				t.Errorf("%s: page does not show %q literally:\n%s", where, w, page)
			}
		}
	}
	waitJS(t, s.console, "agent line", `document.getElementById('agent').textContent.includes('KASSA')`, 5*time.Second)
	checkPage("session page", host, user)

	run(t, s.console, "open the timeline", chromedp.Navigate(s.relay.url+"/#/audit/sessions/"+id),
		chromedp.WaitVisible(chromedp.CSS(`#timeline`)))
	waitJS(t, s.console, "consent row", `!!document.querySelector('#timeline tr[data-event="session.consent_granted"]')`, 5*time.Second)
	checkPage("audit timeline", host, user, text)
	shot(t, s.console, "audit-timeline")
	run(t, s.console, "open the review list", chromedp.Navigate(s.relay.url+"/#/audit"),
		chromedp.WaitVisible(chromedp.CSS(`#chain-status[data-ok="true"]`)))
	checkPage("audit page")
	shot(t, s.console, "audit")
}
