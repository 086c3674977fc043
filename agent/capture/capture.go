// Package capture grabs the customer's screen as RGBA frames and converts
// them to the I420 layout video encoders want.
package capture

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log"
	"sync"

	"github.com/jezek/xgb"
	"github.com/kbinani/screenshot"
)

// Source is a screen to capture. It is deliberately small so that a faster
// X11 path (MIT-SHM with a long-lived connection) can replace the
// screenshot-based one later without touching the streaming code.
type Source interface {
	// Bounds is the screen's rectangle in desktop coordinates.
	Bounds() image.Rectangle
	// Capture returns the current contents of the screen. The image's
	// size matches Bounds, but its origin need not.
	Capture() (*image.RGBA, error)
	// Close releases the source; Capture must not be called afterwards.
	Close() error
}

// quietXGB silences xgb's package logger, which otherwise prints
// Xauthority chatter to stderr on every connection kbinani/screenshot
// opens (one per frame). Capture errors still reach us as return values.
var quietXGB sync.Once

// screen captures one display through kbinani/screenshot.
type screen struct {
	bounds image.Rectangle
}

// NewScreen returns a Source for the display'th active display, 0 being
// the primary one.
func NewScreen(display int) (Source, error) {
	quietXGB.Do(func() { xgb.Logger = log.New(io.Discard, "", 0) })

	n := screenshot.NumActiveDisplays()
	if n == 0 {
		// kbinani reports every failure (no $DISPLAY, no Xinerama,
		// refused connection) as zero displays.
		return nil, errors.New("capture: no active displays")
	}
	if display < 0 || display >= n {
		return nil, fmt.Errorf("capture: display %d out of range (have %d)", display, n)
	}
	b := screenshot.GetDisplayBounds(display)
	if b.Empty() {
		return nil, fmt.Errorf("capture: display %d has empty bounds", display)
	}
	return &screen{bounds: b}, nil
}

func (s *screen) Bounds() image.Rectangle { return s.bounds }

func (s *screen) Capture() (*image.RGBA, error) {
	img, err := screenshot.CaptureRect(s.bounds)
	if err != nil {
		return nil, fmt.Errorf("capture: grab %v: %w", s.bounds, err)
	}
	return img, nil
}

// Close is a no-op: kbinani/screenshot opens and closes its X connection
// per capture, so there is nothing to hold on to.
func (s *screen) Close() error { return nil }
