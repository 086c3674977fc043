//go:build windows

package capture

import (
	"bytes"
	"fmt"
	"image"
	"unsafe"
)

// gdi captures one monitor with BitBlt from the screen's device context
// into a DIB section kept for the life of the Source: the picture lands in
// memory we read directly, with no GetDIBits copy and no allocation per
// frame. GDI cannot say what changed, so each grab is compared with the
// previous one to report ErrUnchanged (cheaper than encoding it again).
type gdi struct {
	mon    monitor
	screen uintptr // the screen's DC (GetDC(NULL))
	mem    uintptr // memory DC holding bitmap
	bitmap uintptr // DIB section, top-down 32-bit BGRX
	prev   uintptr // the memory DC's previous bitmap, selected back on Close
	size   image.Point
	pix    []byte // the DIB section's pixels
	last   []byte // the previous grab's pixels, for ErrUnchanged
	closed bool
}

// bitmapInfoHeader is BITMAPINFOHEADER (a BITMAPINFO without a colour
// table, which 32-bit DIBs do not have).
type bitmapInfoHeader struct {
	size          uint32
	width, height int32
	planes, bits  uint16
	compression   uint32
	sizeImage     uint32
	xPPM, yPPM    int32
	clrUsed       uint32
	clrImportant  uint32
}

const (
	srcCopy    = 0x00CC0020 // SRCCOPY
	captureBlt = 0x40000000 // CAPTUREBLT: include layered (translucent) windows
)

func newGDI(m monitor) (*gdi, error) {
	g := &gdi{mon: m}
	r, _, err := procGetDC.Call(0)
	if r == 0 {
		return nil, callErr("GetDC", err)
	}
	g.screen = r
	if r, _, err = procCreateCompatibleDC.Call(g.screen); r == 0 {
		g.Close()
		return nil, callErr("CreateCompatibleDC", err)
	}
	g.mem = r
	if err := g.alloc(m.bounds.Size()); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// alloc makes the DIB section for a monitor of the given size, replacing
// the previous one.
func (g *gdi) alloc(size image.Point) error {
	g.freeBitmap()
	hdr := bitmapInfoHeader{width: int32(size.X), height: -int32(size.Y), // negative: top-down rows
		planes: 1, bits: 32}
	hdr.size = uint32(unsafe.Sizeof(hdr))
	var bits unsafe.Pointer
	r, _, err := procCreateDIBSection.Call(g.mem, uintptr(unsafe.Pointer(&hdr)), 0, // DIB_RGB_COLORS
		uintptr(unsafe.Pointer(&bits)), 0, 0)
	if r == 0 || bits == nil {
		return callErr(fmt.Sprintf("CreateDIBSection %v", size), err)
	}
	g.bitmap = r
	g.prev, _, _ = procSelectObject.Call(g.mem, g.bitmap)
	g.pix = unsafe.Slice((*byte)(bits), 4*size.X*size.Y)
	g.size, g.last = size, nil
	return nil
}

func (g *gdi) freeBitmap() {
	if g.bitmap == 0 {
		return
	}
	_, _, _ = procSelectObject.Call(g.mem, g.prev)
	_, _, _ = procDeleteObject.Call(g.bitmap)
	g.bitmap, g.pix = 0, nil
}

func (g *gdi) Bounds() image.Rectangle { return g.mon.bounds }

func (g *gdi) String() string { return fmt.Sprintf("GDI BitBlt %v", g.mon.bounds) }

// attached may be called from any goroutine: the handle never changes.
func (g *gdi) attached() bool { return g.mon.attached() }

func (*gdi) Method() string { return MethodGDI }

// shot copies the monitor into the DIB section, first following a
// resolution change (a new DIB) and failing once the monitor is gone.
func (g *gdi) shot() error {
	b, _, err := monitorBounds(g.mon.handle)
	if err != nil {
		return fmt.Errorf("capture: monitor %v is gone: %w", g.mon.bounds, err)
	}
	if b.Size() != g.size {
		if err := g.alloc(b.Size()); err != nil {
			return err
		}
	}
	g.mon.bounds = b
	r, _, err := procBitBlt.Call(g.mem, 0, 0, uintptr(g.size.X), uintptr(g.size.Y),
		g.screen, uintptr(b.Min.X), uintptr(b.Min.Y), srcCopy|captureBlt)
	if r == 0 {
		if SecureDesktop() {
			return ErrSecureDesktop
		}
		return callErr("BitBlt", err)
	}
	return nil
}

func (g *gdi) grab(dst *image.YCbCr) error {
	if err := g.shot(); err != nil {
		return err
	}
	if err := fits(dst, g.size); err != nil {
		return err
	}
	if g.last != nil && bytes.Equal(g.last, g.pix) {
		return ErrUnchanged
	}
	toI420(dst, g.pix, 4*g.size.X, orderBGRX)
	g.last = append(g.last[:0], g.pix...)
	return nil
}

func (g *gdi) Capture() (*image.RGBA, error) {
	if err := g.shot(); err != nil {
		return nil, err
	}
	return bgrxToRGBA(g.pix, 4*g.size.X, g.mon.bounds), nil
}

// Close releases the bitmap and both device contexts; it is safe to call
// more than once.
func (g *gdi) Close() error {
	if g.closed {
		return nil
	}
	g.closed = true
	g.freeBitmap()
	if g.mem != 0 {
		_, _, _ = procDeleteDC.Call(g.mem)
	}
	if g.screen != 0 {
		_, _, _ = procReleaseDC.Call(0, g.screen)
	}
	g.last = nil
	return nil
}
