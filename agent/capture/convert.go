package capture

import (
	"fmt"
	"image"
)

// RGBAToI420 converts src into dst using BT.601 limited-range
// coefficients (the matrix H.264 decoders assume when the stream carries
// no colour description), with each chroma sample the average of its
// 2x2 block. Odd widths and heights are handled by averaging the partial
// block at the edge.
//
// dst must come from image.NewYCbCr(r, image.YCbCrSubsampleRatio420) with
// r the same size as src.Bounds(); the origins may differ. Alpha is
// ignored: screen captures are opaque. It panics on a size or subsampling
// mismatch, as copying into a wrongly sized frame is a programming error.
func RGBAToI420(dst *image.YCbCr, src *image.RGBA) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	if dst.SubsampleRatio != image.YCbCrSubsampleRatio420 || dst.Rect.Dx() != w || dst.Rect.Dy() != h {
		panic(fmt.Sprintf("capture: RGBAToI420: dst %v %v does not fit src %v",
			dst.Rect, dst.SubsampleRatio, src.Rect))
	}
	if w == 0 || h == 0 {
		return
	}
	cw := (w + 1) / 2
	for y := 0; y < h; y += 2 {
		// On an odd last row the block is one row high: reuse the same
		// row so the averaging below stays branch-free.
		y1 := y + 1
		if y1 == h {
			y1 = y
		}
		so0 := src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y)
		so1 := src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y1)
		s0 := src.Pix[so0 : so0+4*w]
		s1 := src.Pix[so1 : so1+4*w]
		yo0 := dst.YOffset(dst.Rect.Min.X, dst.Rect.Min.Y+y)
		yo1 := dst.YOffset(dst.Rect.Min.X, dst.Rect.Min.Y+y1)
		d0 := dst.Y[yo0 : yo0+w]
		d1 := dst.Y[yo1 : yo1+w]
		co := dst.COffset(dst.Rect.Min.X, dst.Rect.Min.Y+y)
		cb := dst.Cb[co : co+cw]
		cr := dst.Cr[co : co+cw]

		half := w / 2
		for j := 0; j < half; j++ {
			x := 2 * j
			// Fixed-length sub-slices: one bounds check per slice
			// rather than one per byte.
			p := s0[4*x : 4*x+8 : len(s0)]
			q := s1[4*x : 4*x+8 : len(s1)]
			r0, g0, b0 := int32(p[0]), int32(p[1]), int32(p[2])
			r1, g1, b1 := int32(p[4]), int32(p[5]), int32(p[6])
			r2, g2, b2 := int32(q[0]), int32(q[1]), int32(q[2])
			r3, g3, b3 := int32(q[4]), int32(q[5]), int32(q[6])
			a := d0[x : x+2 : len(d0)]
			c := d1[x : x+2 : len(d1)]
			a[0] = luma(r0, g0, b0)
			a[1] = luma(r1, g1, b1)
			c[0] = luma(r2, g2, b2)
			c[1] = luma(r3, g3, b3)
			// Average the block before converting: the transform is
			// linear, so this matches averaging per-pixel chroma at a
			// quarter of the multiplications.
			r := (r0 + r1 + r2 + r3 + 2) >> 2
			g := (g0 + g1 + g2 + g3 + 2) >> 2
			b := (b0 + b1 + b2 + b3 + 2) >> 2
			cb[j], cr[j] = chroma(r, g, b)
		}
		x := 2 * half
		if x < w { // odd width: a 1-pixel-wide block at the right edge
			p := s0[4*x : 4*x+4]
			q := s1[4*x : 4*x+4]
			r0, g0, b0 := int32(p[0]), int32(p[1]), int32(p[2])
			r2, g2, b2 := int32(q[0]), int32(q[1]), int32(q[2])
			d0[x] = luma(r0, g0, b0)
			d1[x] = luma(r2, g2, b2)
			cb[x/2], cr[x/2] = chroma((r0+r2+1)>>1, (g0+g2+1)>>1, (b0+b2+1)>>1)
		}
	}
}

// luma and chroma are the usual 8-bit fixed-point BT.601 studio-swing
// formulas; their results stay within [16,235] and [16,240], so no
// clamping is needed.
func luma(r, g, b int32) uint8 {
	return uint8((66*r+129*g+25*b+128)>>8 + 16)
}

func chroma(r, g, b int32) (cb, cr uint8) {
	return uint8((-38*r-74*g+112*b+128)>>8 + 128),
		uint8((112*r-94*g-18*b+128)>>8 + 128)
}
