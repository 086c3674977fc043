package stream

import (
	"encoding/binary"
	"fmt"
	"image"
	"log/slog"
	"time"

	"github.com/meekijk/meekijk/agent/stream/h264"
)

// The encoders' settings, chosen by measurement (bench/pipeline.md).
const (
	// Screen content's quantiser bounds. OpenH264's own, 26..35, stop
	// text at rest near 37 dB PSNR: the IDR that ends a motion, or any
	// picture after a large change, is coded once at the QP rate control
	// picks for it, and unchanged areas are not refined later (the bench
	// measured the same PSNR 0.25 s and 2 s after a scroll stopped). So
	// the ceiling decides. On termPage's anti-aliased text the IDR scored
	// 37.5 dB with a ceiling of 28, 42.6 with 22, 43.1 with 20, 45.4 with
	// 18 (654 kB over the second after the stop, 526 kB with OpenH264's
	// bounds); the bench's xterm scored about 3 dB less than termPage
	// (39.4-39.7 dB with 22), hence 18. The full-size encoder can afford
	// it because large motion goes to the half-size one; small changes
	// (typing) cost little at any QP.
	screenMinQP, screenMaxQP = 16, 18

	// restBoost multiplies the encoder's bit rate while the screen is
	// still, up to maxRestRate. A sharp IDR after a motion overshoots its
	// budget several times over, and rate control then skips pictures
	// until it has paid that back: at three times the rate it does so
	// three times sooner, so typing right after a scroll is not held
	// back; on dense text the boost also lets the refinement of what
	// changed reach 40 dB sooner (at 3 Mbit/s 38 dB a second after a
	// stop, at 9 Mbit/s 41 dB after 0.4 s). It is a burst of a few
	// hundred kilobytes once per stop; the congestion controller hears of
	// it as of any other traffic.
	restBoost   = 3
	maxRestRate = 16_000_000
	// restAfter is how long the screen must be still before the boost:
	// longer than the gap between typed keys (12 a second), so typing is
	// not refined between strokes.
	restAfter = 100 * time.Millisecond

	// maxMotionRate caps the half-size encoder's rate, whatever the
	// congestion controller allows. While a fifth of the screen or more
	// moves, the picture is at half size and is replaced by a sharp
	// full-size IDR within motionSettle of the stop; bits beyond this buy
	// detail nobody follows. Measured in the bench (bench/pipeline.md,
	// TestMotionPhases, 1080p, two runs each): uncapped (the estimate on
	// loopback climbs to 5-8 Mbit/s) scrolling and a moved window sent
	// 575-979 kB/s; at 4 Mbit/s 480-580; at 3 Mbit/s 390-450, still at
	// 27-33 frames/s, with the same 41.3 dB on the text after the stop.
	maxMotionRate = 3_000_000

	// motionShare is the share of the screen that must change between two
	// captures for the loop to count it as large motion (a dragged window
	// or a scrolled page; the bench's terminal is half the screen, a typed
	// key is one tile in two thousand).
	motionShare = 0.2
	// motionSettle is how long motion mode outlasts the last large change:
	// a window dragged at 25 moves a second leaves captures between moves
	// unchanged, which must not flip the stream back and forth.
	motionSettle = 200 * time.Millisecond

	// Tiles the motion detector hashes: 64 pixels wide, 32 rows tall,
	// sampling every tileRowStep-th row (a moved window or scrolled text
	// changes most rows of a tile; the decision needs an area, not every
	// pixel).
	tileW, tileH, tileRowStep = 64, 32, 4
)

