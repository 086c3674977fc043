// Package h264 is the agent's own bridge to OpenH264: an encoder whose
// usage type, quantiser bounds and size the frame loop chooses, and a
// decoder to measure what it sends.
//
// It links the static OpenH264 2.1.1 library that
// github.com/pion/mediadevices/pkg/codec/openh264 bundles (imported below
// for that alone), with that release's headers copied under include/
// (BSD-2, include/openh264/LICENSE). The mediadevices bridge fixes what
// the agent needs to change: its parameters have no quantiser bounds, so
// screen content stays at OpenH264's QP 26..35 and text at rest stops at
// ~37 dB PSNR (bench/pipeline.md), and it cannot lower the library's
// stderr tracing.
//
// An Encoder or Decoder must be used from one goroutine at a time.
package h264

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include <string.h>
#include <openh264/codec_api.h>

typedef struct {
	ISVCEncoder *e;
	SFrameBSInfo info;
} mk_enc;

static int mk_enc_new(mk_enc **out, int w, int h, float fps, int bps, int screen, int minqp, int maxqp) {
	mk_enc *x = calloc(1, sizeof(mk_enc));
	if (!x) return -1;
	int rv = WelsCreateSVCEncoder(&x->e);
	if (rv != 0 || !x->e) { free(x); return rv ? rv : -1; }
	int quiet = WELS_LOG_QUIET;
	(*x->e)->SetOption(x->e, ENCODER_OPTION_TRACE_LEVEL, &quiet);
	SEncParamExt p;
	(*x->e)->GetDefaultParams(x->e, &p);
	p.iUsageType = screen ? SCREEN_CONTENT_REAL_TIME : CAMERA_VIDEO_REAL_TIME;
	p.iPicWidth = w;
	p.iPicHeight = h;
	p.iTargetBitrate = bps;
	p.iMaxBitrate = bps;
	p.iRCMode = RC_BITRATE_MODE;
	p.fMaxFrameRate = fps;
	p.bEnableFrameSkip = true;
	p.uiIntraPeriod = 0;
	p.iMultipleThreadIdc = 1;
	p.iMinQp = minqp;
	p.iMaxQp = maxqp;
	p.sSpatialLayers[0].iVideoWidth = w;
	p.sSpatialLayers[0].iVideoHeight = h;
	p.sSpatialLayers[0].fFrameRate = fps;
	p.sSpatialLayers[0].iSpatialBitrate = bps;
	p.sSpatialLayers[0].iMaxSpatialBitrate = bps;
	p.sSpatialLayers[0].sSliceArgument.uiSliceMode = SM_SIZELIMITED_SLICE;
	p.sSpatialLayers[0].sSliceArgument.uiSliceSizeConstraint = 12800;
	rv = (*x->e)->InitializeExt(x->e, &p);
	if (rv != 0) { WelsDestroySVCEncoder(x->e); free(x); return rv; }
	*out = x;
	return 0;
}

static void mk_enc_free(mk_enc *x) {
	(*x->e)->Uninitialize(x->e);
	WelsDestroySVCEncoder(x->e);
	free(x);
}

// mk_enc_set changes the bit rate through the encoder's extended
// parameters. The quantiser bounds cannot change this way: OpenH264 2.1.1
// takes them into its rate control only when it is initialised.
static int mk_enc_set(mk_enc *x, int bps) {
	SEncParamExt p;
	int rv = (*x->e)->GetOption(x->e, ENCODER_OPTION_SVC_ENCODE_PARAM_EXT, &p);
	if (rv != 0) return rv;
	p.iTargetBitrate = bps;
	p.iMaxBitrate = bps;
	p.sSpatialLayers[0].iSpatialBitrate = bps;
	p.sSpatialLayers[0].iMaxSpatialBitrate = bps;
	return (*x->e)->SetOption(x->e, ENCODER_OPTION_SVC_ENCODE_PARAM_EXT, &p);
}

