package capture

import (
	"errors"
	"image"
	"image/color"
	"testing"
)

// plainSource is a Source that only knows Capture, like the fakes other
// packages' tests use.
type plainSource struct{ img *image.RGBA }

func (s plainSource) Bounds() image.Rectangle       { return s.img.Rect }
func (s plainSource) Capture() (*image.RGBA, error) { return s.img, nil }
func (s plainSource) Close() error                  { return nil }

func TestGrabPlainSource(t *testing.T) {
	src := plainSource{solid(image.Rect(10, 10, 19, 17), color.RGBA{0, 0, 255, 255})}
	dst := image.NewYCbCr(image.Rect(0, 0, 8, 6), image.YCbCrSubsampleRatio420)
	for range 2 { // a plain source cannot tell: every grab converts
		if err := Grab(src, dst); err != nil {
			t.Fatalf("Grab: %v", err)
		}
	}
	if !near(dst.Y[0], 41) || !near(dst.Cb[0], 240) {
		t.Fatalf("Y, Cb = %d, %d; want blue's 41, 240", dst.Y[0], dst.Cb[0])
	}
	for _, bad := range []*image.YCbCr{
		image.NewYCbCr(image.Rect(0, 0, 10, 6), image.YCbCrSubsampleRatio420), // wider than the screen
		image.NewYCbCr(image.Rect(1, 0, 9, 6), image.YCbCrSubsampleRatio420),  // odd origin
		image.NewYCbCr(image.Rect(0, 0, 8, 6), image.YCbCrSubsampleRatio444),
	} {
		if err := Grab(src, bad); err == nil || errors.Is(err, ErrUnchanged) {
			t.Errorf("Grab into %v %v: %v, want an error", bad.Rect, bad.SubsampleRatio, err)
		}
	}
}

// TestI420Crop converts the top-left part of a larger picture, as Grab
// does with an odd-sized screen.
func TestI420Crop(t *testing.T) {
	src := solid(image.Rect(0, 0, 9, 7), color.RGBA{255, 0, 0, 255})
	for y := range 7 {
		src.SetRGBA(8, y, color.RGBA{0, 0, 255, 255}) // the column the crop drops
	}
	dst := image.NewYCbCr(image.Rect(0, 0, 8, 6), image.YCbCrSubsampleRatio420)
	if err := convertRGBA(dst, src); err != nil {
		t.Fatal(err)
	}
	for i, v := range dst.Cr {
		if !near(v, 240) {
			t.Fatalf("Cr[%d] = %d: the dropped blue column leaked into the crop", i, v)
		}
	}
	if err := convertRGBA(image.NewYCbCr(image.Rect(0, 0, 10, 6), image.YCbCrSubsampleRatio420), src); err == nil {
		t.Fatal("converting into a frame wider than the screen succeeded")
	}
}
