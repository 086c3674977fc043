package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// liveSession brings a session to sharing: ticket, code, Allow, picture.
// The scene's customer has no contract, so control is billable; the desk's
// first-start hourly rate (€85) prices it.
func (s *scene) liveSession(t *testing.T, title string, agentArgs ...string) (*agent, context.Context) {
	t.Helper()
	code := startSession(t, s.console, title)
	ag, customer := s.sharing(t, code, agentArgs...)
	waitJS(t, s.console, "first frame", `Number(document.getElementById('screen').dataset.frames) > 0`, 15*time.Second)
	return ag, customer
}

// sharing starts an agent, enters the code the console's session page
// shows, allows viewing, and waits for the console's data channel.
func (s *scene) sharing(t *testing.T, code string, agentArgs ...string) (*agent, context.Context) {
	t.Helper()
	ag, customer := s.customer(t, agentArgs...)
	enterCode(t, customer, ag.pageURL, code)
	waitPhase(t, customer, "ask")
	run(t, customer, "allow viewing", chromedp.Click(chromedp.CSS(`#allow`)))
	waitPhase(t, customer, "sharing")
	waitJS(t, s.console, "data channel open", `!!window.__meekijkChannel && window.__meekijkChannel.readyState === 'open'`, 15*time.Second)
	return ag, customer
}

// refusedClick sends a raw click at p and fails the test if it reaches the
// screen within 700 ms; when says when input is not allowed.
func refusedClick(t *testing.T, console context.Context, rec *clickRecorder, p image.Point, when string) {
	t.Helper()
	before := len(rec.clicks())
	rawClick(t, console, p)
	time.Sleep(700 * time.Millisecond)
	if c := rec.clicks(); len(c) != before {
		t.Fatalf("input %s reached the screen: %v", when, c[before:])
	}
}

// rawClick sends a click at screen point p straight on the data channel,
// as a hostile or buggy console could, whatever the page shows.
func rawClick(t *testing.T, console context.Context, p image.Point) {
	t.Helper()
	eval[bool](t, console, `(() => {
		const send = (data) => window.__meekijkChannel.send(JSON.stringify({ type: 'pointer', data }));
		const at = { x: `+itoa(p.X)+`, y: `+itoa(p.Y)+`, videoWidth: 1920, videoHeight: 1080 };
		send({ action: 'move', ...at });
		send({ action: 'down', button: 'left', ...at });
		send({ action: 'up', button: 'left', ...at });
		return true;
	})()`)
}

// clickScreen clicks, with Chromium's real mouse, where point p of the
// customer's screen (the test display, screenSize) shows in the console's
// letterboxed picture. The picture is not always at the screen's size (the
// agent sends half size during large motion and right after connecting),
// so p goes through the video's own size.
func clickScreen(t *testing.T, console context.Context, p image.Point) {
	t.Helper()
	at := eval[[]float64](t, console, `(() => {
		const v = document.getElementById('screen');
		v.scrollIntoView({ block: 'center' });
		const r = v.getBoundingClientRect();
		const k = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
		const x = (`+itoa(p.X)+` + 0.5) * v.videoWidth / `+itoa(screenSize.X)+`;
		const y = (`+itoa(p.Y)+` + 0.5) * v.videoHeight / `+itoa(screenSize.Y)+`;
		return [r.left + (r.width - v.videoWidth * k) / 2 + x * k, r.top + (r.height - v.videoHeight * k) / 2 + y * k];
	})()`)
	run(t, console, "click the picture", chromedp.MouseClickXY(at[0], at[1]))
}

func itoa(n int) string { return strconv.Itoa(n) }

