package e2e

import (
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meekijk/meekijk/internal/testrig"
	"github.com/meekijk/meekijk/internal/winetest"
)

// The Windows agent under Wine: one agent.exe, one bcryptprimitives shim
// and one Wine prefix per `go test` run, made by the first test that needs
// them (wineSetup), so a second Wine test (the indicator's) pays for none
// of it again.
var wine struct {
	once sync.Once
	err  error // why Wine tests cannot run here
	*winetest.Wine
	rec string // recorder.exe (testdata/wine/recorder.c)
}

// wineSetup cross-builds agent.exe as make agent-windows does (without
// -H windowsgui, so its stdout reaches the test), builds the recorder and
// prepares the prefix. It skips the test when wine or mingw is missing,
// and fails it when they are there but something breaks.
func wineSetup(t *testing.T) {
	t.Helper()
	wine.once.Do(func() {
		wine.Wine, wine.err = winetest.Prepare("..", "-X main.version="+testVersion+" -s -w")
		if wine.err == nil {
			wine.rec, wine.err = wine.BuildC(filepath.Join("testdata", "wine", "recorder.c"), "recorder.exe", "-municode", "-lgdi32")
		}
	})
	if errors.Is(wine.err, winetest.ErrMissing) {
		t.Skipf("the Windows agent cannot be tested here: %v", wine.err)
	}
	if wine.err != nil {
		t.Fatal(wine.err)
	}
}

// wineCleanup removes the shared prefix and build; TestMain calls it.
func wineCleanup() {
	if wine.Wine != nil {
		wine.Close()
	}
}

// wineEnv is the prefix's environment for a program on display.
func wineEnv(display string) []string { return wine.Env(display) }

// startWineAgent starts agent.exe under Wine on display against the
// relay and returns it with its page's address once it printed it, and
// how long that took. Other tests (the sharing indicator's) call it too.
func startWineAgent(t *testing.T, relayURL, display string, args ...string) (*agent, time.Duration) {
	t.Helper()
	wineSetup(t)
	argv := append([]string{wine.Exe, "-relay", relayURL, "-no-browser", "-ice-allow", "127.0.0.0/8", "-lang", "nl"}, args...)
	began := time.Now()
	p, err := testrig.Start(t, wineEnv(display), "wine", argv...)
	if err != nil {
		t.Fatal(err)
	}
	line, err := p.Line("Open this page to continue: ", 60*time.Second)
	if err != nil {
		t.Fatalf("agent.exe under Wine: %v\nstderr: %s", err, p.Stderr())
	}
	return &agent{Proc: p, pageURL: strings.TrimSpace(line)}, time.Since(began)
}

