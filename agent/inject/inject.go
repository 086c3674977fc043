// Package inject is the agent's input.Injector: it moves the pointer,
// clicks, scrolls, presses keys and types text on the customer's desktop.
//
// The pointer goes through robotgo on Linux and macOS. The keyboard depends
// on the OS:
//
//   - Linux (X11): keys and text go through an XTEST connection of our own
//     (github.com/jezek/xgb) rather than robotgo. robotgo's X11 keyboard
//     code kills the process with an X error for a key whose keysym is on no
//     key of the layout (F13-F24 on a default Xorg layout), and its TypeStr
//     types ASCII as US key positions plus Shift, which gives "2" for "@"
//     and "&" for "1" on a Belgian AZERTY keyboard. Here a key is pressed on
//     the keycode that carries its keysym (the same keycode is released,
//     even if the layout changed in between), and a character is typed by
//     its keysym: on the key that has it (with Shift if need be) when that
//     is sure to give it, else on a spare keycode (one the layout leaves
//     empty) given that keysym, so that it comes out the same whatever the
//     layout, its active group, Shift or CapsLock.
//   - macOS: robotgo.KeyToggle and robotgo.TypeStr (Unicode input).
//   - Windows: SendInput of our own (windows.go), robotgo is not linked:
//     keys by scan code, so that the application sees the physical key the
//     layout puts its character on, and text as KEYEVENTF_UNICODE events,
//     which arrive as exactly those characters (AZERTY, accents, €)
//     whatever the customer's layout. The pointer goes through SendInput
//     too, in physical pixels (agent/capture makes the process DPI aware),
//     and the clipboard through the Win32 clipboard (CF_UNICODETEXT).
//
// robotgo keeps one X connection per process, and Windows has one input
// queue per desktop, so there is at most one open Robot at a time.
package inject

import (
	"errors"
	"sync"

	"github.com/meekijk/meekijk/agent/input"
)

var _ input.Injector = (*Robot)(nil)

// buttons are the input.Injector button names; others are never passed on
// (robotgo presses the left button for a name it does not know).
var buttons = map[string]bool{"left": true, "middle": true, "right": true}

// pointer is the OS part for the mouse.
type pointer interface {
	move(x, y int)
	// button presses or releases "left", "middle" or "right".
	button(name string, down bool)
	// scroll scrolls by wheel steps, positive dy down and positive dx
	// right.
	scroll(dx, dy int)
}

// keyboard is the OS part: keys and text.
type keyboard interface {
	key(name string, down bool)
	typeText(text string)
	// close releases what key pressed and frees what the keyboard holds.
	close() error
	// err is the last error of the keyboard's own connection, if any.
	err() error
}

// open guards robotgo's per-process display.
var (
	openMu sync.Mutex
	open   bool
)

// Robot injects input on the desktop. Its methods are safe for concurrent
// use (the input.Controller serializes them anyway); after Close they do
// nothing.
type Robot struct {
	mu      sync.Mutex
	kb      keyboard
	ptr     pointer
	buttons map[string]bool // held, by name
	closed  bool
}

// New opens the injector. On Linux, display is the X display to inject into
// (":0"); "" means $DISPLAY, and it is an error if that is empty or the
// display cannot be opened: robotgo would otherwise fall back to ":0.0"
// silently. Elsewhere display is ignored. Only one Robot may be open at a
// time; Close it to open another.
func New(display string) (*Robot, error) {
	openMu.Lock()
	defer openMu.Unlock()
	if open {
		return nil, errors.New("inject: a Robot is already open (robotgo has one display per process)")
	}
	kb, err := newKeyboard(display)
	if err != nil {
		return nil, err
	}
	open = true
	return &Robot{kb: kb, ptr: newPointer(), buttons: map[string]bool{}}, nil
}

// MoveMouse moves the pointer to (x, y) in desktop coordinates.
func (r *Robot) MoveMouse(x, y int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.ptr.move(x, y)
}

// MouseButton presses or releases "left", "middle" or "right"; other names
// are ignored.
func (r *Robot) MouseButton(button string, down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || !buttons[button] {
		return
	}
	r.toggleButton(button, down)
}

func (r *Robot) toggleButton(name string, down bool) {
	if down {
		r.buttons[name] = true
	} else {
		delete(r.buttons, name)
	}
	r.ptr.button(name, down)
}

// Scroll scrolls by wheel steps, positive dy down and positive dx right.
func (r *Robot) Scroll(dx, dy int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || dx == 0 && dy == 0 {
		return
	}
	r.ptr.scroll(dx, dy)
}

// Key presses or releases a key by its input.Injector name ("a", "f5",
// "enter", "shift", …); unknown names are ignored. A single character names
// the key that carries it: no modifier is added.
func (r *Robot) Key(key string, down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.kb.key(key, down)
}

// Type types text as characters, whatever the keyboard layout. It does not
// release modifiers held by Key: the caller does (input.Controller does).
func (r *Robot) Type(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || text == "" {
		return
	}
	r.kb.typeText(text)
}

// Err returns the last error of the keyboard's X connection (Linux), nil
// if there was none. The Injector methods cannot return errors.
func (r *Robot) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kb.err()
}

// Close releases every key and button the Robot holds, gives the spare
// keycodes it used back (Linux), and closes its display connections. It is
// safe to call more than once.
func (r *Robot) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	for name := range r.buttons {
		r.toggleButton(name, false)
	}
	err := r.kb.close()
	closeDisplay()
	openMu.Lock()
	open = false
	openMu.Unlock()
	return err
}

// ReadClipboard returns the clipboard's text. On Linux it needs xclip or
// xsel, which read the X selection of $DISPLAY; on Windows it reads
// CF_UNICODETEXT.
func (r *Robot) ReadClipboard() (string, error) { return readClipboard() }

// WriteClipboard puts text on the clipboard (xclip or xsel on Linux,
// CF_UNICODETEXT on Windows).
func (r *Robot) WriteClipboard(text string) error { return writeClipboard(text) }