// askControl asks for control from the console and lets the customer allow it.
func askControl(t *testing.T, console, customer context.Context) {
	t.Helper()
	const asked = `!document.getElementById('prompt').hidden && document.body.innerText.includes('muis en toetsenbord')`
	run(t, console, "ask for control", chromedp.Click(chromedp.CSS(`#request-control`)))
	confirmCodes(t, console)
	if !becomes(t, customer, asked, 10*time.Second) {
		// Say what the console showed: a refusal is a failure, a click
		// that went astray on a loaded machine is retried once.
		if msg := eval[string](t, console, `document.getElementById('session-error').textContent`); msg != "" {
			t.Fatalf("control question never came; the console says %q", msg)
		}
		t.Logf("control question not there 10 s after the click; clicking again")
		run(t, console, "ask for control again", chromedp.Click(chromedp.CSS(`#request-control`)))
		confirmCodes(t, console)
		waitJS(t, customer, "control question", asked, 10*time.Second)
	}
	run(t, customer, "allow control", chromedp.Click(chromedp.CSS(`#prompt-yes`)))
	waitJS(t, console, "control active", `document.getElementById('control-state').dataset.control === 'on'`, 10*time.Second)
}

// startXterm runs an xterm at +1000+100 whose typed lines go to out.
func startXterm(t *testing.T, display, out string) {
	t.Helper()
	cmd := exec.Command("xterm", "-u8", "-geometry", "60x8+1000+100", "-e", "sh", "-c", "cat > "+out)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start xterm: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(out); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("xterm did not start its shell")
		}
	}
}

func TestRemoteControlIsGrantedAndTakenBack(t *testing.T) {
	s := newScene(t)
	rec := newClickRecorder(t, s.display, image.Rect(100, 100, 700, 500))
	typed := filepath.Join(t.TempDir(), "typed.txt")
	startXterm(t, s.display, typed)
	ag, customer := s.liveSession(t, "Kassa: bon drukt niet af")

	// Viewing only: the agent refuses input, whatever the console sends.
	if eval[string](t, s.console, `document.getElementById('control-state').dataset.control`) != "off" {
		t.Fatal("console claims control before the customer granted it")
	}
	refusedClick(t, s.console, rec, image.Pt(300, 250), "before control consent")

	// While the question is on screen, the technician cannot click it away.
	run(t, s.console, "ask for control", chromedp.Click(chromedp.CSS(`#request-control`)))
	confirmCodes(t, s.console)
	waitJS(t, customer, "control question", `!document.getElementById('prompt').hidden`, 10*time.Second)
	refusedClick(t, s.console, rec, image.Pt(310, 260), "while the question was shown")
	run(t, customer, "allow control", chromedp.Click(chromedp.CSS(`#prompt-yes`)))
	waitJS(t, s.console, "control active", `document.getElementById('control-state').dataset.control === 'on'`, 10*time.Second)
	// The customer's page hears it from the agent, by its own event
	// stream, not in step with the console.
	waitJS(t, customer, "customer page at control", `document.body.dataset.level === 'control'`, 5*time.Second)

	// A real click in the console lands where it shows on the screen.
	clickScreen(t, s.console, image.Pt(300, 250))
	got := rec.waitClicks(t, 1, 5*time.Second)[0]
	if d := got.Sub(image.Pt(300, 250)); d.X < -2 || d.X > 2 || d.Y < -2 || d.Y > 2 {
		t.Errorf("click landed at %v, want (300,250)", got)
	}

	// Typing: accents and symbols arrive as typed, whatever the layout.
	clickScreen(t, s.console, image.Pt(1100, 140)) // focus the xterm
	run(t, s.console, "type", chromedp.KeyEvent("é ç € @ è à ë"), chromedp.KeyEvent(kb.Enter))
	want := "é ç € @ è à ë\n"
	var text []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if text, _ = os.ReadFile(typed); string(text) == want {
			break
		}
	}
	if string(text) != want {
		t.Fatalf("xterm got %q, want %q", text, want)
	}

	// A key held when the customer takes control back is released at once,
	// and input after that does nothing.
	eval[bool](t, s.console, `(window.__meekijkChannel.send(JSON.stringify({ type: 'key', data: { action: 'down', code: 'ShiftLeft', key: 'Shift', shift: true } })), true)`)
	waitUntil(t, "Shift held on the X server", 5*time.Second, func() bool { return len(keysDown(t, s.display)) > 0 })
	run(t, customer, "stop control", chromedp.Click(chromedp.CSS(`#stop-control`)))
	waitUntil(t, "every key released", 5*time.Second, func() bool { return len(keysDown(t, s.display)) == 0 })
	waitJS(t, s.console, "control off", `document.getElementById('control-state').dataset.control === 'off' && document.getElementById('level').dataset.level === 'view'`, 5*time.Second)
	refusedClick(t, s.console, rec, image.Pt(400, 300), "after revocation")

	kinds, _ := sessionEvents(t, s.relay)
	for _, k := range []string{"consent_asked", "consent_granted", "consent_revoked"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("no %s event in %v", k, kinds)
		}
	}
	_ = ag
}

