package capture

import (
	"errors"
	"image"
	"testing"
)

// The GDI path's costs beside the X11 ones (xshm_linux_test.go), for the
// benchmark's Windows phase, which runs them under Wine on a 1920x1080
// display: Wine refuses desktop duplication, so GDI is what it can show.

func gdiSource(b *testing.B) *gdi {
	ms, err := monitors()
	if err != nil || len(ms) == 0 {
		b.Fatalf("monitors: %v (%d)", err, len(ms))
	}
	if size := ms[0].bounds.Size(); size != image.Pt(1920, 1080) {
		b.Skipf("the primary monitor is %v, not 1920x1080", size)
	}
	g, err := newGDI(ms[0])
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	return g
}

func gdiFrame() *image.YCbCr {
	return image.NewYCbCr(image.Rect(0, 0, 1920, 1080), image.YCbCrSubsampleRatio420)
}

// BenchmarkGrabGDI_1080p is a changed frame: BitBlt, the comparison with
// the last frame, and the conversion.
func BenchmarkGrabGDI_1080p(b *testing.B) {
	g, dst := gdiSource(b), gdiFrame()
	b.ReportAllocs()
	for b.Loop() {
		g.last = nil // as if the screen had changed
		if err := g.grab(dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGrabGDIIdle_1080p is what an unchanged screen costs per tick:
// GDI cannot tell, so the copy and the comparison are paid every time.
func BenchmarkGrabGDIIdle_1080p(b *testing.B) {
	g, dst := gdiSource(b), gdiFrame()
	if err := g.grab(dst); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := g.grab(dst); err != nil && !errors.Is(err, ErrUnchanged) {
			b.Fatal(err)
		}
	}
}