// pipeline turns captured frames into H.264 for the track. It owns two
// OpenH264 encoders: full-resolution screen content, which keeps text
// sharp, and a half-resolution camera-mode one for large motion. Screen
// content's motion search cost 61-126 ms of CPU per frame while a large
// window moved on a busy machine (3-8 frames/s); camera mode at half the
// size costs a few milliseconds. The picture returns to full resolution,
// with an IDR, motionSettle after the motion stops, and the still picture
// is then refined at a boosted bit rate.
//
// The half-size encoder is built first (a few milliseconds); the
// full-size one is built on a goroutine of the pipeline's (~100-250 ms in a
// fresh process, most of it faulting in its 1080p buffers) once the first
// picture is encoded: the first picture after Allow goes out at half size
// as soon as the connection is up rather than waiting for that build, and
// the full-size IDR follows when it is done. Started together, the build
// and the first capture (itself 100-250 ms cold) shared the two cores and
// the capture finished after the connection was up.
//
// The frame loop's goroutine is its only user.
type pipeline struct {
	log    *slog.Logger
	size   image.Point
	fps    int
	motion *h264.Encoder
	small  *image.YCbCr // the frame halved, for motion
	// full is nil until its build, which sends on built, is taken in.
	full      *h264.Encoder
	built     chan fullBuild
	building  bool // the build was started (startFull)
	buildDone bool // built was received from (full may still be nil: failed)
	tiles     []uint64
	tilesOK   bool

	moving     bool      // the last picture came from motion
	needIDR    bool      // the encoder in use has not sent an IDR since the switch
	lastMotion time.Time // the last capture with a large change
	lastChange time.Time
	target     int  // the congestion controller's rate
	boosted    bool // full is at the rest rate
}

type fullBuild struct {
	enc  *h264.Encoder
	err  error
	took time.Duration
}

func newPipeline(log *slog.Logger, size image.Point, fps, bitRate int) (*pipeline, error) {
	half := image.Pt(size.X/2&^1, size.Y/2&^1)
	if half.X == 0 || half.Y == 0 {
		half = size // too small to halve; camera mode at full size
	}
	motion, err := h264.NewEncoder(h264.Params{Size: half, FPS: fps, BitRate: min(bitRate, maxMotionRate)})
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	p := &pipeline{log: log, size: size, fps: fps, motion: motion, target: bitRate, built: make(chan fullBuild, 1),
		small: image.NewYCbCr(image.Rectangle{Max: half}, image.YCbCrSubsampleRatio420)}
	return p, nil
}

// startFull starts the full-size encoder's build on a goroutine, once.
func (p *pipeline) startFull() {
	if p.building {
		return
	}
	p.building = true
	size, fps, rate := p.size, p.fps, p.target
	go func() {
		start := time.Now()
		e, err := h264.NewEncoder(h264.Params{Size: size, FPS: fps, BitRate: rate, Screen: true,
			MinQP: screenMinQP, MaxQP: screenMaxQP})
		p.built <- fullBuild{enc: e, err: err, took: time.Since(start)}
	}()
}

// takeFull takes in the full-size encoder's build, waiting for it when
// wait is set. It reports the build's error once.
func (p *pipeline) takeFull(wait bool) error {
	if p.buildDone {
		return nil
	}
	if !p.building {
		if !wait {
			return nil
		}
		p.startFull()
	}
	var b fullBuild
	if wait {
		b = <-p.built
	} else {
		select {
		case b = <-p.built:
		default:
			return nil
		}
	}
	p.buildDone = true
	if b.err != nil {
		return fmt.Errorf("stream: full-size encoder (the picture stays at half size): %w", b.err)
	}
	p.log.Info("stream: full-size encoder ready", "took", b.took)
	p.full = b.enc
	if p.target != b.enc.Params().BitRate {
		return p.full.SetBitRate(p.fullRate())
	}
	return nil
}

// close frees the encoders, after waiting for the full-size one's build.
func (p *pipeline) close() {
	if p.building {
		_ = p.takeFull(true)
	}
	if p.full != nil {
		p.full.Close()
	}
	p.motion.Close()
}

// setTarget hands the congestion controller's rate to both encoders (the
// still screen's boost rides on it).
func (p *pipeline) setTarget(bps int) error {
	p.target = bps
	if p.full != nil {
		if err := p.full.SetBitRate(p.fullRate()); err != nil {
			return err
		}
	}
	return p.motion.SetBitRate(min(bps, maxMotionRate))
}

func (p *pipeline) fullRate() int {
	if p.boosted {
		return max(p.target, min(restBoost*p.target, maxRestRate))
	}
	return p.target
}

