package capture

import (
	"encoding/binary"
	"fmt"
	"image"
	"math/bits"
	"runtime"
	"sync"
)

// RGBAToI420 converts src into dst using BT.601 limited-range
// coefficients (the matrix H.264 decoders assume when the stream carries
// no colour description), with each chroma sample the average of its
// 2x2 block. Odd widths and heights are handled by averaging the partial
// block at the edge.
//
// dst must come from image.NewYCbCr(r, image.YCbCrSubsampleRatio420) with
// r the same size as src.Bounds(); the origins may differ, but dst's must
// be even so that its chroma blocks start at the picture's corner. Alpha
// is ignored: screen captures are opaque. It panics on a size,
// subsampling or origin mismatch, as copying into a wrongly made frame is
// a programming error.
func RGBAToI420(dst *image.YCbCr, src *image.RGBA) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	if checkFrame(dst) != nil || dst.Rect.Dx() != w || dst.Rect.Dy() != h {
		panic(fmt.Sprintf("capture: RGBAToI420: dst %v %v does not fit src %v",
			dst.Rect, dst.SubsampleRatio, src.Rect))
	}
	if w == 0 || h == 0 {
		return
	}
	toI420(dst, src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y):], src.Stride, orderRGBA)
}

// checkFrame says why dst cannot take a conversion, if it cannot.
func checkFrame(dst *image.YCbCr) error {
	if dst.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return fmt.Errorf("capture: frame is %v, want 4:2:0", dst.SubsampleRatio)
	}
	if dst.Rect.Min.X%2 != 0 || dst.Rect.Min.Y%2 != 0 {
		return fmt.Errorf("capture: frame origin %v is odd", dst.Rect.Min)
	}
	return nil
}

// pixelOrder says where a 32-bit little-endian pixel keeps red and blue;
// green is always the second byte. Only these two orders exist in
// practice: image.RGBA, and X servers' 24-bit TrueColor (BGRX).
type pixelOrder struct {
	// kY multiplies a pixel's red/blue pair (masked to bytes 0 and 2)
	// so that 16 bits up it holds 66*r + 25*b: see luma2.
	kY uint64
	// rot turns the averaged pair into blue low, red high: see chroma4.
	rot int
}

var (
	orderRGBA = pixelOrder{kY: 25 + 66<<16, rot: 16}
	orderBGRX = pixelOrder{kY: 66 + 25<<16, rot: 0}
)

// Below this many rows a frame is converted on the calling goroutine: a
// helper goroutine costs more than it saves on a small picture.
const minParallelRows = 128

// toI420 converts the dst-sized top-left corner of pix, whose rows are
// stride bytes apart, into dst. The picture is cut into horizontal bands
// of whole 2x2 blocks, converted side by side on up to GOMAXPROCS
// goroutines (at most 4) that all finish before it returns: the encoder
// waits for the frame anyway, and on two cores this halves the wait.
func toI420(dst *image.YCbCr, pix []byte, stride int, order pixelOrder) {
	h := dst.Rect.Dy()
	bands := min(runtime.GOMAXPROCS(0), 4, h/minParallelRows)
	if bands <= 1 {
		convertRows(dst, pix, stride, order, 0, h)
		return
	}
	pairs := (h + 1) / 2
	var wg sync.WaitGroup
	for i := 1; i < bands; i++ {
		y0, y1 := 2*(pairs*i/bands), min(h, 2*(pairs*(i+1)/bands))
		wg.Go(func() { convertRows(dst, pix, stride, order, y0, y1) })
	}
	convertRows(dst, pix, stride, order, 0, 2*(pairs/bands))
	wg.Wait()
}

// convertRows converts rows [y0, y1) of the picture; y0 is even.
func convertRows(dst *image.YCbCr, pix []byte, stride int, order pixelOrder, y0, y1 int) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	cw := (w + 1) / 2
	for y := y0; y < y1; y += 2 {
		// An odd last row is a block one row high: using the same row
		// twice averages it with itself, keeping the loops branch-free.
		yb := min(y+1, h-1)
		s0 := pix[y*stride : y*stride+4*w]
		s1 := pix[yb*stride : yb*stride+4*w]
		yo := dst.YOffset(dst.Rect.Min.X, dst.Rect.Min.Y+y)
		lumaRow(dst.Y[yo:yo+w], s0, order.kY)
		if yb != y {
			lumaRow(dst.Y[yo+dst.YStride:yo+dst.YStride+w], s1, order.kY)
		}
		co := dst.COffset(dst.Rect.Min.X, dst.Rect.Min.Y+y)
		chromaRow(dst.Cb[co:co+cw], dst.Cr[co:co+cw], s0, s1, order.rot)
	}
}

// The row loops read two pixels at a time as one uint64 and compute with
// several values packed into 16-bit lanes of a word (SWAR): Go has no
// SIMD, and this halves the multiplications. Separate luma and chroma
// loops keep few enough values live that nothing spills to the stack.
// The slicing s[a:a+8] rather than s[a:] spares the compiler's
// empty-slice pointer masking in the hot loop.

