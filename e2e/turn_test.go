package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSessionThroughTURN: with -relay-only, media flows through the relay's
// embedded TURN server and nowhere else: the console's selected candidate
// pair is of type relay on both ends. Everything stays on 127.0.0.1, which
// the TURN policy refuses unless allowed, as here.
func TestSessionThroughTURN(t *testing.T) {
	s := newScene(t, "-turn-udp", "127.0.0.1:0", "-turn-public-ip", "127.0.0.1", "-turn-allow", "127.0.0.0/8", "-relay-only")
	code := startSession(t, s.console, "Via TURN")
	ag, customer := s.customer(t)
	enterCode(t, customer, ag.pageURL, code)
	waitPhase(t, customer, "ask")
	run(t, customer, "allow", chromedp.Click(chromedp.CSS(`#allow`)))
	waitJS(t, s.console, "first frame through TURN", `Number(document.getElementById('screen').dataset.frames) > 0`, 20*time.Second)

	pair := selectedPair(t, s.console)
	if pair.Local.Type != "relay" || pair.Remote.Type != "relay" {
		t.Fatalf("selected candidate pair %s <-> %s, want relay on both ends", pair.Local, pair.Remote)
	}
	if strings.Contains(s.relay.Stderr(), "level=ERROR") {
		t.Errorf("relay logged errors:\n%s", s.relay.Stderr())
	}
}
