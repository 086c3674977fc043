package bench

import (
	"fmt"
	"image"
	"math"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// ScreenLuma grabs rect of display's root window as luma bytes, row by
// row, with the weights the browser probes use (lumaOf).
func ScreenLuma(display string, rect image.Rectangle) ([]byte, error) {
	x, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", display, err)
	}
	defer x.Close()
	root := xproto.Setup(x).DefaultScreen(x).Root
	img, err := xproto.GetImage(x, xproto.ImageFormatZPixmap, xproto.Drawable(root),
		int16(rect.Min.X), int16(rect.Min.Y), uint16(rect.Dx()), uint16(rect.Dy()), 0xffffffff).Reply()
	if err != nil {
		return nil, fmt.Errorf("grab %v: %w", rect, err)
	}
	n := rect.Dx() * rect.Dy()
	if len(img.Data) < 4*n {
		return nil, fmt.Errorf("grab %v: %d bytes, want 32 bits a pixel", rect, len(img.Data))
	}
	out := make([]byte, n)
	for i := range out {
		d := img.Data[4*i:] // BGRX
		out[i] = byte(lumaOf(int(d[2]), int(d[1]), int(d[0])))
	}
	return out, nil
}

// PSNR is the peak signal-to-noise ratio of got against want, 8-bit
// samples, in dB; +Inf when they are equal. 40 dB and up: text looks as
// on the screen; JPEG-style blur of text sits near 30.
func PSNR(want, got []byte) (float64, error) {
	if len(want) != len(got) || len(want) == 0 {
		return 0, fmt.Errorf("psnr: %d samples against %d", len(got), len(want))
	}
	var sum float64
	for i := range want {
		d := float64(want[i]) - float64(got[i])
		sum += d * d
	}
	if sum == 0 {
		return math.Inf(1), nil
	}
	mse := sum / float64(len(want))
	return 10 * math.Log10(255*255/mse), nil
}

// Bias is the mean of got - want: a picture that is sharp but a few
// levels too dark or too light everywhere (a colour range mismatch)
// scores a low PSNR too, and this tells the two apart.
func Bias(want, got []byte) (float64, error) {
	if len(want) != len(got) || len(want) == 0 {
		return 0, fmt.Errorf("bias: %d samples against %d", len(got), len(want))
	}
	var sum float64
	for i := range want {
		sum += float64(got[i]) - float64(want[i])
	}
	return sum / float64(len(want)), nil
}