func TestDataInterventionNeedsAcceptance(t *testing.T) {
	s := newScene(t)
	_, customer := s.liveSession(t, "Dubbel geboekte facturen")
	askControl(t, s.console, customer)

	ask := func() {
		run(t, s.console, "open the intervention form", chromedp.Click(chromedp.CSS(`#request-intervention`)))
		chooseOption(t, s.console, `#intervention-form select[name=category]`, "Databasescript")
		eval[bool](t, s.console, `(document.querySelector('#intervention-form textarea').value = 'Dubbele facturen van 3 maart wissen', true)`)
		run(t, s.console, "ask", chromedp.Click(chromedp.CSS(`#intervention-form button[type=submit]`)))
		waitJS(t, customer, "intervention question", `!document.getElementById('prompt').hidden && document.querySelectorAll('#prompt-statements input').length === 5`, 10*time.Second)
	}
	acceptances := func() int {
		var n int
		if err := s.relay.db(t).QueryRow(`SELECT count(*) FROM intervention_acceptances`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Declined: no record of acceptance, the session stays at control.
	ask()
	if eval[bool](t, customer, `!document.getElementById('prompt-yes').disabled`) {
		t.Error("Accept is enabled before the statements are confirmed and the name typed")
	}
	run(t, customer, "decline", chromedp.Click(chromedp.CSS(`#prompt-no`)))
	waitJS(t, s.console, "denial shown", `document.getElementById('session-notice').textContent !== ''`, 5*time.Second)
	if lvl := eval[string](t, s.console, `document.getElementById('level').dataset.level`); lvl != "control" {
		t.Fatalf("after a refusal the console shows level %q", lvl)
	}
	if n := acceptances(); n != 0 {
		t.Fatalf("%d acceptances stored after a refusal", n)
	}

	// Accepted statement by statement and signed.
	ask()
	for i := range 5 {
		run(t, customer, "confirm a statement", chromedp.Click(chromedp.CSS(`#statement-`+itoa(i))))
	}
	run(t, customer, "sign", chromedp.SendKeys(chromedp.CSS(`#prompt-name`), "Marie Peeters"))
	shown := eval[string](t, customer, `document.getElementById('prompt').innerText`)
	run(t, customer, "accept", chromedp.Click(chromedp.CSS(`#prompt-yes`)))
	waitJS(t, s.console, "intervention level", `document.getElementById('level').dataset.level === 'data_intervention'`, 10*time.Second)

	var text, sum, name, answers string
	if err := s.relay.db(t).QueryRow(`SELECT text, text_sha256, typed_name, answers FROM intervention_acceptances`).Scan(&text, &sum, &name, &answers); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(text))
	if sum != hex.EncodeToString(h[:]) || name != "Marie Peeters" || strings.Count(answers, `"confirmed":true`) != 5 {
		t.Errorf("stored acceptance: sha %s of %q, name %q, answers %s", sum, text, name, answers)
	}
	// The stored text is the text the customer read.
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimLeft(line, "0123456789. "))
		if line != "" && !strings.Contains(shown, line) {
			t.Errorf("stored line %q was not on the customer's screen:\n%s", line, shown)
		}
	}
	if !strings.Contains(text, "Databasescript") || !strings.Contains(text, "Dubbele facturen van 3 maart wissen") {
		t.Errorf("stored text lacks the work asked for: %q", text)
	}
}

