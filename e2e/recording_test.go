package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jezek/xgb/xproto"
)

// recordedSession brings a session to sharing with the desk asking to
// record, and answers the recording question on the customer's page.
func (s *scene) recordedSession(t *testing.T, title string, allow bool) (*agent, context.Context, int64) {
	t.Helper()
	apiCall(t, s.console, "PUT", "/settings/recording", map[string]any{"mode": "ask", "retentionDays": 30}, 200)
	ag, customer := s.liveSession(t, title)
	waitJS(t, customer, "recording question", `!document.getElementById('prompt').hidden &&
		document.getElementById('prompt-lines').textContent.includes('opgenomen')`, 15*time.Second)
	shot(t, customer, "recording-question")
	button := `#prompt-no`
	if allow {
		button = `#prompt-yes`
	}
	run(t, customer, "answer the recording question", chromedp.Click(chromedp.CSS(button)))
	var id int64
	if err := s.relay.db(t).QueryRow(`SELECT max(id) FROM remote_sessions`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return ag, customer, id
}

// moveWindows keeps moving a window across the screen until ctx ends:
// recording copies frames only while the screen changes. The window is
// mapped here; the goroutine only moves it, and stops when ctx ends.
func moveWindows(t *testing.T, ctx context.Context, display string) <-chan struct{} {
	t.Helper()
	x, wid := mapWindowID(t, display, image.Rect(100, 200, 400, 500), 0x3060c0, 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer x.Close()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			_ = xproto.ConfigureWindowChecked(x, wid, xproto.ConfigWindowX, []uint32{uint32(100 + (i*53)%1400)}).Check()
		}
	}()
	return done
}

