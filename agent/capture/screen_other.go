//go:build !windows

package capture

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"log"
	"sync"

	"github.com/jezek/xgb"
	"github.com/kbinani/screenshot"
)

// NewScreen returns a Source for the display'th active display, 0 being
// the primary one: the shared-memory X11 source when it can be set up,
// kbinani/screenshot's otherwise. Both implement fmt.Stringer, naming the
// method, for the log.
func NewScreen(display int) (Source, error) {
	b, err := displayBounds(display)
	if err != nil {
		return nil, err
	}
	if s, err := newXShm(display, b); err == nil {
		return s, nil
	}
	return &screen{bounds: b}, nil
}

// quietXGB silences xgb's package logger, which otherwise prints
// Xauthority chatter to stderr on every connection kbinani/screenshot
// opens (one per frame). Capture errors still reach us as return values.
var quietXGB sync.Once

func displayBounds(display int) (image.Rectangle, error) {
	quietXGB.Do(func() { xgb.Logger = log.New(io.Discard, "", 0) })

	n := screenshot.NumActiveDisplays()
	if n == 0 {
		// kbinani reports every failure (no $DISPLAY, no Xinerama,
		// refused connection) as zero displays.
		return image.Rectangle{}, errors.New("capture: no active displays")
	}
	if display < 0 || display >= n {
		return image.Rectangle{}, fmt.Errorf("capture: display %d out of range (have %d)", display, n)
	}
	b := screenshot.GetDisplayBounds(display)
	if b.Empty() {
		return image.Rectangle{}, fmt.Errorf("capture: display %d has empty bounds", display)
	}
	return b, nil
}

// screen captures one display through kbinani/screenshot, which opens
// and closes its X connection (or platform equivalent) per capture.
type screen struct {
	bounds image.Rectangle
	// last is the previous grab's picture, compared with the next to
	// report ErrUnchanged: the comparison costs a fraction of what the
	// capture did, and saves an encode.
	last *image.RGBA
}

func (s *screen) Bounds() image.Rectangle { return s.bounds }

func (s *screen) String() string { return fmt.Sprintf("screenshot %v", s.bounds) }

func (*screen) Method() string { return MethodScreenshot }

func (s *screen) Capture() (*image.RGBA, error) {
	img, err := screenshot.CaptureRect(s.bounds)
	if err != nil {
		return nil, fmt.Errorf("capture: grab %v: %w", s.bounds, err)
	}
	return img, nil
}

func (s *screen) grab(dst *image.YCbCr) error {
	img, err := s.Capture()
	if err != nil {
		return err
	}
	if s.last != nil && s.last.Rect == img.Rect && bytes.Equal(s.last.Pix, img.Pix) {
		return ErrUnchanged
	}
	if err := convertRGBA(dst, img); err != nil {
		s.last = nil
		return err
	}
	s.last = img
	return nil
}

// Close drops the remembered frame; there is no connection to close.
func (s *screen) Close() error {
	s.last = nil
	return nil
}