// mk_enc_encode encodes one I420 picture and returns the size of its
// bitstream (0: rate control skipped it), left in x->info until the next
// call; *idr is set when the picture is an IDR.
static int mk_enc_encode(mk_enc *x, int w, int h, unsigned char *y, unsigned char *u, unsigned char *v,
		int ystride, int cstride, long long ts, int force, int *size, int *idr) {
	if (force) (*x->e)->ForceIntraFrame(x->e, true);
	SSourcePicture pic;
	memset(&pic, 0, sizeof pic);
	pic.iColorFormat = videoFormatI420;
	pic.iPicWidth = w;
	pic.iPicHeight = h;
	pic.iStride[0] = ystride;
	pic.iStride[1] = pic.iStride[2] = cstride;
	pic.pData[0] = y;
	pic.pData[1] = u;
	pic.pData[2] = v;
	pic.uiTimeStamp = ts;
	memset(&x->info, 0, sizeof x->info);
	int rv = (*x->e)->EncodeFrame(x->e, &pic, &x->info);
	if (rv != 0) return rv;
	*idr = x->info.eFrameType == videoFrameTypeIDR;
	*size = x->info.eFrameType == videoFrameTypeSkip ? 0 : x->info.iFrameSizeInBytes;
	return 0;
}

// mk_enc_copy copies the last bitstream, NAL units in Annex B as OpenH264
// writes them, into dst of the size mk_enc_encode returned.
static void mk_enc_copy(mk_enc *x, unsigned char *dst) {
	for (int l = 0; l < x->info.iLayerNum; l++) {
		SLayerBSInfo *li = &x->info.sLayerInfo[l];
		int n = 0;
		for (int i = 0; i < li->iNalCount; i++) n += li->pNalLengthInByte[i];
		memcpy(dst, li->pBsBuf, n);
		dst += n;
	}
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"time"
	"unsafe"

	// The OpenH264 static library this package links, through that
	// package's cgo flags.
	_ "github.com/pion/mediadevices/pkg/codec/openh264"
)

// Params configure an Encoder.
type Params struct {
	// Size of the pictures, even in both directions.
	Size image.Point
	// FPS is the frame rate rate control plans for.
	FPS int
	// BitRate is the target in bits/s.
	BitRate int
	// Screen selects OpenH264's screen-content mode (hash motion search
	// for scrolls and moved windows, QP 26..35 unless MinQP says
	// otherwise) over its camera mode (cheap, for pictures in motion).
	Screen bool
	// MinQP and MaxQP bound the quantiser (1..51); 0 keeps OpenH264's
	// bounds for the mode. They hold for the encoder's life: OpenH264
	// 2.1.1 reads them into its rate control only when it starts.
	MinQP, MaxQP int
}

// Encoder is one OpenH264 encoder. Its output is Annex B: an IDR starts
// with its SPS and PPS, and every IDR may change the picture size.
type Encoder struct {
	x      *C.mk_enc
	p      Params
	start  time.Time
	buf    []byte
	closed bool
}

// Frame is one encoded picture.
type Frame struct {
	// Data is the Annex B bitstream, valid until the next Encode; empty
	// when rate control skipped the picture.
	Data []byte
	// IDR says the picture decodes on its own (SPS, PPS and IDR slices).
	IDR bool
}

