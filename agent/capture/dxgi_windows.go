//go:build windows

package capture

import (
	"errors"
	"fmt"
	"image"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// COM by hand: go-d3d is not served here, and the handful of DXGI and
// Direct3D 11 calls below do not need a binding. A COM object is a
// pointer to its vtable; method i is called with the object first.
type comObject struct{ vtbl *[64]uintptr }

func (o *comObject) call(method int, args ...uintptr) hresult {
	r, _, _ := syscall.SyscallN(o.vtbl[method], append([]uintptr{uintptr(unsafe.Pointer(o))}, args...)...)
	return hresult(r)
}

func (o *comObject) release() {
	if o != nil {
		o.call(2) // IUnknown::Release
	}
}

// queryInterface asks o for the interface iid.
func (o *comObject) queryInterface(iid *windows.GUID) (*comObject, error) {
	var out *comObject
	if hr := o.call(0, uintptr(unsafe.Pointer(iid)), uintptr(unsafe.Pointer(&out))); hr.failed() {
		return nil, hr.err("QueryInterface")
	}
	return out, nil
}

type hresult uint32

func (h hresult) failed() bool { return int32(h) < 0 }

func (h hresult) err(what string) error {
	return fmt.Errorf("capture: %s: HRESULT 0x%08X", what, uint32(h))
}

// vtable slots used below, counted from IUnknown's three.
const (
	factoryEnumAdapters1 = 12 // IDXGIFactory1::EnumAdapters1
	adapterEnumOutputs   = 7  // IDXGIAdapter::EnumOutputs
	outputGetDesc        = 7  // IDXGIOutput::GetDesc
	output1Duplicate     = 22 // IDXGIOutput1::DuplicateOutput
	duplGetDesc          = 7  // IDXGIOutputDuplication::GetDesc
	duplAcquireNextFrame = 8
	duplGetDirtyRects    = 9
	duplGetMoveRects     = 10
	duplReleaseFrame     = 14
	deviceCreateTexture  = 5  // ID3D11Device::CreateTexture2D
	contextMap           = 14 // ID3D11DeviceContext::Map
	contextUnmap         = 15
	contextCopyRegion    = 46 // CopySubresourceRegion
	contextCopyResource  = 47
)

var (
	iidIDXGIFactory1   = windows.GUID{Data1: 0x770aae78, Data2: 0xf26f, Data3: 0x4dba, Data4: [8]byte{0xa8, 0x29, 0x25, 0x3c, 0x83, 0xd1, 0xb3, 0x87}}
	iidIDXGIOutput1    = windows.GUID{Data1: 0x00cddea8, Data2: 0x939b, Data3: 0x4b83, Data4: [8]byte{0xa3, 0x40, 0xa6, 0x85, 0x22, 0x66, 0x66, 0xcc}}
	iidID3D11Texture2D = windows.GUID{Data1: 0x6f15aaf2, Data2: 0xd208, Data3: 0x4e89, Data4: [8]byte{0x9a, 0xb4, 0x48, 0x95, 0x35, 0xd3, 0x4f, 0x9c}}

	dxgiDLL                = windows.NewLazySystemDLL("dxgi.dll")
	d3d11DLL               = windows.NewLazySystemDLL("d3d11.dll")
	procCreateDXGIFactory1 = dxgiDLL.NewProc("CreateDXGIFactory1")
	procD3D11CreateDevice  = d3d11DLL.NewProc("D3D11CreateDevice")
)

// DXGI results that are not failures of ours.
const (
	dxgiErrWaitTimeout   hresult = 0x887A0027 // nothing new within the timeout
	dxgiErrAccessLost    hresult = 0x887A0026 // mode change, desktop switch, full-screen app
	dxgiErrNotFound      hresult = 0x887A0002 // no more adapters or outputs
	eAccessDenied        hresult = 0x80070005 // secure desktop
	dxgiErrUnsupported   hresult = 0x887A0004
	formatB8G8R8A8       uint32  = 87 // DXGI_FORMAT_B8G8R8A8_UNORM
	usageStaging         uint32  = 3
	cpuAccessRead        uint32  = 0x20000
	mapRead              uint32  = 1
	d3d11SDKVersion              = 7
	driverTypeUnknown            = 0
	maxDirtyRectsBuffer          = 64 << 10
	acquireTimeoutMillis         = 0 // Grab polls; the frame loop sets the pace
)

// outputDesc is DXGI_OUTPUT_DESC.
type outputDesc struct {
	deviceName [32]uint16
	coords     windows.Rect
	attached   int32
	rotation   uint32
	monitor    uintptr
}

// frameInfo is DXGI_OUTDUPL_FRAME_INFO.
type frameInfo struct {
	lastPresentTime     int64
	lastMouseUpdateTime int64
	accumulatedFrames   uint32
	rectsCoalesced      int32
	protectedMaskedOut  int32
	pointerX, pointerY  int32
	pointerVisible      int32
	metadataBufferSize  uint32
	pointerShapeBufSize uint32
}

// texture2DDesc is D3D11_TEXTURE2D_DESC.
type texture2DDesc struct {
	width, height, mipLevels, arraySize uint32
	format                              uint32
	sampleCount, sampleQuality          uint32
	usage, bindFlags, cpuAccess, misc   uint32
}

// moveRect is DXGI_OUTDUPL_MOVE_RECT.
type moveRect struct {
	sourceX, sourceY int32
	dest             windows.Rect
}

// box is D3D11_BOX.
type box struct{ left, top, front, right, bottom, back uint32 }

// mapped is D3D11_MAPPED_SUBRESOURCE.
type mapped struct {
	data       unsafe.Pointer
	rowPitch   uint32
	depthPitch uint32
}

// dxgi captures one monitor through Desktop Duplication: Windows hands
// over a frame only when something was drawn, with the rectangles that
// changed, and only those are copied from the GPU into the staging
// texture and from there into pix. Rotated outputs are captured as the
// GPU holds them (unrotated).
type dxgi struct {
	mon     monitor
	device  *comObject // ID3D11Device
	context *comObject // ID3D11DeviceContext
	output  *comObject // IDXGIOutput1
	dupl    *comObject // IDXGIOutputDuplication
	staging *comObject // ID3D11Texture2D, CPU-readable
	size    image.Point
	pix     []byte // the whole desktop image, BGRX, 4*size.X per row
	full    bool   // pix holds a whole picture (the first frame was copied)
	rects   []byte // GetFrameDirtyRects/GetFrameMoveRects buffer
	closed  bool
}

func newDXGI(m monitor) (_ *dxgi, err error) {
	if err := procCreateDXGIFactory1.Find(); err != nil {
		return nil, fmt.Errorf("capture: no DXGI: %w", err)
	}
	var factory *comObject
	if r, _, _ := procCreateDXGIFactory1.Call(uintptr(unsafe.Pointer(&iidIDXGIFactory1)), uintptr(unsafe.Pointer(&factory))); hresult(r).failed() {
		return nil, hresult(r).err("CreateDXGIFactory1")
	}
	defer factory.release()
	adapter, output, err := findOutput(factory, m.handle)
	if err != nil {
		return nil, err
	}
	defer adapter.release()
	d := &dxgi{mon: m, rects: make([]byte, maxDirtyRectsBuffer)}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	d.output, err = output.queryInterface(&iidIDXGIOutput1)
	output.release()
	if err != nil {
		return nil, fmt.Errorf("capture: no IDXGIOutput1 (Windows 8 or later needed): %w", err)
	}
	if r, _, _ := procD3D11CreateDevice.Call(uintptr(unsafe.Pointer(adapter)), driverTypeUnknown, 0, 0, 0, 0,
		d3d11SDKVersion, uintptr(unsafe.Pointer(&d.device)), 0, uintptr(unsafe.Pointer(&d.context))); hresult(r).failed() {
		return nil, hresult(r).err("D3D11CreateDevice")
	}
	if err = d.duplicate(); err != nil {
		return nil, err
	}
	return d, nil
}

// findOutput returns the adapter and output showing monitor h.
func findOutput(factory *comObject, h uintptr) (adapter, output *comObject, err error) {
	for i := uintptr(0); ; i++ {
		var a *comObject
		if hr := factory.call(factoryEnumAdapters1, i, uintptr(unsafe.Pointer(&a))); hr.failed() {
			if hr == dxgiErrNotFound {
				return nil, nil, errors.New("capture: no DXGI output shows this monitor")
			}
			return nil, nil, hr.err("EnumAdapters1")
		}
		for j := uintptr(0); ; j++ {
			var o *comObject
			if hr := a.call(adapterEnumOutputs, j, uintptr(unsafe.Pointer(&o))); hr.failed() {
				break
			}
			var desc outputDesc
			if hr := o.call(outputGetDesc, uintptr(unsafe.Pointer(&desc))); !hr.failed() && desc.monitor == h {
				return a, o, nil
			}
			o.release()
		}
		a.release()
	}
}

// duplicate (re)creates the duplication and the staging texture; after
// DXGI_ERROR_ACCESS_LOST the old one is dead and a new one is needed.
func (d *dxgi) duplicate() error {
	d.dupl.release()
	d.staging.release()
	d.dupl, d.staging, d.full = nil, nil, false
	if hr := d.output.call(output1Duplicate, uintptr(unsafe.Pointer(d.device)), uintptr(unsafe.Pointer(&d.dupl))); hr.failed() {
		d.dupl = nil
		switch hr {
		case eAccessDenied:
			return ErrSecureDesktop
		case dxgiErrUnsupported:
			return errors.New("capture: desktop duplication unsupported (remote session or driver)")
		}
		return hr.err("DuplicateOutput")
	}
	// DXGI_OUTDUPL_DESC begins with the mode's width and height.
	var desc [9]uint32
	d.dupl.call(duplGetDesc, uintptr(unsafe.Pointer(&desc)))
	d.size = image.Pt(int(desc[0]), int(desc[1]))
	d.mon.bounds = image.Rectangle{Min: d.mon.bounds.Min, Max: d.mon.bounds.Min.Add(d.size)}
	td := texture2DDesc{width: desc[0], height: desc[1], mipLevels: 1, arraySize: 1, format: formatB8G8R8A8,
		sampleCount: 1, usage: usageStaging, cpuAccess: cpuAccessRead}
	if hr := d.device.call(deviceCreateTexture, uintptr(unsafe.Pointer(&td)), 0, uintptr(unsafe.Pointer(&d.staging))); hr.failed() {
		d.staging = nil
		return hr.err("CreateTexture2D")
	}
	if len(d.pix) != 4*d.size.X*d.size.Y {
		d.pix = make([]byte, 4*d.size.X*d.size.Y)
	}
	return nil
}

func (d *dxgi) Bounds() image.Rectangle { return d.mon.bounds }

func (d *dxgi) String() string { return fmt.Sprintf("DXGI desktop duplication %v", d.mon.bounds) }

// attached may be called from any goroutine: the handle never changes.
func (d *dxgi) attached() bool { return d.mon.attached() }

func (*dxgi) Method() string { return MethodDXGI }

// next takes the next frame into pix, copying only what changed. It
// returns ErrUnchanged when nothing was drawn (a pointer move alone is
// not a change: the cursor is not part of the picture).
func (d *dxgi) next() error {
	if d.dupl == nil {
		if err := d.duplicate(); err != nil {
			return err
		}
	}
	var info frameInfo
	var res *comObject
	hr := d.dupl.call(duplAcquireNextFrame, acquireTimeoutMillis, uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&res)))
	switch {
	case hr == dxgiErrWaitTimeout:
		return ErrUnchanged
	case hr == dxgiErrAccessLost:
		// Resolution change or desktop switch: start again next time.
		d.dupl.release()
		d.dupl = nil
		if SecureDesktop() {
			return ErrSecureDesktop
		}
		return ErrUnchanged
	case hr.failed():
		return hr.err("AcquireNextFrame")
	}
	defer d.dupl.call(duplReleaseFrame)
	defer res.release()
	if info.lastPresentTime == 0 && d.full {
		return ErrUnchanged
	}
	tex, err := res.queryInterface(&iidID3D11Texture2D)
	if err != nil {
		return err
	}
	defer tex.release()
	areas, err := d.changed(info)
	if err != nil {
		return err
	}
	if areas == nil {
		d.context.call(contextCopyResource, uintptr(unsafe.Pointer(d.staging)), uintptr(unsafe.Pointer(tex)))
	}
	for _, r := range areas {
		b := box{left: uint32(r.Left), top: uint32(r.Top), right: uint32(r.Right), bottom: uint32(r.Bottom), back: 1}
		d.context.call(contextCopyRegion, uintptr(unsafe.Pointer(d.staging)), 0, uintptr(r.Left), uintptr(r.Top), 0,
			uintptr(unsafe.Pointer(tex)), 0, uintptr(unsafe.Pointer(&b)))
	}
	var m mapped
	if hr := d.context.call(contextMap, uintptr(unsafe.Pointer(d.staging)), 0, uintptr(mapRead), 0, uintptr(unsafe.Pointer(&m))); hr.failed() {
		return hr.err("Map")
	}
	defer d.context.call(contextUnmap, uintptr(unsafe.Pointer(d.staging)), 0)
	src := unsafe.Slice((*byte)(m.data), int(m.rowPitch)*d.size.Y)
	if areas == nil {
		areas = []windows.Rect{{Right: int32(d.size.X), Bottom: int32(d.size.Y)}}
	}
	for _, r := range areas {
		for y := int(r.Top); y < int(r.Bottom); y++ {
			copy(d.pix[y*4*d.size.X+4*int(r.Left):y*4*d.size.X+4*int(r.Right)],
				src[y*int(m.rowPitch)+4*int(r.Left):y*int(m.rowPitch)+4*int(r.Right)])
		}
	}
	d.full = true
	return nil
}