func TestFilesAndChat(t *testing.T) {
	s := newScene(t)
	folder := t.TempDir()
	_, customer := s.liveSession(t, "Update van het kassaprogramma", "-files-dir", folder, "-max-file-mb", "64")

	// Chat both ways, stored with the session.
	run(t, s.console, "chat", chromedp.SendKeys(chromedp.CSS(`#chat-input`), "Ik stuur u de update."),
		chromedp.Click(chromedp.CSS(`#chat-form button[type=submit]`)))
	waitJS(t, customer, "chat at the customer", `document.getElementById('chat-log').innerText.includes('Ik stuur u de update.')`, 5*time.Second)
	run(t, customer, "reply", chromedp.SendKeys(chromedp.CSS(`#chat-input`), "Merci, ça marche"),
		chromedp.Click(chromedp.CSS(`#chat-form button[type=submit]`)))
	waitJS(t, s.console, "chat at the console", `document.getElementById('chat-log').innerText.includes('Merci, ça marche')`, 5*time.Second)

	// Clipboard both ways, once control is granted.
	askControl(t, s.console, customer)
	run(t, s.console, "send clipboard", chromedp.SendKeys(chromedp.CSS(`#clipboard-text`), "BE0123.456.789"),
		chromedp.Click(chromedp.CSS(`#clipboard-send`)))
	waitUntil(t, "the customer's clipboard", 5*time.Second, func() bool {
		out, _ := xclip(t, s.display, "-o", "-selection", "clipboard").Output()
		return string(out) == "BE0123.456.789"
	})
	waitJS(t, customer, "the page says the clipboard was written", `document.getElementById('clipboard-line').textContent.includes('klembord gezet (14 tekens)')`, 5*time.Second)
	owner := xclip(t, s.display, "-i", "-selection", "clipboard", "-loops", "1")
	owner.Stdin = strings.NewReader("Référence € 42")
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = owner.Process.Kill(); _ = owner.Wait() })
	time.Sleep(300 * time.Millisecond) // until xclip owns the selection
	run(t, s.console, "fetch clipboard", chromedp.Click(chromedp.CSS(`#clipboard-get`)))
	waitJS(t, s.console, "customer's clipboard in the console", `document.getElementById('clipboard-text').value === 'Référence € 42'`, 5*time.Second)
	// The customer is told their clipboard was read, and the session's
	// record holds both uses (never the text).
	waitJS(t, customer, "the page says the clipboard was read", `document.getElementById('clipboard-line').textContent.includes('klembord gelezen (14 tekens)')`, 5*time.Second)
	waitUntil(t, "clipboard events recorded", 5*time.Second, func() bool {
		kinds, _ := sessionEvents(t, s.relay)
		return strings.Count(strings.Join(kinds, " "), "clipboard") == 2
	})

	// A file the customer chooses reaches the technician.
	mine := filepath.Join(t.TempDir(), "foutmelding.txt")
	os.WriteFile(mine, []byte("Fout 1234: printer offline"), 0o644)
	run(t, customer, "send a file", chromedp.SetUploadFiles(chromedp.CSS(`#send-file`), []string{mine}))
	waitJS(t, s.console, "file from the customer", `[...document.querySelectorAll('#file-list li[data-state=done] a')].some(a => a.download === 'foutmelding.txt')`, 15*time.Second)
	// "done" means the console checked the bytes against the SHA-256 the
	// agent computed from the customer's file (the console's CSP keeps
	// even its own blob: URLs from being fetched back here).
	waitJS(t, customer, "sent on the customer's page", `document.querySelector('#transfers li[data-state=done]') !== null`, 5*time.Second)

	// A 20 MB file, accepted into the customer's folder, byte-identical.
	big := make([]byte, 20<<20)
	rand.Read(big)
	src := filepath.Join(t.TempDir(), "kassa-update.bin")
	if err := os.WriteFile(src, big, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, s.console, "choose the file", chromedp.SetUploadFiles(chromedp.CSS(`#file-input`), []string{src}),
		chromedp.Click(chromedp.CSS(`#file-send`)))
	waitJS(t, customer, "file question", `!document.getElementById('prompt').hidden && !document.getElementById('prompt-folder-label').hidden`, 20*time.Second)
	run(t, customer, "save the file", chromedp.Click(chromedp.CSS(`#prompt-yes`)))
	bigLine := `[...document.querySelectorAll('#file-list li')].find(li => li.textContent.includes('kassa-update.bin'))`
	waitJS(t, s.console, "file delivered", bigLine+`?.dataset.state === 'done'`, 90*time.Second)
	received, err := os.ReadFile(filepath.Join(folder, "kassa-update.bin"))
	if err != nil || !bytes.Equal(received, big) {
		t.Fatalf("received file: %d bytes, %v; identical: %v", len(received), err, bytes.Equal(received, big))
	}
	if n := eval[int](t, s.console, `Number(`+bigLine+`.dataset.updates)`); n < 4 {
		t.Errorf("console showed %d progress steps for 20 MB, want several", n)
	}

	// A declined file never touches the disk.
	small := filepath.Join(t.TempDir(), "geheim.txt")
	os.WriteFile(small, []byte("niet voor u"), 0o644)
	run(t, s.console, "offer another", chromedp.SetUploadFiles(chromedp.CSS(`#file-input`), []string{small}),
		chromedp.Click(chromedp.CSS(`#file-send`)))
	waitJS(t, customer, "second file question", `!document.getElementById('prompt').hidden && document.body.innerText.includes('geheim.txt')`, 20*time.Second)
	run(t, customer, "decline it", chromedp.Click(chromedp.CSS(`#prompt-no`)))
	waitJS(t, s.console, "declined", `document.querySelector('#file-list li[data-state=declined]') !== null`, 10*time.Second)
	if entries, _ := os.ReadDir(folder); len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the accepted file", len(entries))
	}

	kinds, _ := sessionEvents(t, s.relay)
	for _, k := range []string{"chat", "file"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("no %s event in %v", k, kinds)
		}
	}
}

