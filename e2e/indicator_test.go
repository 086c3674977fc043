package e2e

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// xdotool runs xdotool on display and returns its output's fields.
func xdotool(t *testing.T, display string, args ...string) ([]string, error) {
	t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	return strings.Fields(string(out)), err
}

// indicatorWindow is the visible indicator on display, or "". It is found
// by its title, which says what it shows ("Meekijk: Jan kijkt mee…"): on
// X11 and under Wine alike, where the window's class is Wine's.
func indicatorWindow(t *testing.T, display string) string {
	t.Helper()
	ids, err := xdotool(t, display, "search", "--onlyvisible", "--name", "^Meekijk: ")
	if err != nil || len(ids) == 0 { // xdotool exits 1 when nothing matches
		return ""
	}
	return ids[0]
}

func waitIndicator(t *testing.T, display string, want bool, within time.Duration) string {
	t.Helper()
	var id string
	waitUntil(t, "indicator shown: "+strconv.FormatBool(want), within, func() bool {
		id = indicatorWindow(t, display)
		return (id != "") == want
	})
	return id
}

// clickIndicatorStop clicks the Stop button: the right end of the window,
// vertically centred (agent/indicator/render.go's layout).
func clickIndicatorStop(t *testing.T, display, id string) {
	t.Helper()
	geo, err := xdotool(t, display, "getwindowgeometry", "--shell", id)
	if err != nil {
		t.Fatalf("indicator geometry: %v", err)
	}
	v := map[string]int{}
	for _, kv := range geo {
		if k, val, ok := strings.Cut(kv, "="); ok {
			v[k], _ = strconv.Atoi(val)
		}
	}
	x, y := v["X"]+v["WIDTH"]-14-48, v["Y"]+v["HEIGHT"]/2
	if _, err := xdotool(t, display, "mousemove", strconv.Itoa(x), strconv.Itoa(y), "click", "1"); err != nil {
		t.Fatalf("click the indicator's Stop: %v", err)
	}
}

// The customer closes the browser tab while sharing: the indicator on the
// desktop still says so, the page opened again shows the true state, and
// the indicator's own Stop ends the session for the relay.
func TestIndicatorOutlivesTheClosedPage(t *testing.T) {
	s := newScene(t)
	if indicatorWindow(t, s.display) != "" {
		t.Fatal("an indicator before any agent ran")
	}
	ag, customer := s.liveSession(t, "Kassa: bonprinter drukt niet af")
	id := waitIndicator(t, s.display, true, 5*time.Second)
	name, _ := xdotool(t, s.display, "getwindowname", id)
	if got := strings.Join(name, " "); !strings.Contains(got, "kijkt mee op uw scherm") {
		t.Errorf("indicator says %q, want who watches, in Dutch", got)
	}

	// Close the customer's tab: sharing goes on, and stays visible.
	if err := chromedp.Cancel(customer); err != nil {
		t.Fatalf("close the customer's tab: %v", err)
	}
	frames := videoFrames(t, s.console)
	waitJS(t, s.console, "frames after the page closed", `Number(document.getElementById('screen').dataset.frames) > `+itoa(frames+10), 15*time.Second)
	if indicatorWindow(t, s.display) == "" {
		t.Fatal("indicator gone with the page while the screen is still shared")
	}

	// The page opened again shows what is true: sharing, with its Stop.
	again := newTab(t, s.browser)
	run(t, again, "open the page again", chromedp.Navigate(ag.pageURL))
	waitPhase(t, again, "sharing")
	waitJS(t, again, "Stop offered", `document.getElementById('stop').offsetParent !== null`, 5*time.Second)
	if err := chromedp.Cancel(again); err != nil {
		t.Fatal(err)
	}

	clickIndicatorStop(t, s.display, id)
	waitConsoleStatus(t, s.console, "ended", 15*time.Second)
	waitIndicator(t, s.display, false, 5*time.Second)
	ag.waitExit(t, 15*time.Second)
	kinds, actors := sessionEvents(t, s.relay)
	if i := slices.Index(kinds, "ended"); i < 0 || actors[i] != "customer" {
		t.Errorf("events %v by %v, want ended by the customer", kinds, actors)
	}
}

// When the agent program ends mid-session, the page says so and offers
// nothing that pretends to work; the indicator goes with the program.
func TestPageSaysTheAgentStopped(t *testing.T) {
	s := newScene(t)
	ag, customer := s.liveSession(t, "Boekhouding: dagboek op slot")
	waitIndicator(t, s.display, true, 5*time.Second)
	if err := ag.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitJS(t, customer, "page says the program stopped", `document.body.dataset.agent === 'gone'`, 10*time.Second)
	waitJS(t, customer, "the message is on screen, in Dutch", `document.getElementById('gone').offsetParent !== null
		&& document.getElementById('gone').textContent.includes('programma op deze computer is gestopt')`, 2*time.Second)
	if n := eval[int](t, customer, `[...document.querySelectorAll('button')].filter((b) => b.offsetParent !== null).length`); n != 0 {
		t.Errorf("%d buttons still on offer after the program stopped", n)
	}
	if eval[bool](t, customer, `document.getElementById('sharing-title').offsetParent !== null`) {
		t.Error("page still says the screen is shared")
	}
	waitIndicator(t, s.display, false, 5*time.Second)
}
