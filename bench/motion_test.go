//go:build bench

package bench

import (
	"context"
	"testing"
	"time"
)

// TestMotionPhases measures only the two workloads where large areas move
// (scrolling text, moving a window), quiet and with the busy-CPU load, in
// one Meekijk session: the quick A/B check of a pipeline change, run
// against the old code in the same minutes (bench/pipeline.md). It
// judges nothing; its figures are logged.
func TestMotionPhases(t *testing.T) {
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
		for _, w := range workloads()[3:] {
			r := s.measure(ctx, w, m)
			if r.err != nil {
				t.Error(r.err)
			}
			t.Logf("%s, %s: %.1f frames/s, %.1f kB/s, agent CPU %.0f %%, p50 %.1f ms, p95 %.1f ms, decode %.1f ms/frame, load %.1f",
				c.name, w.name, r.fps(), r.bytesPerSec()/1000, r.cpu, p50ms(r), p95ms(r), r.view.decodeMs, r.load)
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