func TestUnansweredReconfirmationStopsSharing(t *testing.T) {
	s := newScene(t)
	apiCall(t, s.console, "PUT", "/settings/consent", map[string]int{"reconfirmSeconds": 5, "reconfirmAnswerSeconds": 5}, 200)
	_, customer := s.liveSession(t, "Lange sessie")
	question := `!document.getElementById('prompt').hidden && document.body.innerText.includes('blijven delen')`
	// Answered once, the session goes on; the technician is told.
	waitJS(t, customer, "keep-sharing question", question, 15*time.Second)
	waitJS(t, s.console, "console told", `document.getElementById('session-notice').textContent !== ''`, 5*time.Second)
	run(t, customer, "keep sharing", chromedp.Click(chromedp.CSS(`#prompt-yes`)))
	// Unanswered, it stops the sharing.
	waitJS(t, customer, "keep-sharing question again", question, 15*time.Second)
	waitPhase(t, customer, "ended")
	waitConsoleStatus(t, s.console, "ended", 5*time.Second)
	kinds, _ := sessionEvents(t, s.relay)
	for _, k := range []string{"reconfirm_asked", "reconfirmed", "reconfirm_timeout"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("no %s event in %v", k, kinds)
		}
	}
}

// xclip prepares xclip on the test's display.
func xclip(t *testing.T, display string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("xclip", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	return cmd
}

// waitUntil polls cond.
func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out after %v waiting for %s", within, what)
}
