package capture

import (
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
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

// referenceI420 is the conversion spelled out pixel by pixel, the
// specification the fast row loops must meet: Y per pixel, and Cb, Cr of
// each 2x2 block's average colour, a partial block at an odd edge
// averaging the pixels it has. at returns the colour of the pixel at
// (x, y) counted from the picture's top-left corner.
func referenceI420(dst *image.YCbCr, at func(x, y int) (r, g, b int32)) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	for y := range h {
		for x := range w {
			r, g, b := at(x, y)
			dst.Y[dst.YOffset(dst.Rect.Min.X+x, dst.Rect.Min.Y+y)] = uint8((66*r+129*g+25*b+128)>>8 + 16)
		}
	}
	for y := 0; y < h; y += 2 {
		for x := 0; x < w; x += 2 {
			var sr, sg, sb, n int32
			for dy := 0; dy < 2 && y+dy < h; dy++ {
				for dx := 0; dx < 2 && x+dx < w; dx++ {
					r, g, b := at(x+dx, y+dy)
					sr, sg, sb, n = sr+r, sg+g, sb+b, n+1
				}
			}
			r, g, b := (sr+n/2)/n, (sg+n/2)/n, (sb+n/2)/n
			o := dst.COffset(dst.Rect.Min.X+x, dst.Rect.Min.Y+y)
			dst.Cb[o] = uint8((-38*r-74*g+112*b+128)>>8 + 128)
			dst.Cr[o] = uint8((112*r-94*g-18*b+128)>>8 + 128)
		}
	}
}

// within1 reports where two planes differ by more than one step.
func within1(t *testing.T, what string, got, want []byte) {
	t.Helper()
	for i := range want {
		if d := int(got[i]) - int(want[i]); d < -1 || d > 1 {
			t.Fatalf("%s[%d] = %d, reference %d", what, i, got[i], want[i])
		}
	}
}

// TestI420MatchesReference converts random pictures of random sizes (odd
// ones included, and sizes that take the parallel path) in both pixel
// orders, from sources with padded rows and non-zero origins, and holds
// every sample to the reference within ±1.
func TestI420MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []image.Point{{1, 1}, {2, 2}, {3, 1}, {1, 3}, {5, 7}, {16, 9}, {33, 17},
		{641, 2 * minParallelRows}, {642, 4*minParallelRows + 1}}
	for range 20 {
		sizes = append(sizes, image.Pt(1+rng.IntN(300), 1+rng.IntN(300)))
	}
	for _, size := range sizes {
		// Noise, with flat runs mixed in: screens are mostly flat.
		src := image.NewRGBA(image.Rect(3, 5, 3+size.X+2, 5+size.Y)).SubImage(
			image.Rect(3, 5, 3+size.X, 5+size.Y)).(*image.RGBA)
		for i := range src.Pix {
			if i%4 != 3 {
				src.Pix[i] = uint8(rng.IntN(256))
			}
		}
		for range 3 {
			o := rng.IntN(len(src.Pix)/4) * 4
			n := min(len(src.Pix)-o, 4*rng.IntN(64))
			for i := o; i < o+n; i++ {
				src.Pix[i] = []byte{255, 255, 255, 0}[i%4]
			}
		}
		at := func(x, y int) (r, g, b int32) {
			c := src.RGBAAt(src.Rect.Min.X+x, src.Rect.Min.Y+y)
			return int32(c.R), int32(c.G), int32(c.B)
		}
		want := image.NewYCbCr(image.Rectangle{Max: size}, image.YCbCrSubsampleRatio420)
		referenceI420(want, at)

		got := image.NewYCbCr(image.Rectangle{Min: image.Pt(8, 2), Max: size.Add(image.Pt(8, 2))}, image.YCbCrSubsampleRatio420)
		RGBAToI420(got, src)
		name := fmt.Sprintf("RGBA %v", size)
		within1(t, name+" Y", got.Y, want.Y)
		within1(t, name+" Cb", got.Cb, want.Cb)
		within1(t, name+" Cr", got.Cr, want.Cr)

		// The same picture as an X server lays it out: BGRX rows
		// padded to a wider stride.
		stride := 4*size.X + 4*rng.IntN(3)
		bgrx := make([]byte, stride*size.Y)
		for y := range size.Y {
			for x := range size.X {
				r, g, b := at(x, y)
				copy(bgrx[y*stride+4*x:], []byte{byte(b), byte(g), byte(r), 0x5a})
			}
		}
		got = image.NewYCbCr(image.Rectangle{Max: size}, image.YCbCrSubsampleRatio420)
		toI420(got, bgrx, stride, orderBGRX)
		name = fmt.Sprintf("BGRX %v", size)
		within1(t, name+" Y", got.Y, want.Y)
		within1(t, name+" Cb", got.Cb, want.Cb)
		within1(t, name+" Cr", got.Cr, want.Cr)
	}
}

func benchmarkConvert(b *testing.B, convert func(*image.YCbCr, []byte)) {
	r := image.Rect(0, 0, 1920, 1080)
	pix := make([]byte, 4*r.Dx()*r.Dy())
	for i := range pix {
		pix[i] = uint8(i * 31)
	}
	dst := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	b.SetBytes(int64(len(pix)))
	b.ReportAllocs()
	for b.Loop() {
		convert(dst, pix)
	}
}

func BenchmarkRGBAToI420_1080p(b *testing.B) {
	benchmarkConvert(b, func(dst *image.YCbCr, pix []byte) {
		RGBAToI420(dst, &image.RGBA{Pix: pix, Stride: 4 * 1920, Rect: dst.Rect})
	})
}

// BenchmarkBGRXToI420_1080p is the shared-memory path's conversion; with
// -cpu 1 it shows the single-goroutine cost.
func BenchmarkBGRXToI420_1080p(b *testing.B) {
	benchmarkConvert(b, func(dst *image.YCbCr, pix []byte) { toI420(dst, pix, 4*1920, orderBGRX) })
}

// BenchmarkReferenceI420_1080p is the per-pixel specification, for scale.
func BenchmarkReferenceI420_1080p(b *testing.B) {
	benchmarkConvert(b, func(dst *image.YCbCr, pix []byte) {
		referenceI420(dst, func(x, y int) (r, g, b int32) {
			p := pix[4*(1920*y+x):]
			return int32(p[0]), int32(p[1]), int32(p[2])
		})
	})
}
