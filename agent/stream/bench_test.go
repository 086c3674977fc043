package stream

import (
	"bytes"
	"image"
	"image/color"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"

	"github.com/meekijk/meekijk/agent/capture"
)

// Encoder benchmarks at 1920x1080 with the Sender's own settings
// (newPipeline's screen encoder, default bit rate and frame rate), on screen-like content:
// lines of glyph-sized, high-contrast marks on a white page.

const (
	benchW, benchH = 1920, 1080
	// scrollStep is one text line: each frame of the scroll benchmark
	// moves the page up by it, like a reader pressing the arrow key.
	scrollStep = 20
	scrollLen  = 60
)

// textPage returns an I420 page benchW wide and height tall of fake text.
func textPage(height int) *image.YCbCr {
	rgba := image.NewRGBA(image.Rect(0, 0, benchW, height))
	for i := range rgba.Pix {
		rgba.Pix[i] = 0xff
	}
	rng := rand.New(rand.NewPCG(8, 1080))
	ink := color.RGBA{30, 30, 40, 255}
	for top := 4; top+14 <= height; top += scrollStep {
		x := 8 + rng.IntN(40)
		for x+8 <= benchW-8 {
			if rng.IntN(6) == 0 { // a space between words
				x += 8
				continue
			}
			// An 8x14 cell with a random 6x10 glyph-like bit pattern.
			for gy := range 10 {
				bits := rng.Uint32()
				for gx := range 6 {
					if bits&(1<<gx) != 0 {
						rgba.SetRGBA(x+1+gx, top+2+gy, ink)
					}
				}
			}
			x += 8
		}
		if rng.IntN(8) == 0 { // an empty line now and then
			top += scrollStep
		}
	}
	page := image.NewYCbCr(rgba.Rect, image.YCbCrSubsampleRatio420)
	capture.RGBAToI420(page, rgba)
	return page
}

// window returns the benchW x benchH frame of page starting at row top
// (even), sharing page's memory.
func window(page *image.YCbCr, top int) image.YCbCr {
	return image.YCbCr{
		Y:              page.Y[top*page.YStride:],
		Cb:             page.Cb[top/2*page.CStride:],
		Cr:             page.Cr[top/2*page.CStride:],
		YStride:        page.YStride,
		CStride:        page.CStride,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, benchW, benchH),
	}
}

// benchmarkEncode encodes a frame per iteration with the pipeline's
// full-resolution encoder; next sets the frame's contents and may ask for
// a keyframe. It reports the mean encoded size.
func benchmarkEncode(b *testing.B, next func(frame *image.YCbCr, i int) (keyFrame bool)) {
	p, err := newPipeline(slog.New(slog.DiscardHandler), image.Pt(benchW, benchH), defaultMaxFPS, defaultBitRate)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.takeFull(true); err != nil {
		b.Fatal(err)
	}
	defer p.close()
	frame := &image.YCbCr{}
	next(frame, 0)
	// The first frame is a keyframe whatever follows; keep it out.
	if _, err := p.full.Encode(frame, true); err != nil {
		b.Fatal(err)
	}
	var bytes, i int
	b.ReportAllocs()
	for b.Loop() {
		i++
		f, err := p.full.Encode(frame, next(frame, i))
		if err != nil {
			b.Fatal(err)
		}
		bytes += len(f.Data)
	}
	b.ReportMetric(float64(bytes)/float64(i), "B/frame")
}

// BenchmarkEncodeScroll_1080p: every frame differs from the last by a
// one-line scroll, the common busy case.
func BenchmarkEncodeScroll_1080p(b *testing.B) {
	page := textPage(benchH + scrollLen*scrollStep)
	benchmarkEncode(b, func(frame *image.YCbCr, i int) bool {
		*frame = window(page, i%scrollLen*scrollStep)
		return false
	})
}

// BenchmarkEncodeStatic_1080p re-encodes an unchanged screen: what each
// tick would cost if the loop did not skip idle frames.
func BenchmarkEncodeStatic_1080p(b *testing.B) {
	page := textPage(benchH)
	benchmarkEncode(b, func(frame *image.YCbCr, _ int) bool {
		*frame = window(page, 0)
		return false
	})
}

// BenchmarkEncodeKeyframe_1080p is a whole-screen keyframe, as after a
// browser's PLI.
func BenchmarkEncodeKeyframe_1080p(b *testing.B) {
	page := textPage(benchH)
	benchmarkEncode(b, func(frame *image.YCbCr, _ int) bool {
		*frame = window(page, 0)
		return true
	})
}

// BenchmarkPacerKeyframe measures how long a 1080p keyframe of text spends
// in each of pion's GCC pacers at the default rate: the time from handing
// its packets over to the last one reaching the transport. It is why
// newAPI uses the no-op pacer (a pacer delays every frame queued behind a
// keyframe as well).
func BenchmarkPacerKeyframe(b *testing.B) {
	p, err := newPipeline(slog.New(slog.DiscardHandler), image.Pt(benchW, benchH), defaultMaxFPS, defaultBitRate)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.takeFull(true); err != nil {
		b.Fatal(err)
	}
	f, err := p.full.Encode(textPage(benchH), true)
	key := bytes.Clone(f.Data)
	p.close()
	if err != nil {
		b.Fatal(err)
	}
	const mtu = 1200
	packets := (len(key) + mtu - 1) / mtu

	for _, p := range []struct {
		name string
		new  func() gcc.Pacer
	}{
		{"noop", func() gcc.Pacer { return gcc.NewNoOpPacer() }},
		{"leakybucket", func() gcc.Pacer { return gcc.NewLeakyBucketPacer(defaultBitRate) }},
	} {
		b.Run(p.name, func(b *testing.B) {
			pacer := p.new()
			defer pacer.Close()
			sent := make(chan struct{}, packets)
			pacer.AddStream(1, interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
				sent <- struct{}{}
				return h.MarshalSize() + len(payload), nil
			}))
			for b.Loop() {
				for i := range packets {
					n := min(mtu, len(key)-i*mtu)
					if _, err := pacer.Write(&rtp.Header{SSRC: 1, SequenceNumber: uint16(i)}, key[i*mtu:i*mtu+n], nil); err != nil {
						b.Fatal(err)
					}
				}
				for range packets {
					<-sent
				}
			}
			b.ReportMetric(float64(len(key)), "B/keyframe")
		})
	}
}
