package e2e

import (
	"image"
	"sync"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// clickRecorder is a window on the test's X display that records the
// mouse buttons pressed on it, where the X server says they landed: the
// proof that a click from the console reached the screen, and where.
type clickRecorder struct {
	x    *xgb.Conn
	mu   sync.Mutex
	hits []image.Point // root coordinates of each button press
}

func newClickRecorder(t *testing.T, display string, rect image.Rectangle) *clickRecorder {
	t.Helper()
	x := mapWindow(t, display, rect, 0x3366cc, xproto.EventMaskButtonPress)
	rec := &clickRecorder{x: x}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, err := x.WaitForEvent()
			if ev == nil && err == nil {
				return // connection closed
			}
			if bp, ok := ev.(xproto.ButtonPressEvent); ok {
				rec.mu.Lock()
				rec.hits = append(rec.hits, image.Pt(int(bp.RootX), int(bp.RootY)))
				rec.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		x.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("click recorder did not stop")
		}
	})
	return rec
}

func (r *clickRecorder) clicks() []image.Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]image.Point(nil), r.hits...)
}

// waitClicks waits until n presses were recorded.
func (r *clickRecorder) waitClicks(t *testing.T, n int, within time.Duration) []image.Point {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c := r.clicks(); len(c) >= n {
			return c
		}
	}
	t.Fatalf("%d clicks recorded in %v, want %d: %v", len(r.clicks()), within, n, r.clicks())
	return nil
}

// keysDown reports the keycodes the X server holds down.
func keysDown(t *testing.T, display string) []int {
	t.Helper()
	x, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	km, err := xproto.QueryKeymap(x).Reply()
	if err != nil {
		t.Fatal(err)
	}
	var down []int
	for i, b := range km.Keys {
		for bit := range 8 {
			if b&(1<<bit) != 0 {
				down = append(down, i*8+bit)
			}
		}
	}
	return down
}
