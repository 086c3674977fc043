package capture

import (
	"image"
	"os"
	"testing"
)

func TestNewScreen(t *testing.T) {
	if os.Getenv("DISPLAY") == "" {
		t.Skip("DISPLAY is unset: no X server to capture from")
	}
	src, err := NewScreen(0)
	if err != nil {
		t.Fatalf("NewScreen(0): %v", err)
	}
	defer src.Close()

	b := src.Bounds()
	if b.Empty() {
		t.Fatalf("Bounds() = %v, want non-empty", b)
	}
	img, err := src.Capture()
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if img.Bounds().Size() != b.Size() {
		t.Fatalf("captured %v, want size %v", img.Bounds(), b.Size())
	}
	// The conversion must accept what the screen produces.
	RGBAToI420(image.NewYCbCr(image.Rectangle{Max: b.Size()}, image.YCbCrSubsampleRatio420), img)

	if _, err := NewScreen(1 << 20); err == nil {
		t.Fatal("NewScreen with an absurd index succeeded")
	}
	if _, err := NewScreen(-1); err == nil {
		t.Fatal("NewScreen(-1) succeeded")
	}
}
