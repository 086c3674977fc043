package capture

import (
	"image"
	"image/color"
	"testing"
)

func solid(r image.Rectangle, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(r)
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i+0], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func near(got, want uint8) bool {
	d := int(got) - int(want)
	return d >= -2 && d <= 2
}

func TestRGBAToI420Solid(t *testing.T) {
	// Reference values: BT.601 limited range, as in Rec. 601 / Wikipedia's
	// YCbCr article, rounded.
	cases := []struct {
		name      string
		c         color.RGBA
		y, cb, cr uint8
	}{
		{"black", color.RGBA{0, 0, 0, 255}, 16, 128, 128},
		{"white", color.RGBA{255, 255, 255, 255}, 235, 128, 128},
		{"red", color.RGBA{255, 0, 0, 255}, 82, 90, 240},
		{"green", color.RGBA{0, 255, 0, 255}, 145, 54, 34},
		{"blue", color.RGBA{0, 0, 255, 255}, 41, 240, 110},
		{"grey", color.RGBA{128, 128, 128, 255}, 126, 128, 128},
	}
	sizes := []image.Rectangle{
		image.Rect(0, 0, 16, 8),
		image.Rect(0, 0, 7, 5),     // odd both ways
		image.Rect(0, 0, 1, 1),     // a single pixel is a partial block
		image.Rect(10, 20, 23, 27), // non-zero origin, odd size
	}
	for _, tc := range cases {
		for _, r := range sizes {
			src := solid(r, tc.c)
			dst := image.NewYCbCr(image.Rect(0, 0, r.Dx(), r.Dy()), image.YCbCrSubsampleRatio420)
			RGBAToI420(dst, src)
			for _, v := range dst.Y {
				if !near(v, tc.y) {
					t.Fatalf("%s %v: Y = %d, want %d±2", tc.name, r, v, tc.y)
				}
			}
			for i := range dst.Cb {
				if !near(dst.Cb[i], tc.cb) || !near(dst.Cr[i], tc.cr) {
					t.Fatalf("%s %v: Cb,Cr = %d,%d, want %d,%d ±2", tc.name, r, dst.Cb[i], dst.Cr[i], tc.cb, tc.cr)
				}
			}
		}
	}
}

// TestRGBAToI420MatchesStdlib checks every pixel of a varied image against
// image/color's conversion (full-range JFIF for Y'CbCr, so it is rescaled
// to limited range here) to catch indexing mistakes a solid colour hides.
func TestRGBAToI420MatchesStdlib(t *testing.T) {
	r := image.Rect(0, 0, 33, 17)
	src := image.NewRGBA(r)
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			src.SetRGBA(x, y, color.RGBA{uint8(x * 7), uint8(y * 13), uint8(x*y + 40), 255})
		}
	}
	dst := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	RGBAToI420(dst, src)
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			c := src.RGBAAt(x, y)
			want, _, _ := color.RGBToYCbCr(c.R, c.G, c.B)
			wantLimited := uint8(16 + (int(want)*219+127)/255)
			if got := dst.Y[dst.YOffset(x, y)]; !near(got, wantLimited) {
				t.Fatalf("Y at (%d,%d) = %d, want %d±2", x, y, got, wantLimited)
			}
		}
	}
	// Chroma at a block is the conversion of the block's average colour.
	for y := 0; y < r.Dy(); y += 2 {
		for x := 0; x < r.Dx(); x += 2 {
			var sr, sg, sb, n int
			for dy := 0; dy < 2 && y+dy < r.Dy(); dy++ {
				for dx := 0; dx < 2 && x+dx < r.Dx(); dx++ {
					c := src.RGBAAt(x+dx, y+dy)
					sr, sg, sb, n = sr+int(c.R), sg+int(c.G), sb+int(c.B), n+1
				}
			}
			_, cb, cr := color.RGBToYCbCr(uint8(sr/n), uint8(sg/n), uint8(sb/n))
			wcb := uint8(128 + ((int(cb)-128)*224)/255)
			wcr := uint8(128 + ((int(cr)-128)*224)/255)
			o := dst.COffset(x, y)
			if !near(dst.Cb[o], wcb) || !near(dst.Cr[o], wcr) {
				t.Fatalf("Cb,Cr at (%d,%d) = %d,%d, want %d,%d ±2", x, y, dst.Cb[o], dst.Cr[o], wcb, wcr)
			}
		}
	}
}

func TestRGBAToI420SizeMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for mismatched sizes")
		}
	}()
	RGBAToI420(image.NewYCbCr(image.Rect(0, 0, 4, 4), image.YCbCrSubsampleRatio420),
		image.NewRGBA(image.Rect(0, 0, 4, 2)))
}

func BenchmarkRGBAToI420_1080p(b *testing.B) {
	r := image.Rect(0, 0, 1920, 1080)
	src := image.NewRGBA(r)
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 31)
	}
	dst := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	b.SetBytes(int64(len(src.Pix)))
	b.ReportAllocs()
	for b.Loop() {
		RGBAToI420(dst, src)
	}
}