// chunksStored counts the recording's chunks in the relay's database.
func chunksStored(t *testing.T, r *relay, session int64) int {
	t.Helper()
	var n int
	if err := r.db(t).QueryRow(`SELECT coalesce(max(chunks), 0) FROM recordings WHERE session_id = ?`, session).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitSealed waits for the relay to seal the session's recording.
func waitSealed(t *testing.T, r *relay, session int64) {
	t.Helper()
	waitUntil(t, "recording sealed", 20*time.Second, func() bool {
		var sealed bool
		_ = r.db(t).QueryRow(`SELECT sealed_at IS NOT NULL FROM recordings WHERE session_id = ?`, session).Scan(&sealed)
		return sealed
	})
}

// playRecording opens the recording page and checks, in the page, that the
// stored file decodes: frames are painted while it plays, and a seek lands
// where asked and paints again. It returns the time the file played up to.
func playRecording(t *testing.T, tab context.Context, r *relay, session int64, seekTo float64) float64 {
	t.Helper()
	run(t, tab, "open the recording", chromedp.Navigate(fmt.Sprintf("%s/#/recordings/%d", r.url, session)),
		chromedp.WaitVisible(chromedp.CSS(`#recording-video`)))
	res := evalAsync[map[string]float64](t, tab, `(async () => {
		const v = document.getElementById('recording-video');
		let frames = 0;
		const count = () => { frames++; v.requestVideoFrameCallback(count); };
		v.requestVideoFrameCallback(count);
		if (v.readyState < 2) await new Promise((ok, bad) => { v.onloadeddata = ok; v.onerror = () => bad(new Error('media error ' + (v.error && v.error.code))); });
		await v.play();
		const t0 = performance.now();
		while ((v.currentTime < 1 || frames < 5) && performance.now() - t0 < 8000) await new Promise(r => setTimeout(r, 50));
		const played = v.currentTime, playedFrames = frames;
		v.pause();
		v.currentTime = `+fmt.Sprint(seekTo)+`;
		await new Promise(r => { v.onseeked = r; setTimeout(r, 8000); });
		const seeked = v.currentTime, before = frames;
		await v.play();
		const t1 = performance.now();
		while (frames < before + 2 && !v.ended && performance.now() - t1 < 8000) await new Promise(r => setTimeout(r, 50));
		v.pause();
		return { played, playedFrames, seeked, after: frames - before, width: v.videoWidth };
	})()`)
	t.Logf("playback: %v", res)
	if res["played"] < 1 || res["playedFrames"] < 5 || res["width"] != 1920 {
		t.Fatalf("the recording did not play in the console: %v", res)
	}
	if got := res["seeked"]; got < seekTo-0.2 || got > seekTo+0.2 {
		t.Fatalf("seek to %.1f s landed at %.2f s", seekTo, got)
	}
	return res["seeked"]
}

// TestRecordingPlaysAndIsSealed: the customer agrees to be recorded; the
// agent's chunks reach the relay as the session runs, each with its hash in
// the audit chain; the console plays the stored file and seeks in it; only
// admins and the session's technician may; one changed byte is named by
// the evidence verifier and by relay audit verify.
func TestRecordingPlaysAndIsSealed(t *testing.T) {
	s := newScene(t)
	_, customer, id := s.recordedSession(t, "Opname van de kassa", true)
	waitJS(t, customer, "page says recording", `!document.getElementById('recording-line').hidden`, 10*time.Second)
	waitJS(t, s.console, "console says recording", `document.getElementById('recording-state').dataset.state === 'on'`, 10*time.Second)
	shot(t, customer, "recording-customer-page")

	ctx, stop := context.WithCancel(context.Background())
	moved := moveWindows(t, ctx, s.display)
	waitUntil(t, "three chunks stored", 30*time.Second, func() bool { return chunksStored(t, s.relay, id) >= 3 })
	stop()
	<-moved
	run(t, s.console, "end the session", chromedp.Click(chromedp.CSS(`#end-session`)))
	waitSealed(t, s.relay, id)

	playRecording(t, s.console, s.relay, id, 6)
	waitJS(t, s.console, "timeline beside the video", `document.querySelector('#recording-timeline li[data-event="session.recording_granted"]') !== null`, 5*time.Second)
	shot(t, s.console, "recording-playback")

	// Least privilege: another technician learns nothing of it.
	var other struct {
		Password string `json:"password"`
	}
	json.Unmarshal(apiCall(t, s.console, "POST", "/users", map[string]string{"email": "piet@example.com", "name": "Piet Janssens", "role": "technician", "lang": "nl"}, 201), &other)
	piet := loginAPI(t, s.relay.url, "piet@example.com", other.Password)
	for _, p := range []string{"", "/file"} {
		if st := piet.do(t, "GET", fmt.Sprintf("/api/v1/sessions/%d/recording%s", id, p), nil, nil); st != 404 && st != 403 {
			t.Fatalf("another technician GET recording%s: %d, want 404", p, st)
		}
	}

	// The evidence pack and the downloaded file check; one byte changed
	// in the stored file is named, by the verifier and by the relay.
	dir := t.TempDir()
	pack := filepath.Join(dir, "pack.json")
	video := filepath.Join(dir, "session.mkv")
	if err := os.WriteFile(pack, apiCall(t, s.console, "GET", fmt.Sprintf("/audit/sessions/%d/evidence", id), nil, 200), 0o600); err != nil {
		t.Fatal(err)
	}
	stored := filepath.Join(s.relay.dataDir, "recordings", fmt.Sprintf("%d.mkv", id))
	b, err := os.ReadFile(stored)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(video, b, 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func() (string, error) {
		out, err := exec.Command("python3", "../docs/verify_evidence.py", pack, "--recording", video).CombinedOutput()
		return string(out), err
	}
	if out, err := verify(); err != nil || !strings.Contains(out, "matches") {
		t.Fatalf("verify_evidence.py on the intact recording: %v\n%s", err, out)
	}
	if out, err := relayCmd(t, "audit", "verify", "-data", s.relay.dataDir); err != nil || !strings.Contains(out, "recordings ok") {
		t.Fatalf("relay audit verify before tampering: %v\n%s", err, out)
	}
	b[len(b)/2] ^= 0x01
	for _, f := range []string{video, stored} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := verify(); err == nil || !strings.Contains(out, "does NOT match") {
		t.Fatalf("verify_evidence.py on a changed recording: %v\n%s", err, out)
	} else {
		t.Logf("verifier: %s", strings.TrimSpace(out))
	}
	out, err := relayCmd(t, "audit", "verify", "-data", s.relay.dataDir)
	if err == nil || !strings.Contains(out, fmt.Sprintf("recording of session %d: chunk", id)) {
		t.Fatalf("relay audit verify on a changed recording: %v\n%s", err, out)
	}
	t.Logf("relay audit verify: %s", strings.TrimSpace(out))
}

// TestRecordingSurvivesAgentKill: kill -9 of the agent mid-recording leaves
// a file that plays up to its last stored chunk.
func TestRecordingSurvivesAgentKill(t *testing.T) {
	s := newScene(t)
	ag, _, id := s.recordedSession(t, "Opname en crash", true)
	ctx, stop := context.WithCancel(context.Background())
	moved := moveWindows(t, ctx, s.display)
	waitUntil(t, "three chunks stored", 30*time.Second, func() bool { return chunksStored(t, s.relay, id) >= 3 })
	if err := ag.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	stop()
	<-moved
	kept := chunksStored(t, s.relay, id)
	run(t, s.console, "end the session", chromedp.Click(chromedp.CSS(`#end-session`)))
	waitSealed(t, s.relay, id)
	if n := chunksStored(t, s.relay, id); n != kept {
		t.Fatalf("chunks after the kill: %d, then %d", kept, n)
	}
	// Chunk 0 is the header; each later one holds about 4 s of video.
	playRecording(t, s.console, s.relay, id, float64(kept-2)*4)
}

// TestRefusingRecordingStillShares: a customer who says no to the
// recording goes on sharing; nothing is stored.
func TestRefusingRecordingStillShares(t *testing.T) {
	s := newScene(t)
	_, customer, id := s.recordedSession(t, "Geen opname", false)
	waitJS(t, s.console, "console says refused", `document.getElementById('recording-state').dataset.state === 'refused'`, 10*time.Second)
	before := videoFrames(t, s.console)
	ctx, stop := context.WithCancel(context.Background())
	moved := moveWindows(t, ctx, s.display)
	waitUntil(t, "frames still arriving", 15*time.Second, func() bool { return videoFrames(t, s.console) > before+10 })
	stop()
	<-moved
	if phase := eval[string](t, customer, `document.body.dataset.phase`); phase != "sharing" {
		t.Fatalf("customer page phase %q after refusing, want sharing", phase)
	}
	if !eval[bool](t, customer, `document.getElementById('recording-line').hidden`) {
		t.Fatal("the page says recording after the customer refused")
	}
	var rows int
	if err := s.relay.db(t).QueryRow(`SELECT count(*) FROM recordings WHERE session_id = ?`, id).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("recordings rows %d (%v), want none", rows, err)
	}
	kinds, _ := sessionEvents(t, s.relay)
	if !strings.Contains(strings.Join(kinds, " "), "recording_refused") {
		t.Fatalf("no recording_refused event: %v", kinds)
	}
	shot(t, s.console, "recording-refused-session")
	// The admin's setting, as saved by recordedSession.
	run(t, s.console, "open the rates page", chromedp.Navigate(s.relay.url+"/#/rates"), chromedp.WaitVisible(chromedp.CSS(`#recording-settings`)))
	if mode := eval[string](t, s.console, `document.querySelector('#recording-settings select[name=mode]').value`); mode != "ask" {
		t.Fatalf("recording mode on the admin page %q, want ask", mode)
	}
	shot(t, s.console, "recording-settings")
}