const (
	laneRB = 0x00ff00ff_00ff00ff // bytes 0 and 2 of both pixels
	laneG  = 0x0000ff00_0000ff00 // byte 1 of both pixels
	// The luma formula's rounding term and +16 offset, pre-shifted so
	// they land with each pixel's sum in lanes 1 and 3.
	lumaBias = (128 + 16<<8) << 16 * (1 + 1<<32)
)

func lumaRow(d, s []byte, kY uint64) {
	n := len(d) / 4
	for i := range n {
		p := binary.LittleEndian.Uint64(s[16*i : 16*i+8])
		q := binary.LittleEndian.Uint64(s[16*i+8 : 16*i+16])
		binary.LittleEndian.PutUint32(d[4*i:4*i+4], uint32(luma2(p, kY))|uint32(luma2(q, kY))<<16)
	}
	for i := 4 * n; i < len(d); i++ {
		d[i] = uint8(luma2(uint64(binary.LittleEndian.Uint32(s[4*i:4*i+4])), kY))
	}
}

// luma2 returns the Y of the two pixels in p, first in the low byte:
// (66r + 129g + 25b + 128)>>8 + 16. With red and blue in 16-bit lanes 0
// and 1 (and 2 and 3 for the second pixel), one multiplication by kY
// puts 66r + 25b into lanes 1 and 3; the other products stay in lanes 0
// and 2 and never carry (each is at most 66*255 + 25*255 < 1<<16).
// Green times 129<<8 lands in the same lanes; with the bias a lane holds
// at most 60324, so the Y byte is the lane's high byte.
func luma2(p, kY uint64) uint16 {
	t := (p&laneRB)*kY + (p&laneG)*(129<<8) + lumaBias
	return uint16(t>>24&0xff | t>>48&0xff00)
}

func chromaRow(cb, cr, s0, s1 []byte, rot int) {
	n := len(s0) / 8
	for j := range n {
		p := binary.LittleEndian.Uint64(s0[8*j : 8*j+8])
		q := binary.LittleEndian.Uint64(s1[8*j : 8*j+8])
		cb[j], cr[j] = chroma(blockAverage(p, q, rot))
	}
	if n < len(cb) { // odd width: a block one pixel wide
		// Doubling each pixel makes the four-pixel average the
		// two-pixel one, (a+b+1)>>1, with no separate formula.
		p := uint64(binary.LittleEndian.Uint32(s0[8*n : 8*n+4]))
		q := uint64(binary.LittleEndian.Uint32(s1[8*n : 8*n+4]))
		cb[n], cr[n] = chroma(blockAverage(p|p<<32, q|q<<32, rot))
	}
}

// blockAverage returns the rounded average colour of a 2x2 block (p the
// top two pixels, q the bottom two) as blue + red<<16, and 255 minus its
// green: the form chroma takes.
func blockAverage(p, q uint64, rot int) (x, gi uint32) {
	rb := p&laneRB + q&laneRB
	rb += rb >> 32
	g := p>>8&0xff_000000ff + q>>8&0xff_000000ff
	g += g >> 32
	// Lane sums are at most 1020; (sum+2)>>2 is the rounded average, and
	// the mask drops the bits the shift moved across lanes.
	x = bits.RotateLeft32(uint32(rb+0x0002_0002)>>2&0x00ff_00ff, rot)
	return x, 255 - (uint32(g)+2)>>2
}

// chroma converts a colour given as x = b + r<<16 and gi = 255-g to
//
//	Cb = (-38r - 74g + 112b + 128)>>8 + 128
//	Cr = (112r - 94g - 18b + 128)>>8 + 128
//
// The negative terms are rewritten over 255-c (38+74 = 94+18 = 112, so
// both become (P + 4336)>>8 with P a sum of non-negative products), which
// lets blue and red share a word: b + (255-r)<<16 times 38 + 112<<16 has
// 112b + 38(255-r) in its high lane, and likewise for Cr. Results stay
// within [16,240].
func chroma(x, gi uint32) (cb, cr uint8) {
	cb = uint8(((x^0x00ff_0000)*(38+112<<16)>>16 + 74*gi + 4336) >> 8)
	cr = uint8(((x^0x0000_00ff)*(112+18<<16)>>16 + 94*gi + 4336) >> 8)
	return cb, cr
}

// bgrxToRGBA copies a BGRX picture (X11 TrueColor, Windows DIBs and DXGI
// textures all keep pixels this way), rows stride bytes apart, into a new
// opaque RGBA image with bounds b.
func bgrxToRGBA(pix []byte, stride int, b image.Rectangle) *image.RGBA {
	img := image.NewRGBA(b)
	for y := range b.Dy() {
		src := pix[y*stride : y*stride+4*b.Dx()]
		dst := img.Pix[y*img.Stride : y*img.Stride+4*b.Dx()]
		for i := 0; i < len(src); i += 4 {
			dst[i], dst[i+1], dst[i+2], dst[i+3] = src[i+2], src[i+1], src[i], 0xff
		}
	}
	return img
}