// encode encodes frame, the screen as captured at now; changed says the
// capture found a change since the last one, keyFrame that the peer asked
// for an IDR. It is the one place the stream's pictures and their size
// come from: the returned frame is Annex B H.264 whose picture size is
// size, empty when rate control skipped it. A change of size (into and
// out of motion, and from the first pictures to full size) always starts
// with an IDR carrying the new SPS and PPS, both encoders using SPS and
// PPS id 0, so a decoder (or a recording) that follows the IDRs follows
// the size.
func (p *pipeline) encode(frame *image.YCbCr, now time.Time, changed, keyFrame bool) (f h264.Frame, size image.Point, err error) {
	if err := p.takeFull(false); err != nil {
		return h264.Frame{}, image.Point{}, err
	}
	if changed {
		p.lastChange = now
		if p.changedShare(frame) >= motionShare {
			p.lastMotion = now
		}
	}
	moving := p.full == nil || !p.lastMotion.IsZero() && now.Sub(p.lastMotion) < motionSettle
	if moving != p.moving || p.lastChange.IsZero() {
		// The decoder holds the other encoder's pictures (or none): the
		// new one starts with an IDR, however long rate control skips it.
		p.moving, p.needIDR = moving, true
	}
	idr := p.needIDR || keyFrame
	defer func() {
		if f.IDR {
			p.needIDR = false
		}
		p.startFull()
	}()
	if moving {
		halve(p.small, frame)
		f, err = p.motion.Encode(p.small, idr)
		return f, p.small.Rect.Size(), err
	}
	if rest := now.Sub(p.lastChange) >= restAfter; rest != p.boosted {
		p.boosted = rest
		if err := p.full.SetBitRate(p.fullRate()); err != nil {
			return h264.Frame{}, image.Point{}, err
		}
	}
	f, err = p.full.Encode(frame, idr)
	return f, p.size, err
}

// changedShare hashes frame's luma in tiles and returns the share of tiles
// that differ from the previous call's (0 on the first).
func (p *pipeline) changedShare(frame *image.YCbCr) float64 {
	cols, rows := (p.size.X+tileW-1)/tileW, (p.size.Y+tileH-1)/tileH
	if len(p.tiles) != cols*rows {
		p.tiles, p.tilesOK = make([]uint64, cols*rows), false
	}
	changed := 0
	for ty := range rows {
		for tx := range cols {
			x0, x1 := tx*tileW, min(tx*tileW+tileW, p.size.X)
			h := uint64(14695981039346656037)
			for y := ty * tileH; y < min(ty*tileH+tileH, p.size.Y); y += tileRowStep {
				row := frame.Y[y*frame.YStride+x0 : y*frame.YStride+x1]
				for len(row) >= 8 {
					h = (h ^ binary.LittleEndian.Uint64(row)) * 1099511628211
					row = row[8:]
				}
				for _, b := range row {
					h = (h ^ uint64(b)) * 1099511628211
				}
			}
			i := ty*cols + tx
			if p.tiles[i] != h {
				changed++
				p.tiles[i] = h
			}
		}
	}
	if !p.tilesOK {
		p.tilesOK = true
		return 0
	}
	return float64(changed) / float64(len(p.tiles))
}

// halve scales src down to dst, half its size (rounded down to even), by
// averaging each 2x2 block of every plane.
func halve(dst, src *image.YCbCr) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	halvePlane(dst.Y, dst.YStride, src.Y, src.YStride, w, h)
	halvePlane(dst.Cb, dst.CStride, src.Cb, src.CStride, w/2, h/2)
	halvePlane(dst.Cr, dst.CStride, src.Cr, src.CStride, w/2, h/2)
}

func halvePlane(dst []byte, dstStride int, src []byte, srcStride, w, h int) {
	for y := range h {
		a := src[2*y*srcStride : 2*y*srcStride+2*w]
		b := src[(2*y+1)*srcStride : (2*y+1)*srcStride+2*w]
		d := dst[y*dstStride : y*dstStride+w]
		for x := range d {
			d[x] = byte((uint(a[2*x]) + uint(a[2*x+1]) + uint(b[2*x]) + uint(b[2*x+1]) + 2) >> 2)
		}
	}
}
