package bench

import (
	"fmt"
	"image"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// The marker is a strip of black and white blocks on the screen that spells
// a 16-bit counter: row 0 holds its bits, most significant first, row 1
// their complement. The complement lets a reader reject a torn or blurred
// picture instead of reading a wrong number. Blocks are aligned to 16
// pixels so each is one H.264 macroblock.
const (
	MarkerBits  = 16
	MarkerBlock = 16
	MarkerX     = 1920 - 16 - MarkerBits*MarkerBlock // top right, off the workloads' windows
	MarkerY     = 16
)

// MarkerRect is where the marker sits on a 1920x1080 screen.
var MarkerRect = image.Rect(MarkerX, MarkerY, MarkerX+MarkerBits*MarkerBlock, MarkerY+2*MarkerBlock)

// markerSample is the point read in block (col, row), in screen pixels:
// its centre, away from edges that a lossy codec smears.
func markerSample(col, row int) image.Point {
	return image.Pt(MarkerX+col*MarkerBlock+MarkerBlock/2, MarkerY+row*MarkerBlock+MarkerBlock/2)
}

// DecodeMarker reads the counter from a picture of the screen; luma gives
// the brightness (0-255) of a screen pixel. ok is false when the two rows
// disagree: no marker there, or a picture caught between two paints.
func DecodeMarker(luma func(x, y int) int) (n uint16, ok bool) {
	for col := range MarkerBits {
		p, q := markerSample(col, 0), markerSample(col, 1)
		bit, inv := luma(p.X, p.Y) >= 128, luma(q.X, q.Y) >= 128
		if bit == inv {
			return 0, false
		}
		n <<= 1
		if bit {
			n |= 1
		}
	}
	return n, true
}

// Marker paints the counter on an X display from its own connection.
type Marker struct {
	x            *xgb.Conn
	win          xproto.Window
	white, black xproto.Gcontext
}

// NewMarker maps the marker's window, borderless and override-redirect so
// no window manager moves it, on display.
func NewMarker(display string) (*Marker, error) {
	x, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("marker: connect to X %s: %w", display, err)
	}
	m := &Marker{x: x}
	if err := m.create(); err != nil {
		x.Close()
		return nil, err
	}
	return m, nil
}

func (m *Marker) create() error {
	screen := xproto.Setup(m.x).DefaultScreen(m.x)
	ids := make([]uint32, 3)
	for i := range ids {
		id, err := m.x.NewId()
		if err != nil {
			return fmt.Errorf("marker: new X id: %w", err)
		}
		ids[i] = id
	}
	m.win, m.white, m.black = xproto.Window(ids[0]), xproto.Gcontext(ids[1]), xproto.Gcontext(ids[2])
	r := MarkerRect
	if err := xproto.CreateWindowChecked(m.x, screen.RootDepth, m.win, screen.Root,
		int16(r.Min.X), int16(r.Min.Y), uint16(r.Dx()), uint16(r.Dy()), 0,
		xproto.WindowClassInputOutput, screen.RootVisual,
		xproto.CwBackPixel|xproto.CwOverrideRedirect, []uint32{screen.BlackPixel, 1}).Check(); err != nil {
		return fmt.Errorf("marker: create window: %w", err)
	}
	for _, gc := range []struct {
		id    xproto.Gcontext
		pixel uint32
	}{{m.white, screen.WhitePixel}, {m.black, screen.BlackPixel}} {
		if err := xproto.CreateGCChecked(m.x, gc.id, xproto.Drawable(m.win), xproto.GcForeground, []uint32{gc.pixel}).Check(); err != nil {
			return fmt.Errorf("marker: create GC: %w", err)
		}
	}
	if err := xproto.MapWindowChecked(m.x, m.win).Check(); err != nil {
		return fmt.Errorf("marker: map window: %w", err)
	}
	return nil
}

// Paint shows n and returns when the X server has drawn it. at is the wall
// clock just before the drawing requests left, so a latency measured from
// it includes the X server's own work, never less.
func (m *Marker) Paint(n uint16) (at time.Time, err error) {
	var ones, zeros []xproto.Rectangle
	for col := range MarkerBits {
		bit := n>>(MarkerBits-1-col)&1 == 1
		top := xproto.Rectangle{X: int16(col * MarkerBlock), Y: 0, Width: MarkerBlock, Height: MarkerBlock}
		bottom := top
		bottom.Y = MarkerBlock
		if bit {
			ones, zeros = append(ones, top), append(zeros, bottom)
		} else {
			ones, zeros = append(ones, bottom), append(zeros, top)
		}
	}
	at = time.Now()
	// Raised each time: a workload's window may have been moved over it.
	xproto.ConfigureWindow(m.x, m.win, xproto.ConfigWindowStackMode, []uint32{xproto.StackModeAbove})
	xproto.PolyFillRectangle(m.x, xproto.Drawable(m.win), m.white, ones)
	xproto.PolyFillRectangle(m.x, xproto.Drawable(m.win), m.black, zeros)
	// A round trip: the server answers only after drawing.
	if _, err := xproto.GetInputFocus(m.x).Reply(); err != nil {
		return at, fmt.Errorf("marker: paint %d: %w", n, err)
	}
	return at, nil
}

// Close removes the marker.
func (m *Marker) Close() { m.x.Close() }

// lumaOf is the BT.601 brightness of an sRGB colour, as a decoder sees it.
func lumaOf(r, g, b int) int { return (299*r + 587*g + 114*b) / 1000 }
