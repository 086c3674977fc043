package stream

import (
	"image"
	"syscall"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// BenchmarkEncoderSettings is the small matrix the screen encoder's settings
// were chosen from, through the mediadevices bridge the Sender used then
// (chosenParams): the Sender's settings, then one setting changed at a time, each on
// a one-line-per-frame scroll of a text page and on typing (one glyph
// cell changes per frame), at 1920x1080. Besides wall time per frame it
// reports the process's CPU time per frame (threads spend more CPU than
// wall time; on a shared two-core machine the CPU is what the browser and
// X server lose), mean bytes per frame and the share of frames rate
// control skipped.
func BenchmarkEncoderSettings(b *testing.B) {
	variants := []struct {
		name string
		fps  int
		set  func(p *openh264.Params)
	}{
		{"chosen", 0, func(*openh264.Params) {}},
		{"camera", 0, func(p *openh264.Params) { p.UsageType = openh264.CameraVideoRealTime }},
		{"rc=quality", 0, func(p *openh264.Params) { p.RCMode = openh264.RCQualityMode }},
		{"rc=buffer", 0, func(p *openh264.Params) { p.RCMode = openh264.RCBufferbaseedMode }},
		{"rc=off", 0, func(p *openh264.Params) { p.RCMode = openh264.RCOffMode }},
		{"rate=1.5M", 0, func(p *openh264.Params) { p.BitRate = 1_500_000 }},
		{"rate=6M", 0, func(p *openh264.Params) { p.BitRate = 6_000_000 }},
		{"fps=30", 30, func(*openh264.Params) {}},
		{"skip=off", 0, func(p *openh264.Params) { p.EnableFrameSkip = false }},
		{"threads=1,slice=1", 0, func(p *openh264.Params) {
			p.MultipleThreadIdc, p.SliceMode, p.SliceNum = 1, openh264.SMSingleSlice, 1
		}},
		{"threads=2,slices=2", 0, func(p *openh264.Params) {
			p.MultipleThreadIdc, p.SliceMode, p.SliceNum = 2, openh264.SMFixedslcnumSlice, 2
		}},
		{"threads=2,slices=4", 0, func(p *openh264.Params) {
			p.MultipleThreadIdc, p.SliceMode, p.SliceNum = 2, openh264.SMFixedslcnumSlice, 4
		}},
	}
	scrollPage := textPage(benchH + scrollLen*scrollStep)
	typingPage := textPage(benchH)
	workloads := []struct {
		name string
		next func(frame *image.YCbCr, i int)
	}{
		{"scroll", func(frame *image.YCbCr, i int) { *frame = window(scrollPage, i%scrollLen*scrollStep) }},
		{"typing", func(frame *image.YCbCr, i int) {
			if i == 0 {
				*frame = *image.NewYCbCr(typingPage.Rect, image.YCbCrSubsampleRatio420)
				copy(frame.Y, typingPage.Y)
				copy(frame.Cb, typingPage.Cb)
				copy(frame.Cr, typingPage.Cr)
				return
			}
			// Flip one 8x14 cell along a line, as a typed character would.
			x, y := 16+i%200*8, 500+i/200%10*scrollStep
			for row := y; row < y+14; row++ {
				for col := x; col < x+8; col++ {
					frame.Y[row*frame.YStride+col] ^= 0xc0
				}
			}
		}},
	}
	for _, v := range variants {
		for _, w := range workloads {
			b.Run(v.name+"/"+w.name, func(b *testing.B) {
				fps := defaultMaxFPS
				if v.fps > 0 {
					fps = v.fps
				}
				params, err := chosenParams()
				if err != nil {
					b.Fatal(err)
				}
				v.set(&params)
				frame := &image.YCbCr{}
				w.next(frame, 0)
				enc, err := params.BuildVideoEncoder(video.ReaderFunc(func() (image.Image, func(), error) {
					return frame, func() {}, nil
				}), prop.Media{Video: prop.Video{Width: benchW, Height: benchH, FrameRate: float32(fps)}})
				if err != nil {
					b.Fatal(err)
				}
				defer enc.Close()
				// Past the first keyframe and rate control's settling.
				for i := range 2 * fps {
					w.next(frame, i+1)
					_, release, err := enc.Read()
					if err != nil {
						b.Fatal(err)
					}
					release()
				}
				var bytes, skipped, i int
				cpu := cpuTime()
				for b.Loop() {
					i++
					w.next(frame, 2*fps+i)
					data, release, err := enc.Read()
					if err != nil {
						b.Fatal(err)
					}
					bytes += len(data)
					if len(data) == 0 {
						skipped++
					}
					release()
				}
				b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(i), "cpu-ms/frame")
				b.ReportMetric(float64(bytes)/float64(i), "B/frame")
				b.ReportMetric(100*float64(skipped)/float64(i), "%skipped")
			})
		}
	}
}

// chosenParams are the settings the matrix chose (screen content, bit-rate
// rate control with frame skipping, one thread, no periodic IDR), which
// the pipeline's own bridge keeps.
func chosenParams() (openh264.Params, error) {
	params, err := openh264.NewParams()
	params.BitRate = defaultBitRate
	params.UsageType = openh264.ScreenContentRealTime
	params.MultipleThreadIdc = 1
	params.IntraPeriod = 0
	return params, err
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
