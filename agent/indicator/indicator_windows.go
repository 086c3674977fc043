package indicator

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The Windows window: a topmost tool window (no taskbar button, never
// activated by a click so the customer's typing stays where it was), with
// two lines of text and a Stop push button, all user32 controls so that
// they follow the system's font, contrast theme and screen reader.

var (
	user32 = windows.NewLazySystemDLL("user32.dll")
	gdi32  = windows.NewLazySystemDLL("gdi32.dll")

	procRegisterClassExW = user32.NewProc("RegisterClassExW")
	procCreateWindowExW  = user32.NewProc("CreateWindowExW")
	procDefWindowProcW   = user32.NewProc("DefWindowProcW")
	procDestroyWindow    = user32.NewProc("DestroyWindow")
	procGetMessageW      = user32.NewProc("GetMessageW")
	procTranslateMessage = user32.NewProc("TranslateMessage")
	procDispatchMessageW = user32.NewProc("DispatchMessageW")
	procPostMessageW     = user32.NewProc("PostMessageW")
	procPostQuitMessage  = user32.NewProc("PostQuitMessage")
	procShowWindow       = user32.NewProc("ShowWindow")
	procSetWindowTextW   = user32.NewProc("SetWindowTextW")
	procSendMessageW     = user32.NewProc("SendMessageW")
	procGetSystemMetrics = user32.NewProc("GetSystemMetrics")
	procSetWindowPos     = user32.NewProc("SetWindowPos")
	procLoadCursorW      = user32.NewProc("LoadCursorW")
	procCreateFontW      = gdi32.NewProc("CreateFontW")
	procDeleteObject     = gdi32.NewProc("DeleteObject")
)

const (
	wsPopup          = 0x80000000
	wsChild          = 0x40000000
	wsVisible        = 0x10000000
	wsBorder         = 0x00800000
	wsExTopmost      = 0x00000008
	wsExToolWindow   = 0x00000080
	wsExNoActivate   = 0x08000000
	bsPushButton     = 0x00000000
	ssLeft           = 0x00000000
	ssEndEllipsis    = 0x00004000
	swHide           = 0
	swShowNoActive   = 4
	wmDestroy        = 0x0002
	wmClose          = 0x0010
	wmSetFont        = 0x0030
	wmCommand        = 0x0111
	wmApp            = 0x8000
	wmChanged        = wmApp + 1 // Show or Hide was called
	wmQuit           = wmApp + 2 // Run's context ended
	smCxScreen       = 0
	hwndTopmost      = ^uintptr(0) // (HWND)-1
	swpNoSize        = 0x0001
	swpNoMove        = 0x0002
	swpNoActivate    = 0x0010
	fwNormal         = 400
	fwBold           = 700
	defaultCharset   = 1
	clearTypeQuality = 5
	colorBtnFace     = 15
	idcArrow         = 32512
	stopButtonID     = 1
	winW, winH       = 640, 64
	btnW, btnH, pad  = 110, 34, 12
)

type wndClassEx struct {
	size       uint32
	style      uint32
	wndProc    uintptr
	clsExtra   int32
	wndExtra   int32
	instance   windows.Handle
	icon       windows.Handle
	cursor     windows.Handle
	background windows.Handle
	menuName   *uint16
	className  *uint16
	iconSm     windows.Handle
}

type msg struct {
	hwnd    uintptr
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	pt      struct{ x, y int32 }
}

// platform holds the window's handle for wake, which other goroutines call.
type platform struct {
	hwnd atomic.Uintptr
}

func openPlatform(string) (*platform, error) {
	if err := user32.Load(); err != nil {
		return nil, fmt.Errorf("indicator: %w", err)
	}
	return &platform{}, nil
}

func (p *platform) wake() {
	if h := p.hwnd.Load(); h != 0 {
		procPostMessageW.Call(h, wmChanged, 0, 0)
	}
}

// window is the state the window procedure needs. Windows calls the
// procedure on the thread that runs the message loop, with no context of
// ours, so the one live window is found here.
type window struct {
	ind              *Indicator
	stop             func()
	frame            uintptr
	headline, detail uintptr
	button           uintptr
}

var (
	current     *window // only touched on the message loop's thread
	wndProcOnce sync.Once
	wndProcPtr  uintptr
	className   = windows.StringToUTF16Ptr("MeekijkIndicator")
	classOnce   sync.Once
	classErr    error
)

func wndProc(hwnd, message, wParam, lParam uintptr) uintptr {
	w := current
	switch {
	case w == nil:
	case message == wmCommand && wParam&0xffff == stopButtonID:
		w.ind.log.Info("indicator: customer clicked Stop")
		w.stop()
		return 0
	case message == wmChanged:
		w.apply()
		return 0
	case message == wmQuit:
		procDestroyWindow.Call(hwnd)
		return 0
	case message == wmClose:
		// Alt+F4 must not hide that the screen is shared: only Stop
		// ends it.
		return 0
	case message == wmDestroy && hwnd == w.frame:
		procPostQuitMessage.Call(0)
		return 0
	}
	r, _, _ := procDefWindowProcW.Call(hwnd, message, wParam, lParam)
	return r
}

func (p *platform) run(ctx context.Context, ind *Indicator, stop func()) error {
	// A window belongs to the thread that made it, and its messages are
	// read there.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	wndProcOnce.Do(func() { wndProcPtr = windows.NewCallback(wndProc) })
	instance, err := moduleHandle()
	if err != nil {
		return err
	}
	classOnce.Do(func() {
		cursor, _, _ := procLoadCursorW.Call(0, idcArrow)
		wc := wndClassEx{wndProc: wndProcPtr, instance: instance, className: className,
			cursor: windows.Handle(cursor), background: windows.Handle(colorBtnFace + 1)}
		wc.size = uint32(unsafe.Sizeof(wc))
		if r, _, e := procRegisterClassExW.Call(uintptr(unsafe.Pointer(&wc))); r == 0 {
			classErr = fmt.Errorf("indicator: register window class: %w", e)
		}
	})
	if classErr != nil {
		return classErr
	}
	screenW, _, _ := procGetSystemMetrics.Call(smCxScreen)
	frame, _, e := procCreateWindowExW.Call(wsExTopmost|wsExToolWindow|wsExNoActivate,
		uintptr(unsafe.Pointer(className)), uintptr(unsafe.Pointer(windows.StringToUTF16Ptr("Meekijk"))),
		wsPopup|wsBorder, (screenW-winW)/2, 0, winW, winH, 0, 0, uintptr(instance), 0)
	if frame == 0 {
		return fmt.Errorf("indicator: create window: %w", e)
	}
	w := &window{ind: ind, stop: stop, frame: frame}
	// Segoe UI, the system's own face, larger than the dialog default:
	// the headline must be read at a glance.
	bold, regular := newFont(16, fwBold), newFont(13, fwNormal)
	defer procDeleteObject.Call(bold)
	defer procDeleteObject.Call(regular)
	child := func(class string, style uintptr, x, y, cx, cy, id, font uintptr) uintptr {
		h, _, _ := procCreateWindowExW.Call(0, uintptr(unsafe.Pointer(windows.StringToUTF16Ptr(class))), 0,
			wsChild|wsVisible|style, x, y, cx, cy, frame, id, uintptr(instance), 0)
		procSendMessageW.Call(h, wmSetFont, font, 1)
		return h
	}
	textW := uintptr(winW - 3*pad - btnW)
	w.headline = child("STATIC", ssLeft|ssEndEllipsis, pad, 10, textW, 22, 0, bold)
	w.detail = child("STATIC", ssLeft|ssEndEllipsis, pad, 36, textW, 18, 0, regular)
	w.button = child("BUTTON", bsPushButton, winW-pad-btnW, (winH-btnH)/2, btnW, btnH, stopButtonID, bold)
	current = w
	p.hwnd.Store(frame)
	defer func() {
		p.hwnd.Store(0)
		current = nil
	}()
	w.apply()

	// The context's end reaches the loop as a message; this goroutine
	// ends with the loop either way.
	loopDone := make(chan struct{})
	defer close(loopDone)
	go func() {
		select {
		case <-ctx.Done():
			procPostMessageW.Call(frame, wmQuit, 0, 0)
		case <-loopDone:
		}
	}()
	var m msg
	for {
		r, _, e := procGetMessageW.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
		switch int32(r) {
		case 0: // WM_QUIT: the window was destroyed
			return nil
		case -1:
			procDestroyWindow.Call(frame)
			return fmt.Errorf("indicator: read window messages: %w", e)
		}
		procTranslateMessage.Call(uintptr(unsafe.Pointer(&m)))
		procDispatchMessageW.Call(uintptr(unsafe.Pointer(&m)))
	}
}

// apply shows what Show last asked for, or hides the window.
func (w *window) apply() {
	s := w.ind.current()
	if s == nil {
		procShowWindow.Call(w.frame, swHide)
		return
	}
	tx := w.ind.texts(*s)
	setText(w.frame, tx.title())
	setText(w.headline, tx.headline)
	setText(w.detail, tx.detail)
	setText(w.button, tx.stop)
	procShowWindow.Call(w.frame, swShowNoActive)
	procSetWindowPos.Call(w.frame, hwndTopmost, 0, 0, 0, 0, swpNoMove|swpNoSize|swpNoActivate)
}

func setText(hwnd uintptr, s string) {
	p, err := windows.UTF16PtrFromString(s)
	if err != nil {
		return // a NUL in a name: keep the previous text
	}
	procSetWindowTextW.Call(hwnd, uintptr(unsafe.Pointer(p)))
}

// newFont makes a Segoe UI font of height pixels; Windows falls back to a
// similar face where it is missing.
func newFont(height int32, weight uintptr) uintptr {
	h, _, _ := procCreateFontW.Call(uintptr(-height), 0, 0, 0, weight, 0, 0, 0, defaultCharset, 0, 0,
		clearTypeQuality, 0, uintptr(unsafe.Pointer(windows.StringToUTF16Ptr("Segoe UI"))))
	return h
}

func moduleHandle() (windows.Handle, error) {
	var h windows.Handle
	if err := windows.GetModuleHandleEx(0, nil, &h); err != nil {
		return 0, fmt.Errorf("indicator: module handle: %w", err)
	}
	return h, nil
}
