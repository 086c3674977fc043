//go:build linux

package e2e

import (
	"image"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// cutAgentHost takes the customer's machine off the network, as a pulled
// cable or a Wi-Fi drop does: its only link goes down. Its own loopback,
// where the customer's page is served, keeps working.
func (c *crossing) cutAgentHost(t *testing.T) time.Time {
	t.Helper()
	c.agentHost.ip(t, "link", "set", "to-hub", "down")
	return time.Now()
}

// restoreAgentHost brings the link back, with the route a link going down
// takes away.
func (c *crossing) restoreAgentHost(t *testing.T) {
	t.Helper()
	c.agentHost.ip(t, "link", "set", "to-hub", "up")
	c.agentHost.ip(t, "route", "replace", serviceAddr+"/32", "via", "198.18.1.1")
}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// TestNetworkDropsAgainstTheGracePeriod: the customer's machine loses its
// network during a session with control, first for less than the grace
// period, then for longer. Everything goes through the relay's TURN on a
// separate host, so the drop cuts signaling and media alike.
//   - While down: the console says so, and no input reaches the screen
//     (a key held is released).
//   - Short drop: the session resumes by itself at the level granted, with
//     no new question to the customer, and a click works again.
//   - Long drop: sharing stops on both sides, the session is interrupted,
//     and when the network is back the customer is asked again.
func TestNetworkDropsAgainstTheGracePeriod(t *testing.T) {
	const grace = 25 * time.Second
	c := newCrossing(t, "-turn-udp", serviceAddr+":3478", "-turn-tcp", serviceAddr+":3478",
		"-turn-public-ip", serviceAddr, "-turn-allow", testRanges, "-grace", grace.String())
	rec := newClickRecorder(t, c.display, image.Rect(100, 100, 700, 500))
	apiCall(t, c.console, "POST", "/rates/default", map[string]any{"centsPerHour": 8500, "effectiveFrom": "2020-01-01"}, 200)
	c.consent(t, "Wifi valt weg")
	waitJS(t, c.console, "first frame", `Number(document.getElementById('screen').dataset.frames) > 0`, 20*time.Second)
	waitJS(t, c.console, "data channel open", `window.__meekijkChannel && window.__meekijkChannel.readyState === 'open'`, 10*time.Second)
	askControl(t, c.console, c.customer)
	db := c.relay.db(t)
	grants := func() int {
		kinds, _ := sessionEvents(t, c.relay)
		return strings.Count(strings.Join(kinds, " "), "consent_granted")
	}
	before := grants()

	// The technician holds Shift as the network goes.
	eval[bool](t, c.console, `(window.__meekijkChannel.send(JSON.stringify({ type: 'key', data: { action: 'down', code: 'ShiftLeft', key: 'Shift', shift: true } })), true)`)
	waitUntil(t, "Shift held on the X server", 5*time.Second, func() bool { return len(keysDown(t, c.display)) > 0 })

	cut := c.cutAgentHost(t)
	waitConsoleStatus(t, c.console, "reconnecting", 15*time.Second)
	waitJS(t, c.customer, "customer told the link is down", `!document.getElementById('link').hidden`, 10*time.Second)
	waitUntil(t, "held keys released while the link is down", 5*time.Second, func() bool { return len(keysDown(t, c.display)) == 0 })
	t.Logf("short drop: console said reconnecting and keys were released %v after the cut", time.Since(cut).Round(time.Millisecond))
	// Long enough for the media path to fail (9 s), so it comes back by
	// an ICE restart, not by itself.
	sleepUntil(cut.Add(12 * time.Second))
	c.restoreAgentHost(t)
	back := time.Now()
	waitConsoleStatus(t, c.console, "live", 20*time.Second)
	if notice := eval[string](t, c.console, `document.getElementById('session-notice').textContent`); !strings.Contains(notice, "Verbinding hersteld") {
		t.Errorf("console notice after a short drop %q, want that the connection is restored", notice)
	}
	if lvl := eval[string](t, c.console, `document.getElementById('level').dataset.level`); lvl != "control" {
		t.Errorf("level after a short drop %q, want control: the consent stands", lvl)
	}
	frames := videoFrames(t, c.console)
	// A still screen sends no frames: change it.
	colouredWindow(t, c.display, image.Rect(1300, 100, 1500, 200), 0x20c040)
	waitJS(t, c.console, "picture again", `Number(document.getElementById('screen').dataset.frames) > `+itoa(frames+3), 20*time.Second)
	waitJS(t, c.console, "control on again", `document.getElementById('control-state').dataset.control === 'on'`, 10*time.Second)
	t.Logf("short drop: live again %v after the network came back; agent log: %q", time.Since(back).Round(time.Millisecond),
		logLinesWith(c.agent.Stderr(), "ICE restart", "session resumed", "relay link", "dialing again"))
	if !strings.Contains(c.agent.Stderr(), "ICE restart offered") {
		t.Error("the picture came back without an ICE restart")
	}
	if phase := eval[string](t, c.customer, `document.body.dataset.phase`); phase != "sharing" {
		t.Errorf("customer page in phase %q after a short drop, want sharing", phase)
	}
	waitJS(t, c.console, "data channel open", `window.__meekijkChannel && window.__meekijkChannel.readyState === 'open'`, 10*time.Second)
	clickScreen(t, c.console, image.Pt(300, 250))
	if got := rec.waitClicks(t, 1, 5*time.Second)[0]; got.Sub(image.Pt(300, 250)).X > 2 {
		t.Errorf("click after the drop landed at %v", got)
	}
	if n := grants(); n != before {
		t.Errorf("%d consents granted during a short drop, want none", n-before)
	}

	cut = c.cutAgentHost(t)
	waitConsoleStatus(t, c.console, "interrupted", grace+15*time.Second)
	waitJS(t, c.customer, "customer told sharing stopped", `document.getElementById('link').textContent.includes('te lang')`, 10*time.Second)
	t.Logf("long drop: interrupted %v after the cut", time.Since(cut).Round(time.Millisecond))
	var status string
	if err := db.QueryRow(`SELECT status FROM remote_sessions`).Scan(&status); err != nil || status != "interrupted" {
		t.Errorf("stored status %q, %v; want interrupted", status, err)
	}
	sleepUntil(cut.Add(grace + 5*time.Second))
	c.restoreAgentHost(t)
	waitPhase(t, c.customer, "ask")
	run(t, c.customer, "allow again", chromedp.Click(chromedp.CSS(`#allow`)))
	waitConsoleStatus(t, c.console, "live", 20*time.Second)
	frames = videoFrames(t, c.console)
	colouredWindow(t, c.display, image.Rect(1300, 300, 1500, 400), 0x2040c0)
	waitJS(t, c.console, "picture after a new consent", `Number(document.getElementById('screen').dataset.frames) > `+itoa(frames+3), 20*time.Second)
	if lvl := eval[string](t, c.console, `document.getElementById('level').dataset.level`); lvl != "view" {
		t.Errorf("level after a long drop %q, want view: control must be asked again", lvl)
	}
	kinds, _ := sessionEvents(t, c.relay)
	t.Logf("events: %s", strings.Join(kinds, " "))
}

// logLinesWith is the messages of the log lines holding any of words.
func logLinesWith(log string, words ...string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				if i := strings.Index(l, "msg="); i >= 0 {
					l = l[i:]
				}
				out = append(out, l)
				break
			}
		}
	}
	return out
}
