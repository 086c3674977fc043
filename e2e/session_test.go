package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The known window: a saturated orange, far from the black root window.
const (
	windowRGB = 0xE8641E
	sampleX   = 800
	sampleY   = 550
)

var windowRect = image.Rect(400, 300, 1200, 800)

func TestVersionFlags(t *testing.T) {
	for _, b := range []string{bin.relay, bin.agent} {
		out, err := exec.Command(b, "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --version: %v", b, err)
		}
		if !strings.Contains(string(out), testVersion) {
			t.Errorf("%s --version = %q, want it to contain %q", b, out, testVersion)
		}
	}
}

// TestConsentedScreenShare is the walking skeleton's happy path: the
// technician starts a session, the customer enters the code and allows, the
// console shows the real screen, the customer stops.
func TestConsentedScreenShare(t *testing.T) {
	s := newScene(t)
	r, console := s.relay, s.console
	colouredWindow(t, s.display, windowRect, windowRGB)
	code := startSession(t, console, "Kassa print geen tickets")
	waitConsoleStatus(t, console, "waiting", 5*time.Second)
	ag, customer := s.customer(t)
	enterCode(t, customer, ag.pageURL, code)
	waitPhase(t, customer, "ask")
	// The customer sees who asks and why.
	ask := eval[string](t, customer, `document.getElementById('phase-ask').innerText`)
	for _, want := range []string{"Admin", "Softwarehuis Janssens", "Kassa print geen tickets", "Toestaan", "Weigeren"} {
		if !strings.Contains(ask, want) {
			t.Errorf("consent question %q lacks %q", ask, want)
		}
	}
	waitConsoleStatus(t, console, "joined", 5*time.Second)

	// Before Allow: nothing reaches the console, however long we wait.
	time.Sleep(time.Second)
	if n := videoFrames(t, console); n != 0 {
		t.Fatalf("console decoded %d frames before the customer allowed", n)
	}
	if eval[bool](t, console, `document.getElementById('screen').srcObject !== null`) {
		t.Fatal("console has a media stream before the customer allowed")
	}

	allowedAt := eval[float64](t, customer, `(() => { const t = Date.now(); document.getElementById('allow').click(); return t; })()`)
	waitPhase(t, customer, "sharing")
	waitConsoleStatus(t, console, "live", 5*time.Second)
	waitJS(t, console, "first frame", `Number(document.getElementById('screen').dataset.frames) > 0`, 15*time.Second)
	firstFrameAt := eval[float64](t, console, `Number(document.getElementById('screen').dataset.firstFrameAt)`)
	t.Logf("allow to first frame: %.0f ms", firstFrameAt-allowedAt)

	// The first picture may come at half size, from the encoder the
	// agent builds first; the screen's own size follows within moments.
	waitJS(t, console, "the picture at the screen's size", `document.getElementById('screen').videoWidth === 1920
		&& document.getElementById('screen').videoHeight === 1080`, 5*time.Second)
	// A still screen costs (almost) no frames once the encoder has
	// refined the picture; a change on screen brings them back at once.
	time.Sleep(2500 * time.Millisecond)
	before := videoFrames(t, console)
	time.Sleep(time.Second)
	if idle := videoFrames(t, console) - before; idle > 3 {
		t.Errorf("%d frames in 1 s of a still screen, want (almost) none", idle)
	}
	colouredWindow(t, s.display, image.Rect(1300, 100, 1500, 200), 0x20c040)
	waitJS(t, console, "frames after a change", `Number(document.getElementById('screen').dataset.frames) > `+strconv.Itoa(before+2), 3*time.Second)
	px := samplePixel(t, console, sampleX, sampleY)
	want := []int{windowRGB >> 16 & 0xff, windowRGB >> 8 & 0xff, windowRGB & 0xff}
	for i := range want {
		if d := px[i] - want[i]; d < -16 || d > 16 {
			t.Fatalf("pixel at (%d,%d) is %v, want about %v (the known window)", sampleX, sampleY, px, want)
		}
	}

	if msg := eval[string](t, console, `document.getElementById('session-error').textContent`); msg != "" {
		t.Fatalf("console shows an error during the session: %q", msg)
	}
	if strings.Contains(ag.Stderr(), "bad candidate") || strings.Contains(r.Stderr(), "malformed") {
		t.Fatalf("candidates were refused:\nagent: %s\nrelay: %s", ag.Stderr(), r.Stderr())
	}

	// The customer stops; the console says so within a second.
	stopAt := time.Now()
	run(t, customer, "click stop", chromedp.Click(chromedp.CSS(`#stop`)))
	waitConsoleStatus(t, console, "ended", time.Second)
	t.Logf("stop to console ended: %v", time.Since(stopAt).Round(time.Millisecond))
	waitPhase(t, customer, "ended")
	ag.waitExit(t, 10*time.Second)
	if !strings.Contains(ag.Stderr(), "frames_captured=") || strings.Contains(ag.Stderr(), "frames_captured=0 ") {
		t.Errorf("agent reports no captured frames:\n%s", ag.Stderr())
	}

	kinds, actors := sessionEvents(t, r)
	wantKinds := []string{"created", "agent_joined", "consent_asked", "consent_granted", "media_started", "ended"}
	if !slices.Equal(kinds, wantKinds) {
		t.Fatalf("session events %v, want %v", kinds, wantKinds)
	}
	if actors[3] != "customer" || actors[5] != "customer" {
		t.Errorf("consent and end actors %q, %q; want customer", actors[3], actors[5])
	}
	// The consent record holds the question as the customer read it.
	var detail string
	if err := r.db(t).QueryRow(`SELECT detail FROM session_events WHERE kind = 'consent_granted'`).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	var consent struct{ Text, Lang, TextSha256 string }
	json.Unmarshal([]byte(detail), &consent)
	sum := sha256.Sum256([]byte(consent.Text))
	if consent.Lang != "nl" || !strings.HasPrefix(consent.Text, strings.SplitN(ask, "\n", 2)[0]) ||
		!strings.Contains(consent.Text, "Kassa print geen tickets") || consent.TextSha256 != hex.EncodeToString(sum[:]) {
		t.Errorf("consent record %s does not hold the question shown:\n%s", detail, ask)
	}
}

