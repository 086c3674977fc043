package bench

import (
	"fmt"
	"image"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// InputRecorder is a window that notes when the X server delivers a
// button press to it: the far end of the input-latency measurement (a
// click in the console, sent to the agent, injected through XTEST).
type InputRecorder struct {
	x     *xgb.Conn
	Rect  image.Rectangle
	Press chan time.Time // one wall-clock time per button press, as received
	done  chan struct{}
}

// NewInputRecorder maps a grey recorder window over rect on display.
func NewInputRecorder(display string, rect image.Rectangle) (*InputRecorder, error) {
	x, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("recorder: connect to X %s: %w", display, err)
	}
	screen := xproto.Setup(x).DefaultScreen(x)
	wid, err := xproto.NewWindowId(x)
	if err != nil {
		x.Close()
		return nil, fmt.Errorf("recorder: new window id: %w", err)
	}
	err = xproto.CreateWindowChecked(x, screen.RootDepth, wid, screen.Root,
		int16(rect.Min.X), int16(rect.Min.Y), uint16(rect.Dx()), uint16(rect.Dy()), 0,
		xproto.WindowClassInputOutput, screen.RootVisual,
		xproto.CwBackPixel|xproto.CwOverrideRedirect|xproto.CwEventMask,
		[]uint32{0x808080, 1, xproto.EventMaskButtonPress}).Check()
	if err == nil {
		err = xproto.MapWindowChecked(x, wid).Check()
	}
	if err != nil {
		x.Close()
		return nil, fmt.Errorf("recorder: window: %w", err)
	}
	r := &InputRecorder{x: x, Rect: rect, Press: make(chan time.Time, 1024), done: make(chan struct{})}
	go r.read()
	return r, nil
}

// read stamps each press as soon as the event is off the socket; it ends
// when the connection closes.
func (r *InputRecorder) read() {
	defer close(r.done)
	for {
		ev, err := r.x.WaitForEvent()
		if ev == nil && err == nil {
			return // connection closed
		}
		if _, ok := ev.(xproto.ButtonPressEvent); ok {
			select {
			case r.Press <- time.Now():
			default: // nobody is measuring: drop
			}
		}
	}
}

// Close removes the window and stops the reader.
func (r *InputRecorder) Close() {
	r.x.Close()
	<-r.done
}
