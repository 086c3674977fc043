//go:build windows

package capture

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"slices"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	user32 = windows.NewLazySystemDLL("user32.dll")
	gdi32  = windows.NewLazySystemDLL("gdi32.dll")

	procEnumDisplayMonitors           = user32.NewProc("EnumDisplayMonitors")
	procGetMonitorInfoW               = user32.NewProc("GetMonitorInfoW")
	procSetProcessDpiAwarenessContext = user32.NewProc("SetProcessDpiAwarenessContext")
	procSetProcessDPIAware            = user32.NewProc("SetProcessDPIAware")
	procOpenInputDesktop              = user32.NewProc("OpenInputDesktop")
	procCloseDesktop                  = user32.NewProc("CloseDesktop")
	procGetUserObjectInformationW     = user32.NewProc("GetUserObjectInformationW")
	procGetDC                         = user32.NewProc("GetDC")
	procReleaseDC                     = user32.NewProc("ReleaseDC")

	procCreateCompatibleDC = gdi32.NewProc("CreateCompatibleDC")
	procCreateDIBSection   = gdi32.NewProc("CreateDIBSection")
	procSelectObject       = gdi32.NewProc("SelectObject")
	procBitBlt             = gdi32.NewProc("BitBlt")
	procDeleteObject       = gdi32.NewProc("DeleteObject")
	procDeleteDC           = gdi32.NewProc("DeleteDC")
)

// dpiPerMonitorV2 is DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2.
const dpiPerMonitorV2 = ^uintptr(3) // (DPI_AWARENESS_CONTEXT)-4

// The process declares itself per-monitor DPI aware before anything asks
// Windows for a coordinate: otherwise, on a screen scaled to 150 %,
// Windows reports a 1280x720 desktop for a 1920x1080 panel, stretches
// what GDI captures, and SendInput lands beside the technician's click.
// Awareness is per process and can be set only once, so package
// initialization is the one place that runs before any of that.
func init() {
	if procSetProcessDpiAwarenessContext.Find() == nil {
		if r, _, _ := procSetProcessDpiAwarenessContext.Call(dpiPerMonitorV2); r != 0 {
			return
		}
	}
	// Windows before 10 1703 (and Wine): system DPI awareness is the
	// best on offer.
	if procSetProcessDPIAware.Find() == nil {
		_, _, _ = procSetProcessDPIAware.Call()
	}
}

// monitorInfo is MONITORINFO.
type monitorInfo struct {
	size    uint32
	monitor windows.Rect
	work    windows.Rect
	flags   uint32
}

const monitorInfoPrimary = 1 // MONITORINFOF_PRIMARY

type monitor struct {
	handle  uintptr // HMONITOR
	bounds  image.Rectangle
	primary bool
}

// attached reports whether the monitor is still connected: Windows
// invalidates the handle of an unplugged one.
func (m *monitor) attached() bool {
	_, _, err := monitorBounds(m.handle)
	return err == nil
}

// monitors lists the monitors attached to the desktop, the primary one
// first and the others left to right, top to bottom, so that index 0 is
// always the screen the customer thinks of as theirs.
func monitors() ([]monitor, error) {
	var handles []uintptr
	cb := windows.NewCallback(func(h, _, _, _ uintptr) uintptr {
		handles = append(handles, h)
		return 1
	})
	if r, _, err := procEnumDisplayMonitors.Call(0, 0, cb, 0); r == 0 {
		return nil, fmt.Errorf("capture: EnumDisplayMonitors: %w", err)
	}
	var out []monitor
	for _, h := range handles {
		b, primary, err := monitorBounds(h)
		if err != nil {
			continue // unplugged between the two calls
		}
		out = append(out, monitor{handle: h, bounds: b, primary: primary})
	}
	slices.SortStableFunc(out, func(a, b monitor) int {
		switch {
		case a.primary != b.primary:
			if a.primary {
				return -1
			}
			return 1
		case a.bounds.Min.X != b.bounds.Min.X:
			return a.bounds.Min.X - b.bounds.Min.X
		}
		return a.bounds.Min.Y - b.bounds.Min.Y
	})
	return out, nil
}

// monitorBounds returns h's rectangle in physical desktop pixels (the
// process is DPI aware) and whether it is the primary monitor. It fails
// once the monitor is gone.
func monitorBounds(h uintptr) (image.Rectangle, bool, error) {
	mi := monitorInfo{size: uint32(unsafe.Sizeof(monitorInfo{}))}
	if r, _, err := procGetMonitorInfoW.Call(h, uintptr(unsafe.Pointer(&mi))); r == 0 {
		return image.Rectangle{}, false, fmt.Errorf("capture: GetMonitorInfo: %w", err)
	}
	m := mi.monitor
	return image.Rect(int(m.Left), int(m.Top), int(m.Right), int(m.Bottom)), mi.flags&monitorInfoPrimary != 0, nil
}

// Displays lists the monitors, the primary one first (index 0), as
// NewScreen numbers them. It is empty when none can be listed.
func Displays() []Display {
	ms, err := monitors()
	if err != nil {
		return nil
	}
	out := make([]Display, 0, len(ms))
	for i, m := range ms {
		if !m.bounds.Empty() {
			out = append(out, Display{Index: i, Bounds: m.bounds})
		}
	}
	return out
}

// NewScreen returns a Source for the display'th monitor, 0 being the
// primary one: DXGI Desktop Duplication when the system grants it, GDI
// otherwise. Duplication is refused in remote desktop sessions, with
// some older drivers, on the secure desktop, and always under Wine; the
// refusal is logged, and Method tells which one was chosen.
func NewScreen(display int) (Source, error) {
	ms, err := monitors()
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, errors.New("capture: no active displays")
	}
	if display < 0 || display >= len(ms) {
		return nil, fmt.Errorf("capture: display %d out of range (have %d)", display, len(ms))
	}
	m := ms[display]
	d, err := newDXGI(m)
	if err == nil {
		return d, nil
	}
	slog.Info("capture: desktop duplication refused; using GDI", "display", display, "err", err)
	return newGDI(m)
}

// Desktop-object access and information class for SecureDesktop.
const (
	desktopReadObjects = 0x0001 // DESKTOP_READOBJECTS
	uoiName            = 2      // UOI_NAME
)

// SecureDesktop reports whether the desktop receiving input is not the
// user's own: the UAC prompt and the Ctrl+Alt+Del screen run on the
// Winlogon desktop, which a program running as the user cannot open,
// capture or send input to. Until the customer answers it, the technician
// sees a frozen picture; the agent says why instead.
func SecureDesktop() bool {
	h, _, _ := procOpenInputDesktop.Call(0, 0, desktopReadObjects)
	if h == 0 {
		// Access denied: only the Winlogon desktop refuses the user.
		return true
	}
	defer procCloseDesktop.Call(h) //nolint:errcheck // nothing to do about it
	var name [64]uint16
	var n uint32
	r, _, _ := procGetUserObjectInformationW.Call(h, uoiName, uintptr(unsafe.Pointer(&name[0])),
		uintptr(len(name)*2), uintptr(unsafe.Pointer(&n)))
	if r == 0 {
		return false // cannot tell; the capture's own errors still show
	}
	return !strings.EqualFold(windows.UTF16ToString(name[:]), "Default")
}

// callErr turns a failed Win32 call's error into one that names the call.
func callErr(what string, err error) error {
	if errors.Is(err, syscall.Errno(0)) {
		return fmt.Errorf("capture: %s failed", what)
	}
	return fmt.Errorf("capture: %s: %w", what, err)
}
