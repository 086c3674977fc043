//go:build bench

package bench

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestMotionPhases' own flags: which workloads it measures, and whether it
// measures input latency too.
var (
	motionWorkloads = flag.String("workloads", "scrolling text|moving a window", "TestMotionPhases: a regular expression for the workloads it measures")
	motionInput     = flag.Bool("input", false, "TestMotionPhases: measure input latency after the workloads")
)

// TestMotionPhases measures only the workloads -workloads names (by
// default the two where large areas move: scrolling text, moving a
// window), quiet and with the busy-CPU load, in one Meekijk session: the
// quick A/B check of a pipeline change, run against the old code in the
// same minutes (bench/pipeline.md). It judges nothing; its figures are
// logged.
func TestMotionPhases(t *testing.T) {
	pick, err := regexp.Compile(*motionWorkloads)
	if err != nil {
		t.Fatalf("-workloads: %v", err)
	}
	s, err := newStage(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, c := range conditions {
		var busy *Busy
		s.pinCore = -1
		if c.busy {
			if busy, err = StartBusy(BusyCore()); err != nil {
				t.Fatal(err)
			}
			s.pinCore = busy.Core
		}
		m, allow, _, err := s.startSession()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: Allow to first frame %v", c.name, allow.Round(time.Millisecond))
		if !c.busy {
			s.checkVideoFollows(ctx, t)
		}
		for _, w := range workloads() {
			if !pick.MatchString(w.name) {
				continue
			}
			r := s.measure(ctx, w, m)
			if r.err != nil {
				t.Error(r.err)
			}
			t.Logf("%s, %s: %.1f frames/s, %.1f kB/s, agent CPU %.0f %%, p50 %.1f ms, p95 %.1f ms, decode %.1f ms/frame, load %.1f",
				c.name, w.name, r.fps(), r.bytesPerSec()/1000, r.cpu, p50ms(r), p95ms(r), r.view.decodeMs, r.load)
			if st := r.stages.String(); st != "" {
				t.Logf("%s, %s: %s", c.name, w.name, st)
			}
		}
		if *motionInput {
			in, stages, note := s.inputLatency(ctx, m)
			t.Logf("%s: input latency %s %s; %s", c.name, in, note, stages)
		}
		sh := s.sharpness(ctx, "Meekijk", m.console, consoleVideo)
		if sh.err != nil {
			t.Error(sh.err)
		} else {
			t.Logf("%s: still text PSNR %s", c.name, sharpSeries(sh))
		}
		if err := m.stop(); err != nil {
			t.Error(err)
		}
		if busy != nil {
			busy.Stop()
		}
	}
}

// checkVideoFollows scrolls a terminal and lets it rest, checking that
// the console's video follows the stream's size (half while the text
// moves, the screen's at rest) in a layout box that stays put, and that
// no picture it presents across the switch back is dark (a decoder reset
// showing an empty picture); with MEEKIJK_SCREENSHOTS=dir it saves the
// console in both states.
func (s *stage) checkVideoFollows(ctx context.Context, t *testing.T) {
	size := func(state string) {
		got, err := js[[]int](s.console, `(() => { const v = document.getElementById('screen'); return [v.videoWidth, v.videoHeight, v.clientWidth, v.clientHeight]; })()`)
		if err != nil {
			t.Error(err)
			return
		}
		t.Logf("console video %s: %dx%d picture in a %dx%d box", state, got[0], got[1], got[2], got[3])
		if dir := os.Getenv("MEEKIJK_SCREENSHOTS"); dir != "" {
			png, err := chromedp.Run(s.console, chromedp.FullScreenshot(100))
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, "console-video-"+state+".png"), png, 0o644)
			}
			if err != nil {
				t.Error(err)
			}
		}
	}
	path, err := longText(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	term, _, err := s.xterm(ctx, "less", "-S", path)
	if err != nil {
		t.Fatal(err)
	}
	defer kill(term)
	time.Sleep(time.Second)
	// Every picture presented from here on, by its mean luma.
	if _, err := js[bool](s.console, `(() => {
		const v = document.getElementById('screen'), c = document.createElement('canvas');
		c.width = 64; c.height = 36;
		const g = c.getContext('2d', { willReadFrequently: true });
		const seen = window.__benchLuma = [];
		const f = (_, meta) => {
			g.drawImage(v, 0, 0, 64, 36);
			const d = g.getImageData(0, 0, 64, 36).data;
			let sum = 0;
			for (let i = 0; i < d.length; i += 4) sum += (299 * d[i] + 587 * d[i + 1] + 114 * d[i + 2]) / 1000;
			seen.push([meta.width, Math.round(sum / (64 * 36))]);
			if (seen.length < 600) v.requestVideoFrameCallback(f);
		};
		v.requestVideoFrameCallback(f);
		return true;
	})()`); err != nil {
		t.Fatal(err)
	}
	keys := []string{"key", "--delay", "33"}
	for range 60 {
		keys = append(keys, "Down")
	}
	drive := s.drive(ctx, keys...)
	time.Sleep(time.Second)
	size("moving")
	_ = drive.Wait()
	time.Sleep(1500 * time.Millisecond)
	size("still")
	frames, err := js[[][2]int](s.console, `window.__benchLuma`)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi, widths := 255, 0, map[int]int{}
	for _, f := range frames {
		lo, hi = min(lo, f[1]), max(hi, f[1])
		widths[f[0]]++
	}
	t.Logf("%d pictures presented (by width: %v), mean luma %d..%d", len(frames), widths, lo, hi)
	if lo < hi/2 {
		t.Errorf("a presented picture's mean luma fell to %d (others up to %d): a dark flash; pictures (width, luma): %v", lo, hi, frames)
	}
}