// NewEncoder builds an encoder. It runs on one thread: on the two cores of
// the machines measured, OpenH264's own threads bought no frame time and
// made building a 1080p encoder slow (bench/pipeline.md).
func NewEncoder(p Params) (*Encoder, error) {
	if p.Size.X <= 0 || p.Size.Y <= 0 || p.Size.X%2 != 0 || p.Size.Y%2 != 0 {
		return nil, fmt.Errorf("h264: picture size %v must be positive and even", p.Size)
	}
	if p.FPS <= 0 || p.BitRate <= 0 {
		return nil, fmt.Errorf("h264: frame rate %d and bit rate %d must be positive", p.FPS, p.BitRate)
	}
	if err := checkQP(p.MinQP, p.MaxQP); err != nil {
		return nil, err
	}
	screen := C.int(0)
	if p.Screen {
		screen = 1
	}
	var x *C.mk_enc
	if rv := C.mk_enc_new(&x, C.int(p.Size.X), C.int(p.Size.Y), C.float(p.FPS), C.int(p.BitRate),
		screen, C.int(p.MinQP), C.int(p.MaxQP)); rv != 0 {
		return nil, fmt.Errorf("h264: build %v encoder: openh264 error %d", p.Size, int(rv))
	}
	return &Encoder{x: x, p: p, start: time.Now()}, nil
}

func checkQP(minQP, maxQP int) error {
	if minQP == 0 && maxQP == 0 {
		return nil
	}
	if minQP < 1 || maxQP > 51 || minQP > maxQP {
		return fmt.Errorf("h264: quantiser bounds %d..%d outside 1..51", minQP, maxQP)
	}
	return nil
}

// Params reports what the encoder was built with and its bit rate as last
// set.
func (e *Encoder) Params() Params { return e.p }

var errClosed = errors.New("h264: encoder closed")

// Encode encodes pic, which must have the encoder's size and 4:2:0
// subsampling; idr asks for an IDR picture.
func (e *Encoder) Encode(pic *image.YCbCr, idr bool) (Frame, error) {
	if e.closed {
		return Frame{}, errClosed
	}
	if pic.Rect.Size() != e.p.Size || pic.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return Frame{}, fmt.Errorf("h264: picture %v %v, encoder wants %v 4:2:0", pic.Rect.Size(), pic.SubsampleRatio, e.p.Size)
	}
	force := C.int(0)
	if idr {
		force = 1
	}
	var size, isIDR C.int
	y, u, v := pic.YOffset(pic.Rect.Min.X, pic.Rect.Min.Y), pic.COffset(pic.Rect.Min.X, pic.Rect.Min.Y), pic.COffset(pic.Rect.Min.X, pic.Rect.Min.Y)
	rv := C.mk_enc_encode(e.x, C.int(e.p.Size.X), C.int(e.p.Size.Y),
		(*C.uchar)(unsafe.Pointer(&pic.Y[y])), (*C.uchar)(unsafe.Pointer(&pic.Cb[u])), (*C.uchar)(unsafe.Pointer(&pic.Cr[v])),
		C.int(pic.YStride), C.int(pic.CStride), C.longlong(time.Since(e.start).Milliseconds()), force, &size, &isIDR)
	if rv != 0 {
		return Frame{}, fmt.Errorf("h264: encode: openh264 error %d", int(rv))
	}
	if size == 0 {
		return Frame{}, nil
	}
	if cap(e.buf) < int(size) {
		e.buf = make([]byte, int(size)+int(size)/4)
	}
	e.buf = e.buf[:size]
	C.mk_enc_copy(e.x, (*C.uchar)(unsafe.Pointer(&e.buf[0])))
	return Frame{Data: e.buf, IDR: isIDR != 0}, nil
}

// SetBitRate changes the rate control's target from the next picture on,
// without an IDR.
func (e *Encoder) SetBitRate(bps int) error {
	if bps <= 0 {
		return fmt.Errorf("h264: bit rate %d must be positive", bps)
	}
	if e.closed {
		return errClosed
	}
	if rv := C.mk_enc_set(e.x, C.int(bps)); rv != 0 {
		return fmt.Errorf("h264: set bit rate: openh264 error %d", int(rv))
	}
	e.p.BitRate = bps
	return nil
}

// Close frees the encoder; later calls do nothing.
func (e *Encoder) Close() {
	if e.closed {
		return
	}
	e.closed = true
	C.mk_enc_free(e.x)
}
