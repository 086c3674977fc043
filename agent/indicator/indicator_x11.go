//go:build !windows

package indicator

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// platform is the X11 window: override-redirect, so no window manager
// decorates, moves or hides it, and raised again whenever something covers
// it.
type platform struct {
	conn   *xgb.Conn
	screen *xproto.ScreenInfo
	win    xproto.Window
	gc     xproto.Gcontext
	depth  byte
	utf8   xproto.Atom // UTF8_STRING
	netNam xproto.Atom // _NET_WM_NAME
	faces  faces
	img    *image.RGBA
	buf    []byte
}

// quietXGB silences xgb's own logger, which prints Xauthority noise on the
// customer's terminal; errors reach the agent's log through ours.
var quietXGB sync.Once

func openPlatform(display string) (*platform, error) {
	quietXGB.Do(func() { xgb.Logger = log.New(io.Discard, "", 0) })
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("indicator: connect to X display %q: %w", display, err)
	}
	p, err := newX11(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return p, nil
}

func newX11(conn *xgb.Conn) (*platform, error) {
	setup := xproto.Setup(conn)
	screen := setup.DefaultScreen(conn)
	// The window's pixels are sent as 32-bit little-endian BGRX, what
	// every true-colour X server of our time (and Xvfb) uses.
	ok := setup.ImageByteOrder == xproto.ImageOrderLSBFirst && screen.RootDepth >= 24
	for _, f := range setup.PixmapFormats {
		if f.Depth == screen.RootDepth && f.BitsPerPixel != 32 {
			ok = false
		}
	}
	if !ok {
		return nil, fmt.Errorf("indicator: X display of depth %d is not 32-bit true colour", screen.RootDepth)
	}
	p := &platform{conn: conn, screen: screen, depth: screen.RootDepth, faces: loadFaces(),
		img: image.NewRGBA(image.Rect(0, 0, winW, winH)), buf: make([]byte, winW*winH*4)}
	var err error
	if p.utf8, err = atom(conn, "UTF8_STRING"); err != nil {
		return nil, err
	}
	if p.netNam, err = atom(conn, "_NET_WM_NAME"); err != nil {
		return nil, err
	}
	if p.win, err = xproto.NewWindowId(conn); err != nil {
		return nil, fmt.Errorf("indicator: window id: %w", err)
	}
	x := (int(screen.WidthInPixels) - winW) / 2
	err = xproto.CreateWindowChecked(conn, xproto.WindowClassCopyFromParent, p.win, screen.Root,
		int16(x), 0, winW, winH, 0, xproto.WindowClassInputOutput, screen.RootVisual,
		xproto.CwBackPixel|xproto.CwOverrideRedirect|xproto.CwEventMask,
		[]uint32{0x1f2937, 1, xproto.EventMaskExposure | xproto.EventMaskButtonPress | xproto.EventMaskButtonRelease |
			xproto.EventMaskPointerMotion | xproto.EventMaskLeaveWindow | xproto.EventMaskVisibilityChange}).Check()
	if err != nil {
		return nil, fmt.Errorf("indicator: create window: %w", err)
	}
	class := []byte("meekijk-indicator\x00Meekijk\x00")
	if err := xproto.ChangePropertyChecked(conn, xproto.PropModeReplace, p.win, xproto.AtomWmClass, xproto.AtomString,
		8, uint32(len(class)), class).Check(); err != nil {
		return nil, fmt.Errorf("indicator: set WM_CLASS: %w", err)
	}
	if p.gc, err = xproto.NewGcontextId(conn); err != nil {
		return nil, fmt.Errorf("indicator: graphics context id: %w", err)
	}
	if err := xproto.CreateGCChecked(conn, p.gc, xproto.Drawable(p.win), 0, nil).Check(); err != nil {
		return nil, fmt.Errorf("indicator: create graphics context: %w", err)
	}
	return p, nil
}

