//go:build linux

package e2e

import (
	"context"
	"image"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Addresses of the namespace tests, from the benchmarking range
// 198.18.0.0/15 (RFC 2544), which exists for test networks: the relay
// answers on one service address, the agent's and the console's hosts each
// sit on a subnet of their own that only the relay's host is on.
const (
	serviceAddr = "198.18.0.1"
	// testRanges is what the TURN relay is allowed to relay to, and the
	// agent to use for ICE: the namespaces, and nothing else.
	testRanges = "198.18.0.0/15"
)

// crossing is a session's cast on separate hosts: the relay, the customer's
// machine (the agent and the customer's browser) and the technician's
// machine (the console's browser), with no route between the last two.
type crossing struct {
	*scene
	agentHost, consoleHost *netns
	agent                  *agent
	customer               context.Context
}

// newCrossing builds the hosts, starts the relay with relayArgs on its host,
// logs the admin in on the console host, and starts the agent.
func newCrossing(t *testing.T, relayArgs ...string) *crossing {
	t.Helper()
	requireNetns(t)
	hosts := newStar(t, serviceAddr)
	c := &crossing{
		agentHost:   hosts.spoke(t, "agent", "198.18.1.1/24", "198.18.1.2/24"),
		consoleHost: hosts.spoke(t, "console", "198.18.2.1/24", "198.18.2.2/24"),
	}
	c.agentHost.unreachable(t, "198.18.2.2")
	c.consoleHost.unreachable(t, "198.18.1.2")

	// The X server is the customer's screen. The agent reaches it through
	// its socket in /tmp/.X11-unix, a file, which network namespaces do
	// not separate.
	c.scene = &scene{display: startXvfb(t)}
	c.relay = startRelayIn(t, hosts.hub.launcher(), append([]string{"-addr", serviceAddr + ":8080"}, relayArgs...)...)
	c.browser = c.consoleHost.browser(t)
	c.prepare(t)
	c.agent = startAgentIn(t, c.agentHost.launcher(), c.relay.url, c.display, "-ice-allow", testRanges)
	c.customer = newTab(t, c.agentHost.browser(t))
	return c
}

// consent starts a session in the console and has the customer allow it.
func (c *crossing) consent(t *testing.T, title string) {
	t.Helper()
	code := startSession(t, c.console, title)
	enterCode(t, c.customer, c.agent.pageURL, code)
	waitPhase(t, c.customer, "ask")
	run(t, c.customer, "allow", chromedp.Click(chromedp.CSS(`#allow`)))
}

// TestSessionAcrossNamespaces: the agent and the console's browser are on
// hosts with no route between them, each reaching only the relay's host. A
// session still works, consent, picture and a click: the media and the
// input go through the relay's TURN server, as the selected candidate pair
// shows. Without -relay-only, ICE finds the relay on its own because the
// direct path fails.
func TestSessionAcrossNamespaces(t *testing.T) {
	c := newCrossing(t, "-turn-udp", serviceAddr+":3478", "-turn-tcp", serviceAddr+":3478",
		"-turn-public-ip", serviceAddr, "-turn-allow", testRanges)
	rec := newClickRecorder(t, c.display, image.Rect(100, 100, 700, 500))
	// The scene's customer has no contract: control is billable, and
	// billable work needs a price before it may be asked for.
	apiCall(t, c.console, "POST", "/rates/default", map[string]any{"centsPerHour": 8500, "effectiveFrom": "2020-01-01"}, 200)
	start := time.Now()
	c.consent(t, "Over de grens")
	waitJS(t, c.console, "first frame across namespaces", `Number(document.getElementById('screen').dataset.frames) > 0`, 20*time.Second)
	t.Logf("first frame %v after Allow", time.Since(start).Round(time.Millisecond))

	pair := selectedPair(t, c.console)
	t.Logf("selected candidate pair (console side): local %s, remote %s", pair.Local, pair.Remote)
	if pair.Local.Type != "relay" && pair.Remote.Type != "relay" {
		t.Fatalf("selected pair %s <-> %s has no relay candidate: the hosts found a direct path", pair.Local, pair.Remote)
	}
	for _, cand := range []candidate{pair.Local, pair.Remote} {
		if cand.Type == "relay" && cand.Address != serviceAddr {
			t.Errorf("relay candidate %s is not on the relay's address %s", cand, serviceAddr)
		}
	}

	// Input rides the same pair: the technician asks for control, the
	// customer allows it, and a click in the console lands on the
	// customer's screen.
	waitJS(t, c.console, "data channel open", `window.__meekijkChannel && window.__meekijkChannel.readyState === 'open'`, 10*time.Second)
	askControl(t, c.console, c.customer)
	clickScreen(t, c.console, image.Pt(300, 250))
	got := rec.waitClicks(t, 1, 5*time.Second)[0]
	if d := got.Sub(image.Pt(300, 250)); d.X < -2 || d.X > 2 || d.Y < -2 || d.Y > 2 {
		t.Errorf("click landed at %v, want (300,250)", got)
	}
	t.Logf("click from the console landed at %v on the customer's screen, %v after Allow", got, time.Since(start).Round(time.Millisecond))
	if after := selectedPair(t, c.console); after != pair {
		t.Errorf("selected pair changed during the session: %s <-> %s, then %s <-> %s", pair.Local, pair.Remote, after.Local, after.Remote)
	}
	logs := c.relay.Stderr()
	for _, host := range []string{"198.18.1.2", "198.18.2.2"} {
		if !logLine(logs, `msg="turn allocation created"`, "remote="+host+":") {
			t.Errorf("relay log shows no TURN allocation for %s:\n%s", host, logs)
		}
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Errorf("relay logged errors:\n%s", logs)
	}
}

// TestSessionAcrossNamespacesWithoutTURN: the same hosts, and a relay
// without TURN. No path for the media exists; the console's peer
// connection must give up rather than wait for ever.
func TestSessionAcrossNamespacesWithoutTURN(t *testing.T) {
	c := newCrossing(t)
	start := time.Now()
	c.consent(t, "Geen doorgang")
	waitJS(t, c.console, "ICE fails without TURN", `(() => {
		const pc = window.__meekijkPeer;
		return !!pc && (pc.iceConnectionState === 'failed' || pc.connectionState === 'failed');
	})()`, 30*time.Second)
	t.Logf("ICE failed %v after Allow", time.Since(start).Round(time.Millisecond))
	if n := videoFrames(t, c.console); n != 0 {
		t.Errorf("%d frames decoded with no path between the hosts", n)
	}
	shown := eval[map[string]string](t, c.console, `({
		status: document.getElementById('status').dataset.status || '',
		statusText: document.getElementById('status').textContent,
		error: document.getElementById('session-error').textContent,
		videoHidden: String(document.getElementById('screen').hidden),
	})`)
	t.Logf("console shows: status %q (%q), error %q, video hidden %s",
		shown["status"], shown["statusText"], shown["error"], shown["videoHidden"])
}
