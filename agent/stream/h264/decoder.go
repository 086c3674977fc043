package h264

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include <string.h>
#include <openh264/codec_api.h>

static long mk_dec_new(ISVCDecoder **out) {
	long rv = WelsCreateDecoder(out);
	if (rv != 0 || !*out) return rv ? rv : -1;
	int quiet = WELS_LOG_QUIET;
	(**out)->SetOption(*out, DECODER_OPTION_TRACE_LEVEL, &quiet);
	SDecodingParam p;
	memset(&p, 0, sizeof p);
	p.sVideoProperty.eVideoBsType = VIDEO_BITSTREAM_AVC;
	rv = (**out)->Initialize(*out, &p);
	if (rv != 0) { WelsDestroyDecoder(*out); return rv; }
	return 0;
}

static void mk_dec_free(ISVCDecoder *d) {
	(*d)->Uninitialize(d);
	WelsDestroyDecoder(d);
}

// mk_dec_decode decodes one access unit; when a picture comes out, its
// planes and geometry are in dst and info.
static int mk_dec_decode(ISVCDecoder *d, const unsigned char *src, int n, unsigned char **dst, SBufferInfo *info) {
	memset(info, 0, sizeof *info);
	return (*d)->DecodeFrameNoDelay(d, src, n, dst, info);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// Decoder turns what an Encoder wrote back into pictures, so tests and
// the bench can score a stream's sharpness against its source without a
// browser.
type Decoder struct {
	d      *C.ISVCDecoder
	closed bool
}

// NewDecoder builds a decoder.
func NewDecoder() (*Decoder, error) {
	var d *C.ISVCDecoder
	if rv := C.mk_dec_new(&d); rv != 0 {
		return nil, fmt.Errorf("h264: build decoder: openh264 error %d", int(rv))
	}
	return &Decoder{d: d}, nil
}

// Decode decodes one encoded picture (an Encoder's Frame.Data) and returns
// a copy of the picture it yields, or nil when it yields none.
func (d *Decoder) Decode(au []byte) (*image.YCbCr, error) {
	if d.closed {
		return nil, errors.New("h264: decoder closed")
	}
	if len(au) == 0 {
		return nil, nil
	}
	var planes [3]*C.uchar
	var info C.SBufferInfo
	if rv := C.mk_dec_decode(d.d, (*C.uchar)(unsafe.Pointer(&au[0])), C.int(len(au)), &planes[0], &info); rv != 0 {
		return nil, fmt.Errorf("h264: decode: openh264 state %#x", int(rv))
	}
	if info.iBufferStatus != 1 {
		return nil, nil
	}
	buf := (*C.SSysMEMBuffer)(unsafe.Pointer(&info.UsrData))
	w, h := int(buf.iWidth), int(buf.iHeight)
	ys, cs := int(buf.iStride[0]), int(buf.iStride[1])
	pic := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	copyPlane(pic.Y, pic.YStride, planes[0], ys, w, h)
	copyPlane(pic.Cb, pic.CStride, planes[1], cs, (w+1)/2, (h+1)/2)
	copyPlane(pic.Cr, pic.CStride, planes[2], cs, (w+1)/2, (h+1)/2)
	return pic, nil
}

func copyPlane(dst []byte, dstStride int, src *C.uchar, srcStride, w, h int) {
	s := unsafe.Slice((*byte)(unsafe.Pointer(src)), (h-1)*srcStride+w)
	for row := range h {
		copy(dst[row*dstStride:row*dstStride+w], s[row*srcStride:])
	}
}

// Close frees the decoder; later calls do nothing.
func (d *Decoder) Close() {
	if d.closed {
		return
	}
	d.closed = true
	C.mk_dec_free(d.d)
}