// changed lists the rectangles of the frame that differ from pix, clipped
// to the screen: the destinations of moved areas and the dirty ones. nil
// means all of it (the first frame, or rectangles that did not fit).
func (d *dxgi) changed(info frameInfo) ([]windows.Rect, error) {
	if !d.full || info.metadataBufferSize == 0 || int(info.metadataBufferSize) > len(d.rects) {
		return nil, nil
	}
	var out []windows.Rect
	var n uint32
	if hr := d.dupl.call(duplGetMoveRects, uintptr(len(d.rects)), uintptr(unsafe.Pointer(&d.rects[0])), uintptr(unsafe.Pointer(&n))); hr.failed() {
		return nil, hr.err("GetFrameMoveRects")
	}
	moves := unsafe.Slice((*moveRect)(unsafe.Pointer(&d.rects[0])), int(n)/int(unsafe.Sizeof(moveRect{})))
	for _, mv := range moves {
		out = append(out, mv.dest)
	}
	if hr := d.dupl.call(duplGetDirtyRects, uintptr(len(d.rects)), uintptr(unsafe.Pointer(&d.rects[0])), uintptr(unsafe.Pointer(&n))); hr.failed() {
		return nil, hr.err("GetFrameDirtyRects")
	}
	out = append(out, unsafe.Slice((*windows.Rect)(unsafe.Pointer(&d.rects[0])), int(n)/int(unsafe.Sizeof(windows.Rect{})))...)
	screen := image.Rect(0, 0, d.size.X, d.size.Y)
	kept := out[:0]
	for _, r := range out {
		c := image.Rect(int(r.Left), int(r.Top), int(r.Right), int(r.Bottom)).Intersect(screen)
		if !c.Empty() {
			kept = append(kept, windows.Rect{Left: int32(c.Min.X), Top: int32(c.Min.Y), Right: int32(c.Max.X), Bottom: int32(c.Max.Y)})
		}
	}
	if len(kept) == 0 {
		return nil, nil
	}
	return kept, nil
}

func (d *dxgi) grab(dst *image.YCbCr) error {
	if err := d.next(); err != nil {
		return err
	}
	if err := fits(dst, d.size); err != nil {
		return err
	}
	toI420(dst, d.pix, 4*d.size.X, orderBGRX)
	return nil
}

// Capture returns the latest picture; it takes a new frame when there is
// one.
func (d *dxgi) Capture() (*image.RGBA, error) {
	if err := d.next(); err != nil && !errors.Is(err, ErrUnchanged) {
		return nil, err
	}
	if !d.full {
		return nil, errors.New("capture: no frame from desktop duplication yet")
	}
	return bgrxToRGBA(d.pix, 4*d.size.X, d.mon.bounds), nil
}

// Close releases every COM object; it is safe to call more than once.
func (d *dxgi) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	for _, o := range []*comObject{d.staging, d.dupl, d.output, d.context, d.device} {
		o.release()
	}
	d.pix = nil
	return nil
}
