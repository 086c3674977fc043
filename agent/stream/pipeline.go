package stream

import (
	"encoding/binary"
	"fmt"
	"image"
	"time"

	"github.com/meekijk/meekijk/agent/stream/h264"
)

// The encoders' settings, chosen by measurement (bench/pipeline.md).
const (
	// Screen content's quantiser bounds. OpenH264's own, 26..35, stop
	// text at rest near 37 dB PSNR; from 16 its rate control goes on
	// refining a still picture while the bit rate allows, and a scroll
	// costs the same bytes (rate control, not the bound, sets its QP).
	screenMinQP, screenMaxQP = 16, 35

	// restBoost multiplies the encoder's bit rate while the screen is
	// still, up to maxRestRate, so the refinement reaches text sharpness
	// (>= 40 dB) within half a second instead of several: at 3 Mbit/s a
	// dense 1080p page was at 38 dB a second after it stopped, at
	// 9 Mbit/s at 41 dB after 0.4 s. It is a burst of a few hundred
	// kilobytes once per stop; the congestion controller hears of it as
	// of any other traffic.
	restBoost   = 3
	maxRestRate = 16_000_000
	// restAfter is how long the screen must be still before the boost:
	// longer than the gap between typed keys (12 a second), so typing is
	// not refined between strokes.
	restAfter = 100 * time.Millisecond

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
// sharp, and, while large areas move, a half-resolution camera-mode one.
// Screen content's motion search cost 61-126 ms of CPU per frame while a
// large window moved on a busy machine (3-8 frames/s); camera mode at half
// the size costs a few milliseconds. The picture falls back to full
// resolution, with an IDR, motionSettle after the motion stops, and the
// still picture is then refined at a boosted bit rate.
//
// The frame loop's goroutine is its only user.
type pipeline struct {
	size    image.Point
	fps     int
	full    *h264.Encoder
	motion  *h264.Encoder // built at the first large motion
	small   *image.YCbCr  // the frame halved, for motion
	tiles   []uint64      // the last frame's tile hashes
	tilesOK bool

	moving     bool      // the last picture came from motion
	needIDR    bool      // the encoder in use has not sent an IDR since the switch
	lastMotion time.Time // the last capture with a large change
	lastChange time.Time
	target     int  // the congestion controller's rate
	boosted    bool // full is at the rest rate
}

func newPipeline(size image.Point, fps, bitRate int) (*pipeline, error) {
	full, err := h264.NewEncoder(h264.Params{Size: size, FPS: fps, BitRate: bitRate, Screen: true,
		MinQP: screenMinQP, MaxQP: screenMaxQP})
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	return &pipeline{size: size, fps: fps, full: full, target: bitRate}, nil
}

func (p *pipeline) close() {
	p.full.Close()
	if p.motion != nil {
		p.motion.Close()
	}
}

// setTarget hands the congestion controller's rate to both encoders (the
// still screen's boost rides on it).
func (p *pipeline) setTarget(bps int) error {
	p.target = bps
	if err := p.full.SetBitRate(p.fullRate()); err != nil {
		return err
	}
	if p.motion != nil {
		return p.motion.SetBitRate(bps)
	}
	return nil
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
// out of motion) always starts with an IDR carrying the new SPS and PPS,
// both encoders using SPS and PPS id 0, so a decoder (or a recording)
// that follows the IDRs follows the size.
func (p *pipeline) encode(frame *image.YCbCr, now time.Time, changed, keyFrame bool) (f h264.Frame, size image.Point, err error) {
	if changed {
		p.lastChange = now
		if p.changedShare(frame) >= motionShare {
			p.lastMotion = now
		}
	}
	moving := !p.lastMotion.IsZero() && now.Sub(p.lastMotion) < motionSettle
	if moving != p.moving {
		// The decoder holds the other encoder's pictures: the new one
		// starts with an IDR, however long rate control skips it.
		p.moving, p.needIDR = moving, true
	}
	idr := p.needIDR || keyFrame
	defer func() {
		if f.IDR {
			p.needIDR = false
		}
	}()
	if moving {
		if p.motion == nil {
			half := image.Pt(p.size.X/2&^1, p.size.Y/2&^1)
			if p.motion, err = h264.NewEncoder(h264.Params{Size: half, FPS: p.fps, BitRate: p.target}); err != nil {
				p.moving = false
				return h264.Frame{}, image.Point{}, fmt.Errorf("stream: %w", err)
			}
			p.small = image.NewYCbCr(image.Rectangle{Max: half}, image.YCbCrSubsampleRatio420)
		}
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