func atom(conn *xgb.Conn, name string) (xproto.Atom, error) {
	r, err := xproto.InternAtom(conn, false, uint16(len(name)), name).Reply()
	if err != nil {
		return 0, fmt.Errorf("indicator: atom %s: %w", name, err)
	}
	return r.Atom, nil
}

// wake is not needed on X11: Run selects on the change channel itself.
func (p *platform) wake() {}

// run is the window's loop. X events arrive through a reader goroutine
// that ends when the connection is closed, which run does on its way out.
func (p *platform) run(ctx context.Context, ind *Indicator, stop func()) error {
	events := make(chan xgb.Event)
	readerDone := make(chan struct{})
	quit := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			ev, err := p.conn.WaitForEvent()
			if ev == nil && err == nil {
				return // connection closed
			}
			if err != nil {
				ind.log.Debug("indicator: X error", "err", err)
				continue
			}
			select {
			case events <- ev:
			case <-quit:
				return
			}
		}
	}()
	defer func() {
		close(quit)
		_ = xproto.DestroyWindowChecked(p.conn, p.win).Check()
		p.conn.Close()
		<-readerDone
	}()

	var (
		tx      texts
		mapped  bool
		hover   bool
		pressed bool
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-readerDone:
			return errors.New("indicator: connection to the X display lost")
		case <-ind.changed:
			s := ind.current()
			if s == nil {
				if mapped {
					xproto.UnmapWindow(p.conn, p.win)
					mapped, hover, pressed = false, false, false
				}
				p.conn.Sync()
				continue
			}
			tx = ind.texts(*s)
			p.setTitle(tx.title())
			if !mapped {
				xproto.MapWindow(p.conn, p.win)
				p.raise()
				mapped = true
			}
			p.draw(tx, hover)
			p.conn.Sync()
		case ev := <-events:
			if !mapped {
				continue
			}
			switch e := ev.(type) {
			case xproto.ExposeEvent:
				if e.Count == 0 {
					p.draw(tx, hover)
				}
			case xproto.MotionNotifyEvent:
				if h := onStop(e.EventX, e.EventY); h != hover {
					hover = h
					p.draw(tx, hover)
				}
			case xproto.LeaveNotifyEvent:
				if hover {
					hover = false
					p.draw(tx, hover)
				}
			case xproto.ButtonPressEvent:
				pressed = e.Detail == xproto.ButtonIndex1 && onStop(e.EventX, e.EventY)
			case xproto.ButtonReleaseEvent:
				// A click is a press and a release on the button, as
				// with any button: sliding off cancels it.
				if pressed && onStop(e.EventX, e.EventY) {
					ind.log.Info("indicator: customer clicked Stop")
					stop()
				}
				pressed = false
			case xproto.VisibilityNotifyEvent:
				if e.State != xproto.VisibilityUnobscured {
					p.raise()
				}
			}
			p.conn.Sync()
		}
	}
}

func onStop(x, y int16) bool { return image.Pt(int(x), int(y)).In(stopRect) }

func (p *platform) raise() {
	xproto.ConfigureWindow(p.conn, p.win, xproto.ConfigWindowStackMode, []uint32{xproto.StackModeAbove})
}

func (p *platform) setTitle(title string) {
	b := []byte(title)
	for _, a := range []xproto.Atom{xproto.AtomWmName, p.netNam} {
		xproto.ChangeProperty(p.conn, xproto.PropModeReplace, p.win, a, p.utf8, 8, uint32(len(b)), b)
	}
}

// draw renders the window and copies it to the screen as BGRX.
func (p *platform) draw(tx texts, hover bool) {
	render(p.img, p.faces, tx, hover)
	for i := 0; i < len(p.img.Pix); i += 4 {
		p.buf[i], p.buf[i+1], p.buf[i+2], p.buf[i+3] = p.img.Pix[i+2], p.img.Pix[i+1], p.img.Pix[i], 0
	}
	xproto.PutImage(p.conn, xproto.ImageFormatZPixmap, xproto.Drawable(p.win), p.gc, winW, winH, 0, 0, 0, p.depth, p.buf)
}
