package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// blockURLs makes the tab's requests to URLs matching patterns fail, as a
// network that drops them would; no patterns lets everything through again.
func blockURLs(t *testing.T, tab context.Context, patterns ...string) {
	t.Helper()
	var blocks []*network.BlockPattern
	for _, p := range patterns {
		blocks = append(blocks, &network.BlockPattern{URLPattern: p, Block: true})
	}
	if _, err := chromedp.Call(tab, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: blocks}); err != nil {
		t.Fatalf("block %v: %v", patterns, err)
	}
}

const bootFailedVisible = `getComputedStyle(document.getElementById('boot-failed') || document.body).visibility === 'visible' && !!document.getElementById('boot-failed')`

// TestConsoleLoadFailures: the console's page comes in pieces, and a
// network that loses one must not leave the technician before a blank page.
//   - A script that does not load: after a few seconds the page says, in
//     Dutch, French and English, to reload it; reloading works.
//   - The texts failing for a moment: the page asks for them again and
//     starts as usual.
func TestConsoleLoadFailures(t *testing.T) {
	r := startRelay(t)
	tab := newTab(t, newBrowser(t))

	blockURLs(t, tab, "*://*:*/assets/transfer.js")
	start := time.Now()
	run(t, tab, "open the console", chromedp.Navigate(r.url+"/"))
	if eval[bool](t, tab, bootFailedVisible) {
		t.Fatal("the failure notice shows at once; it should wait for the scripts a few seconds")
	}
	waitJS(t, tab, "failure notice", bootFailedVisible, 15*time.Second)
	t.Logf("failure notice shown %v after opening", time.Since(start).Round(100*time.Millisecond))
	text := eval[string](t, tab, `document.getElementById('boot-failed').innerText`)
	for _, want := range []string{"Herlaad de pagina", "Rechargez la page", "Reload the page"} {
		if !strings.Contains(text, want) {
			t.Errorf("failure notice %q lacks %q", text, want)
		}
	}

	blockURLs(t, tab)
	run(t, tab, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#login input[name=email]`)))
	if eval[bool](t, tab, `!!document.getElementById('boot-failed')`) {
		t.Error("the failure notice is still on the page once the console started")
	}

	blockURLs(t, tab, "*://*:*/i18n.json")
	run(t, tab, "reload with the texts failing", chromedp.Reload())
	time.Sleep(700 * time.Millisecond)
	blockURLs(t, tab)
	waitJS(t, tab, "login form after the texts came", `!!document.querySelector('#login input[name=email]')`, 10*time.Second)
	if got := eval[string](t, tab, `document.querySelector('#login h1').textContent`); got == "login.title" || got == "" {
		t.Errorf("login title %q: the texts did not load", got)
	}
}

// TestCustomerClickSurvivesAFailedRequest: a network change fails the
// requests still waiting for a connection, even to the agent on the same
// machine. The customer's Allow, clicked at that moment, still counts: the
// page sends it again.
func TestCustomerClickSurvivesAFailedRequest(t *testing.T) {
	s := newScene(t)
	code := startSession(t, s.console, "Klik tijdens een netwerkwissel")
	ag, customer := s.customer(t)
	enterCode(t, customer, ag.pageURL, code)
	waitPhase(t, customer, "ask")
	blockURLs(t, customer, "*://*:*/*/action")
	run(t, customer, "allow", chromedp.Click(chromedp.CSS(`#allow`)))
	time.Sleep(250 * time.Millisecond)
	if phase := eval[string](t, customer, `document.body.dataset.phase`); phase != "ask" {
		t.Fatalf("phase %q while the click cannot get through; the block did not hold", phase)
	}
	blockURLs(t, customer)
	waitPhase(t, customer, "sharing")
	waitConsoleStatus(t, s.console, "live", 10*time.Second)
}
