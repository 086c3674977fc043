package bench

import (
	"image"
	"io"
	"log"
	"testing"

	"github.com/jezek/xgb"

	"github.com/meekijk/meekijk/internal/xvfb"
)

// quietX silences xgb's complaints about the ~/.Xauthority that Xvfb
// does not need.
func quietX() { xgb.Logger = log.New(io.Discard, "", 0) }

// display starts a 1920x1080 Xvfb, the screen size the marker is laid out for.
func display(t *testing.T) string {
	t.Helper()
	if !xvfb.Available() {
		t.Fatal("Xvfb not installed: run scripts/deps.sh")
	}
	return xvfb.Start(t, 1920, 1080)
}

// screenLuma grabs the root window and returns a luma reader over it.
func screenLuma(t *testing.T, d string) func(x, y int) int {
	t.Helper()
	img, err := ScreenLuma(d, image.Rect(0, 0, 1920, 1080))
	if err != nil {
		t.Fatal(err)
	}
	return func(px, py int) int { return int(img[py*1920+px]) }
}

func TestMarkerPaintsWhatDecodeReads(t *testing.T) {
	d := display(t)
	if _, ok := DecodeMarker(screenLuma(t, d)); ok {
		t.Fatal("a black screen decodes as a marker")
	}
	m, err := NewMarker(d)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, n := range []uint16{1, 0xA5C3, 0xFFFF, 0} {
		if _, err := m.Paint(n); err != nil {
			t.Fatal(err)
		}
		got, ok := DecodeMarker(screenLuma(t, d))
		if !ok || got != n {
			t.Fatalf("painted %#x, decoded %#x (ok=%v)", n, got, ok)
		}
	}
}
