package bench

import (
	"io"
	"log"
	"testing"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

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
	x, err := xgb.NewConnDisplay(d)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	root := xproto.Setup(x).DefaultScreen(x).Root
	img, err := xproto.GetImage(x, xproto.ImageFormatZPixmap, xproto.Drawable(root), 0, 0, 1920, 1080, 0xffffffff).Reply()
	if err != nil {
		t.Fatal(err)
	}
	return func(px, py int) int {
		i := (py*1920 + px) * 4 // BGRX
		return lumaOf(int(img.Data[i+2]), int(img.Data[i+1]), int(img.Data[i]))
	}
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
