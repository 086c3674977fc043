// Package capture grabs the customer's screen and converts it to the I420
// layout video encoders want.
//
// NewScreen picks the fastest way it finds. On Linux with X11 (built with
// cgo) that is an X connection and a MIT-SHM segment kept for the life of
// the Source, with the DAMAGE extension telling whether anything was drawn
// since the last grab: a 1920x1080 grab costs well under a millisecond
// instead of tens, and an idle screen costs one non-blocking read of the
// X connection. Elsewhere, or when the X server lacks MIT-SHM or DAMAGE
// (a remote $DISPLAY cannot share memory), it uses kbinani/screenshot.
//
// Grab is the call a frame loop wants: it fills an I420 frame in place and
// returns ErrUnchanged, leaving the frame as it was, when the screen has
// not changed since the previous successful Grab, so the caller can skip
// encoding and sending altogether. Capture returns a plain RGBA copy.
//
// Threading: a Source's Bounds may be called from any goroutine; Capture,
// Grab and Close must come from one goroutine at a time (typically the
// frame loop's), and nothing may follow Close.
package capture

import (
	"errors"
	"fmt"
	"image"
	"time"
)

// Source is a screen to capture. Tests and other platforms can supply
// their own; Grab works with any Source.
type Source interface {
	// Bounds is the screen's rectangle in desktop coordinates. It may
	// change when the screen is resized.
	Bounds() image.Rectangle
	// Capture returns the current contents of the screen. The image's
	// size matches Bounds, but its origin need not.
	Capture() (*image.RGBA, error)
	// Close releases the source; Capture must not be called afterwards.
	Close() error
}

// The capture methods Method reports, for the log and the technician's
// console: how the picture is taken says what to expect of it (GDI is
// slower than duplication; a secure desktop cannot be captured at all).
const (
	MethodX11SHM     = "x11-shm"    // X11 MIT-SHM with DAMAGE (Linux)
	MethodScreenshot = "screenshot" // kbinani/screenshot, a new grab per frame
	MethodDXGI       = "dxgi"       // DXGI Desktop Duplication (Windows)
	MethodGDI        = "gdi"        // GDI BitBlt (Windows, when duplication is refused)
)

// Method names how src captures (one of the Method constants), or "" for
// a Source that does not say (a test's).
func Method(src Source) string {
	if m, ok := src.(interface{ Method() string }); ok {
		return m.Method()
	}
	return ""
}

// Attached reports whether src's screen is still connected, for a Source
// that can tell: the Windows sources hold their monitor's handle, which
// dies with the monitor. Others report true; the caller then compares
// Displays with the screen it shares.
func Attached(src Source) bool {
	if a, ok := src.(interface{ attached() bool }); ok {
		return a.attached()
	}
	return true
}

// Display is one of the customer's screens, in desktop coordinates.
type Display struct {
	Index  int
	Bounds image.Rectangle
}

// ErrUnchanged is returned by Grab when the screen has not changed since
// the previous Grab that returned nil; the destination frame is untouched.
var ErrUnchanged = errors.New("capture: screen unchanged")

// ErrSecureDesktop is returned by Grab while the screen shows a desktop a
// user's program cannot capture: on Windows, a UAC prompt or the
// Ctrl+Alt+Del screen (see SecureDesktop).
var ErrSecureDesktop = errors.New("capture: the screen shows the secure desktop")

// changeWaiter is a Source that can sleep until its screen changes.
type changeWaiter interface {
	waitChange(timeout time.Duration) (bool, error)
}

// WaitChange waits up to timeout for src's screen to change, without
// capturing it, when src can tell (the X11 source NewScreen returns): a
// frame loop then takes a change the moment it happens rather than at its
// next tick. ok is false when src cannot tell; the caller polls instead.
func WaitChange(src Source, timeout time.Duration) (changed, ok bool, err error) {
	w, ok := src.(changeWaiter)
	if !ok {
		return false, false, nil
	}
	changed, err = w.waitChange(timeout)
	return changed, true, err
}

// grabber is a Source that converts straight into a caller's frame and
// knows when nothing changed.
type grabber interface {
	grab(dst *image.YCbCr) error
}

// Grab fills dst, an image.YCbCrSubsampleRatio420 frame with an even
// origin, with the top-left
// dst-sized part of src's screen: a frame of the screen's size rounded
// down to even crops an odd last column or row. It returns ErrUnchanged,
// without touching dst, when src can tell that the screen has not changed
// since its previous successful Grab (the sources NewScreen returns can;
// others are converted every time): a caller grabbing into the same frame
// each time still holds the current picture. It returns an error when the
// screen is smaller than dst, which happens after a resolution change.
func Grab(src Source, dst *image.YCbCr) error {
	if err := checkFrame(dst); err != nil {
		return err
	}
	if g, ok := src.(grabber); ok {
		return g.grab(dst)
	}
	img, err := src.Capture()
	if err != nil {
		return err
	}
	return convertRGBA(dst, img)
}

// convertRGBA converts the dst-sized top-left corner of img into dst.
func convertRGBA(dst *image.YCbCr, img *image.RGBA) error {
	if err := fits(dst, img.Rect.Size()); err != nil {
		return err
	}
	r := image.Rectangle{Min: img.Rect.Min, Max: img.Rect.Min.Add(dst.Rect.Size())}
	RGBAToI420(dst, img.SubImage(r).(*image.RGBA))
	return nil
}

func fits(dst *image.YCbCr, screen image.Point) error {
	if want := dst.Rect.Size(); screen.X < want.X || screen.Y < want.Y {
		return fmt.Errorf("capture: screen %v is smaller than the frame %v", screen, want)
	}
	return nil
}