// TestWindowsAgentUnderWine runs the real agent.exe under Wine on an Xvfb
// display against the real relay, with the console in Chromium: the code
// is entered on the agent's page, Allow is clicked, frames arrive, and
// the GDI fallback was chosen (Wine refuses desktop duplication), logged
// and shown in the console.
func TestWindowsAgentUnderWine(t *testing.T) {
	wineSetup(t)
	// Go's net package cannot open a UDP socket under Wine 8 (WSAIoctl
	// SIO_UDP_NETRESET is not implemented: WSAEOPNOTSUPP, pion's "Failed to
	// listen udp 127.0.0.1"), so agent.exe reaches the browser the way a
	// customer behind a UDP-blocking firewall does: through the relay's
	// TURN server over TCP.
	s := newScene(t, "-turn-udp", "127.0.0.1:0", "-turn-tcp", "127.0.0.1:0", "-turn-public-ip", "127.0.0.1",
		"-turn-allow", "127.0.0.0/8", "-relay-only")
	console := s.console
	colouredWindow(t, s.display, windowRect, windowRGB)
	// Control is billable here: the desk needs a rate first (liveSession).
	apiCall(t, console, "POST", "/rates/default", map[string]any{"centsPerHour": 8500, "effectiveFrom": "2020-01-01"}, 200)
	code := startSession(t, console, "Kassa onder Windows")
	recFile := startRecorder(t, s.display)
	// Received files go to a folder of the test's, as Wine sees it (Z: is
	// the Unix root); without -files-dir it would be the prefix's
	// Downloads, which Wine links to the tester's own ~/Downloads.
	folder := t.TempDir()
	ag, took := startWineAgent(t, s.relay.url, s.display, "-files-dir", "Z:"+filepath.ToSlash(folder))
	t.Logf("agent.exe start to page address under Wine: %v", took.Round(time.Millisecond))
	// A second agent.exe while one runs says so and ends (named mutex).
	second, err := testrig.Start(t, wineEnv(s.display), "wine", wine.Exe, "-relay", s.relay.url, "-no-browser", "-lang", "nl")
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Exited(30 * time.Second); err != nil || second.Err() == nil || !strings.Contains(second.Stderr(), "Meekijk draait al op deze computer") {
		t.Errorf("second agent.exe: %v, exit %v, stderr %q; want it to end with an error saying Meekijk already runs", err, second.Err(), second.Stderr())
	}
	customer := newTab(t, s.browser)
	enterCode(t, customer, ag.pageURL, code)
	waitPhase(t, customer, "ask")
	run(t, customer, "allow", chromedp.Click(chromedp.CSS(`#allow`)))
	waitPhase(t, customer, "sharing")
	waitConsoleStatus(t, console, "live", 10*time.Second)
	waitJS(t, console, "first frame", `Number(document.getElementById('screen').dataset.frames) > 0`, 30*time.Second)
	waitJS(t, console, "data channel open", `window.__meekijkChannel && window.__meekijkChannel.readyState === 'open'`, 10*time.Second)
	waitJS(t, console, "capture method shown", `document.getElementById('capture-method').dataset.method === 'gdi'`, 10*time.Second)
	if line := eval[string](t, console, `document.getElementById('capture-method').textContent`); !strings.Contains(line, "GDI") {
		t.Errorf("console capture line %q does not name GDI", line)
	}
	if !eval[bool](t, console, `document.getElementById('secure-desktop').hidden`) {
		t.Error("console says the secure desktop is shown; Wine has none")
	}
	if log := ag.Stderr(); !strings.Contains(log, "desktop duplication refused; using GDI") || !strings.Contains(log, "method=gdi") {
		t.Errorf("agent.exe did not log the GDI fallback:\n%s", log)
	}

	// Control: a click and text typed in the console reach an ordinary
	// Windows program exactly (SendInput; text as Unicode key events).
	askControl(t, console, customer)
	clickScreen(t, console, image.Pt(300, 250))
	recorded := waitRecorded(t, recFile, func(l []string) bool {
		return slices.ContainsFunc(l, func(s string) bool { return strings.HasPrefix(s, "click ") })
	})
	var x, y int
	for _, l := range recorded {
		if _, err := fmt.Sscanf(l, "click %d %d", &x, &y); err == nil {
			break
		}
	}
	if d := image.Pt(x, y).Sub(image.Pt(300, 250)); d.X < -2 || d.X > 2 || d.Y < -2 || d.Y > 2 {
		t.Errorf("click landed at (%d,%d), want (300,250)", x, y)
	}
	const text = "Dag Geneviève, 12 € @ ç"
	run(t, console, "type", chromedp.KeyEvent(text))
	typed := func(l []string) string {
		var b strings.Builder
		for _, s := range l {
			if c, ok := strings.CutPrefix(s, "char "); ok {
				b.WriteString(c)
			}
		}
		return b.String()
	}
	if got := typed(waitRecorded(t, recFile, func(l []string) bool { return typed(l) == text })); got != text {
		t.Errorf("the Windows program received %q, want %q", got, text)
	}

	// The Windows clipboard (CF_UNICODETEXT), there and back.
	const clip = "Factuur 2026-001 — €12,50"
	eval[bool](t, console, `(document.getElementById('clipboard-text').value = `+jsString(clip)+`, true)`)
	run(t, console, "send the clipboard", chromedp.Click(chromedp.CSS(`#clipboard-send`)))
	time.Sleep(time.Second)
	eval[bool](t, console, `(document.getElementById('clipboard-text').value = '', true)`)
	run(t, console, "read the clipboard", chromedp.Click(chromedp.CSS(`#clipboard-get`)))
	waitJS(t, console, "clipboard back from Windows", `document.getElementById('clipboard-text').value === `+jsString(clip), 10*time.Second)

	// Files both ways. A name Windows reserves for a device (CON) would
	// write to the console device instead of a file: it is saved as _CON.
	src := filepath.Join(t.TempDir(), "CON.txt")
	if err := os.WriteFile(src, []byte("kassa-instellingen"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, console, "send a file", chromedp.SetUploadFiles(chromedp.CSS(`#file-input`), []string{src}),
		chromedp.Click(chromedp.CSS(`#file-send`)))
	waitJS(t, customer, "file question", `!document.getElementById('prompt').hidden && !document.getElementById('prompt-folder-label').hidden`, 20*time.Second)
	run(t, customer, "save the file", chromedp.Click(chromedp.CSS(`#prompt-yes`)))
	waitJS(t, console, "file delivered", `document.querySelector('#file-list li[data-state=done]') !== null`, 30*time.Second)
	if got, err := os.ReadFile(filepath.Join(folder, "_CON.txt")); err != nil || string(got) != "kassa-instellingen" {
		t.Errorf("received file _CON.txt: %q, %v", got, err)
	}
	mine := filepath.Join(t.TempDir(), "foutmelding.txt")
	if err := os.WriteFile(mine, []byte("Fout 1234: printer offline"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, customer, "send a file", chromedp.SetUploadFiles(chromedp.CSS(`#send-file`), []string{mine}))
	waitJS(t, console, "file from the customer", `[...document.querySelectorAll('#file-list li[data-state=done] a')].some(a => a.download === 'foutmelding.txt')`, 30*time.Second)

	// The sharing indicator: a window of its own on the customer's
	// desktop while the screen is shared, whose Stop ends the session
	// without the page.
	id := waitIndicator(t, s.display, true, 15*time.Second)
	clickIndicatorStop(t, s.display, id)
	waitConsoleStatus(t, console, "ended", 10*time.Second)
	waitIndicator(t, s.display, false, 10*time.Second)
}

// startRecorder runs recorder.exe under Wine on display, recording into a
// new file whose name it returns, and waits for its window.
func startRecorder(t *testing.T, display string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "recorded.txt")
	p, err := testrig.Start(t, wineEnv(display), "wine", wine.rec, out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Line("ready", 60*time.Second); err != nil {
		t.Fatalf("recorder.exe: %v\n%s", err, p.Stderr())
	}
	return out
}

// waitRecorded waits up to 10 s for the recorder's lines to satisfy done,
// and returns them.
func waitRecorded(t *testing.T, file string, done func([]string) bool) []string {
	t.Helper()
	var lines []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		data, _ := os.ReadFile(file)
		lines = strings.Split(strings.TrimSpace(string(data)), "\n")
		if done(lines) {
			break
		}
	}
	return lines
}
