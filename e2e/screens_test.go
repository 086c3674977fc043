package e2e

import (
	"image"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// xrandr runs xrandr on display.
func xrandr(t *testing.T, display string, args ...string) {
	t.Helper()
	out, err := exec.Command("xrandr", append([]string{"-display", display}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("xrandr %v: %v\n%s", args, err, out)
	}
}

// The customer unplugs the monitor they share: both pages say so at once,
// the technician's control is held back (clicks would land on a screen
// nobody sees), and the customer picks the screen to share next, which
// brings the picture and control back.
func TestUnpluggedScreen(t *testing.T) {
	if _, err := exec.LookPath("xrandr"); err != nil {
		t.Skip("xrandr is not installed (x11-xserver-utils, scripts/deps.sh)")
	}
	s := newScene(t)
	// Two monitors side by side on Xvfb's 1920x1080: RandR monitors are
	// what Xinerama, and so the agent, lists as screens.
	xrandr(t, s.display, "--setmonitor", "*left", "960/254x1080/286+0+0", "none")
	xrandr(t, s.display, "--setmonitor", "right", "960/254x1080/286+960+0", "none")
	rec := newClickRecorder(t, s.display, image.Rect(1010, 100, 1910, 600))

	_, customer := s.liveSession(t, "Kassa: tweede scherm zwart", "-display", "1")
	askControl(t, s.console, customer)
	// rawClick speaks of a 1920x1080 picture: (300,250) is (150,250) on
	// the right monitor, inside the recorder.
	rawClick(t, s.console, image.Pt(300, 250))
	rec.waitClicks(t, 1, 5*time.Second)

	xrandr(t, s.display, "--delmonitor", "right")
	waitJS(t, customer, "the customer's page says the screen is gone", `document.getElementById('screen-gone').offsetParent !== null
		&& document.getElementById('screen-gone').textContent.includes('niet meer aangesloten')`, 10*time.Second)
	waitJS(t, s.console, "the console says the screen is gone", `document.getElementById('screen-gone').offsetParent !== null
		&& document.getElementById('screen-gone').textContent.includes('niet meer aangesloten')`, 5*time.Second)
	waitJS(t, s.console, "the console says control is paused", `document.getElementById('control-state').dataset.control === 'off'`, 2*time.Second)
	shot(t, customer, "screen-gone-customer")
	shot(t, s.console, "screen-gone-console")
	refusedClick(t, s.console, rec, image.Pt(300, 250), "after the shared screen was unplugged")
	// Xvfb may list its whole screen again once no monitor covers the
	// right half: the choices are what the X server says is left.
	choices := eval[[]string](t, customer, `[...document.querySelectorAll('#screen-gone-choices button')].map((b) => b.textContent)`)
	if len(choices) == 0 || choices[0] != "Scherm 1 (960×1080) delen" {
		t.Fatalf("choices after the unplug: %q, want the left monitor first", choices)
	}

	frames := videoFrames(t, s.console)
	run(t, customer, "share the screen that is left", chromedp.Click(chromedp.CSS(`#screen-gone-choices button`)))
	waitJS(t, customer, "notice gone from the page", `document.getElementById('screen-gone').hidden`, 5*time.Second)
	waitJS(t, s.console, "notice gone from the console", `document.getElementById('screen-gone').hidden`, 15*time.Second)
	waitJS(t, s.console, "the picture moves again", `Number(document.getElementById('screen').dataset.frames) > `+itoa(frames), 15*time.Second)
	if eval[string](t, s.console, `document.getElementById('control-state').dataset.control`) != "on" {
		t.Error("control lost with the switch of screen")
	}
}

// The customer changes the resolution of the shared screen: the picture
// follows at the new size, without a new question, and control goes on.
func TestResolutionChange(t *testing.T) {
	if _, err := exec.LookPath("xrandr"); err != nil {
		t.Skip("xrandr is not installed (x11-xserver-utils, scripts/deps.sh)")
	}
	s := newScene(t)
	_, customer := s.liveSession(t, "Boekhouding: scherm te klein")
	askControl(t, s.console, customer)
	// The first picture may come at half size (agent/stream builds that
	// encoder first); the screen's size follows within moments.
	waitJS(t, s.console, "the picture at the screen's size", `document.getElementById('screen').videoWidth === 1920`, 5*time.Second)
	xrandr(t, s.display, "--newmode", "hd", "74.25", "1280", "1390", "1430", "1650", "720", "725", "730", "750")
	xrandr(t, s.display, "--addmode", "screen", "hd")
	xrandr(t, s.display, "--output", "screen", "--mode", "hd", "--fb", "1280x720")
	waitJS(t, s.console, "the picture at the new size", `document.getElementById('screen').videoWidth === 1280
		&& document.getElementById('screen').videoHeight === 720`, 15*time.Second)
	if eval[bool](t, customer, `!document.getElementById('prompt').hidden`) {
		t.Error("a question on the customer's page after a resolution change")
	}
	waitJS(t, s.console, "control still on", `document.getElementById('control-state').dataset.control === 'on'`, 5*time.Second)
}