// samplePixel draws the console's current video frame and reads one pixel.
func samplePixel(t *testing.T, tab context.Context, x, y int) []int {
	t.Helper()
	return eval[[]int](t, tab, `(() => {
		const v = document.getElementById('screen');
		const c = document.createElement('canvas');
		c.width = v.videoWidth; c.height = v.videoHeight;
		const g = c.getContext('2d');
		g.drawImage(v, 0, 0);
		const d = g.getImageData(`+strconv.Itoa(x)+`, `+strconv.Itoa(y)+`, 1, 1).data;
		return [d[0], d[1], d[2]];
	})()`)
}

// TestTechnicianEnds: the technician's End stops the customer's sharing at
// once, the customer's page says who ended it, and the agent exits.
func TestTechnicianEnds(t *testing.T) {
	s := newScene(t)
	code := startSession(t, s.console, "Technicus beëindigt")
	ag, customer := s.customer(t)
	enterCode(t, customer, ag.pageURL, code)
	waitPhase(t, customer, "ask")
	run(t, customer, "allow", chromedp.Click(chromedp.CSS(`#allow`)))
	waitJS(t, s.console, "first frame", `Number(document.getElementById('screen').dataset.frames) > 0`, 15*time.Second)

	run(t, s.console, "end session", chromedp.Click(chromedp.CSS(`#end-session`)))
	waitConsoleStatus(t, s.console, "ended", 10*time.Second)
	waitPhase(t, customer, "ended")
	if by := eval[string](t, customer, `document.getElementById('ended-by').textContent`); !strings.Contains(by, "technicus") {
		t.Errorf("customer page says %q, want that the technician ended it", by)
	}
	ag.waitExit(t, 10*time.Second)
	if !strings.Contains(ag.Stderr(), "session ended by relay") || !strings.Contains(ag.Stderr(), "by=technician") {
		t.Errorf("agent did not stop on the technician's end:\n%s", ag.Stderr())
	}
	if eval[bool](t, s.console, `!document.getElementById('screen').hidden`) {
		t.Error("console still shows the video after the end")
	}
	kinds, actors := sessionEvents(t, s.relay)
	if last := len(kinds) - 1; kinds[last] != "ended" || !strings.HasPrefix(actors[last], "technician:") {
		t.Errorf("last event %s by %s, want ended by technician:N", kinds[last], actors[last])
	}
}
