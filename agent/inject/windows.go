//go:build windows

package inject

import (
	"errors"
	"fmt"
	"runtime"
	"time"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	user32   = windows.NewLazySystemDLL("user32.dll")
	kernel32 = windows.NewLazySystemDLL("kernel32.dll")

	procSendInput        = user32.NewProc("SendInput")
	procGetSystemMetrics = user32.NewProc("GetSystemMetrics")
	procVkKeyScanW       = user32.NewProc("VkKeyScanW")
	procMapVirtualKeyW   = user32.NewProc("MapVirtualKeyW")
	procOpenClipboard    = user32.NewProc("OpenClipboard")
	procCloseClipboard   = user32.NewProc("CloseClipboard")
	procEmptyClipboard   = user32.NewProc("EmptyClipboard")
	procGetClipboardData = user32.NewProc("GetClipboardData")
	procSetClipboardData = user32.NewProc("SetClipboardData")
	procGlobalAlloc      = kernel32.NewProc("GlobalAlloc")
	procGlobalFree       = kernel32.NewProc("GlobalFree")
	procGlobalLock       = kernel32.NewProc("GlobalLock")
	procGlobalUnlock     = kernel32.NewProc("GlobalUnlock")
	procGlobalSize       = kernel32.NewProc("GlobalSize")
)

// winInput is INPUT on 64-bit Windows: a type, then a union whose largest
// member (MOUSEINPUT) takes 32 bytes, 8-aligned.
type winInput struct {
	kind  uint32
	_     uint32
	union [32]byte
}

// mouseInput is MOUSEINPUT.
type mouseInput struct {
	dx, dy    int32
	mouseData uint32
	flags     uint32
	time      uint32
	extraInfo uintptr
}

// keybdInput is KEYBDINPUT.
type keybdInput struct {
	vk, scan  uint16
	flags     uint32
	time      uint32
	extraInfo uintptr
}

const (
	inputMouse    = 0
	inputKeyboard = 1

	mouseMove        = 0x0001
	mouseLeftDown    = 0x0002
	mouseLeftUp      = 0x0004
	mouseRightDown   = 0x0008
	mouseRightUp     = 0x0010
	mouseMiddleDown  = 0x0020
	mouseMiddleUp    = 0x0040
	mouseWheel       = 0x0800
	mouseHWheel      = 0x1000
	mouseVirtualDesk = 0x4000
	mouseAbsolute    = 0x8000
	wheelDelta       = 120

	keyExtended = 0x0001
	keyUp       = 0x0002
	keyUnicode  = 0x0004
	keyScanCode = 0x0008

	smXVirtualScreen  = 76
	smYVirtualScreen  = 77
	smCXVirtualScreen = 78
	smCYVirtualScreen = 79

	mapVKToVSC = 0 // MAPVK_VK_TO_VSC
)

func mouseEvent(m mouseInput) winInput {
	in := winInput{kind: inputMouse}
	*(*mouseInput)(unsafe.Pointer(&in.union[0])) = m
	return in
}

func keyEvent(k keybdInput) winInput {
	in := winInput{kind: inputKeyboard}
	*(*keybdInput)(unsafe.Pointer(&in.union[0])) = k
	return in
}

// send injects events as one uninterrupted sequence. It fails when
// Windows blocks the input (UIPI: a window of a program running as
// administrator has the focus; or the secure desktop is shown).
func send(events ...winInput) error {
	if len(events) == 0 {
		return nil
	}
	n, _, err := procSendInput.Call(uintptr(len(events)), uintptr(unsafe.Pointer(&events[0])), unsafe.Sizeof(events[0]))
	if int(n) != len(events) {
		return fmt.Errorf("inject: SendInput sent %d of %d events: %w", n, len(events), err)
	}
	return nil
}

func metric(i uintptr) int {
	r, _, _ := procGetSystemMetrics.Call(i)
	return int(int32(r))
}

// winPointer is the mouse on Windows.
type winPointer struct{}

func newPointer() pointer { return winPointer{} }

// move places the pointer on physical pixel (x, y) of the virtual desktop
// (all monitors). SendInput wants absolute positions in 0..65535 across
// it; Windows maps n back to floor(n*width/65536), so rounding up lands on
// exactly the pixel asked for.
func (winPointer) move(x, y int) {
	vx, vy := metric(smXVirtualScreen), metric(smYVirtualScreen)
	w, h := metric(smCXVirtualScreen), metric(smCYVirtualScreen)
	if w <= 0 || h <= 0 {
		return
	}
	nx := ((x-vx)*65536 + w - 1) / w
	ny := ((y-vy)*65536 + h - 1) / h
	_ = send(mouseEvent(mouseInput{dx: int32(nx), dy: int32(ny), flags: mouseMove | mouseAbsolute | mouseVirtualDesk}))
}

func (winPointer) button(name string, down bool) {
	var flags uint32
	switch name {
	case "left":
		flags = mouseLeftUp
		if down {
			flags = mouseLeftDown
		}
	case "middle":
		flags = mouseMiddleUp
		if down {
			flags = mouseMiddleDown
		}
	case "right":
		flags = mouseRightUp
		if down {
			flags = mouseRightDown
		}
	default:
		return
	}
	_ = send(mouseEvent(mouseInput{flags: flags}))
}

// scroll: a positive wheel delta scrolls up, a positive horizontal one
// right.
func (winPointer) scroll(dx, dy int) {
	var evs []winInput
	if dy != 0 {
		evs = append(evs, mouseEvent(mouseInput{mouseData: uint32(int32(-dy * wheelDelta)), flags: mouseWheel}))
	}
	if dx != 0 {
		evs = append(evs, mouseEvent(mouseInput{mouseData: uint32(int32(dx * wheelDelta)), flags: mouseHWheel}))
	}
	_ = send(evs...)
}

// scanKey is a key's set-1 scan code and virtual-key code; extended keys
// (the E0-prefixed ones: arrows, the block above them, right-hand
// modifiers, Windows) need KEYEVENTF_EXTENDEDKEY.
type scanKey struct {
	scan     uint16
	vk       uint16
	extended bool
}

// namedKeys maps the input.Injector names of non-character keys to their
// scan codes. Scan codes are what a physical key sends whatever the
// layout: a shortcut reaches the application as from the customer's own
// keyboard. The virtual-key code rides along for programs (and Wine) that
// read it from the event instead of translating the scan code.
var namedKeys = map[string]scanKey{
	"enter": {0x1C, 0x0D, false}, "tab": {0x0F, 0x09, false}, "escape": {0x01, 0x1B, false},
	"esc": {0x01, 0x1B, false}, "backspace": {0x0E, 0x08, false}, "space": {0x39, 0x20, false},
	"delete": {0x53, 0x2E, true}, "insert": {0x52, 0x2D, true},
	"home": {0x47, 0x24, true}, "end": {0x4F, 0x23, true},
	"pageup": {0x49, 0x21, true}, "pagedown": {0x51, 0x22, true},
	"up": {0x48, 0x26, true}, "down": {0x50, 0x28, true}, "left": {0x4B, 0x25, true}, "right": {0x4D, 0x27, true},
	"shift": {0x2A, 0xA0, false}, "ctrl": {0x1D, 0xA2, false}, "control": {0x1D, 0xA2, false},
	"alt": {0x38, 0xA4, false}, "cmd": {0x5B, 0x5B, true}, "command": {0x5B, 0x5B, true},
}

func init() {
	// F1-F10 are 0x3B-0x44, F11 and F12 0x57 and 0x58, F13-F23 0x64-0x6E,
	// F24 0x76; their virtual keys are consecutive from VK_F1 (0x70).
	scans := []uint16{0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x40, 0x41, 0x42, 0x43, 0x44, 0x57, 0x58,
		0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x76}
	for i, sc := range scans {
		namedKeys[fmt.Sprintf("f%d", i+1)] = scanKey{scan: sc, vk: uint16(0x70 + i)}
	}
}

// charKey finds the key that carries character c on the customer's layout
// (VkKeyScan), for shortcuts such as Ctrl+C: the same physical key the
// customer would press. ok is false when no key carries it.
func charKey(c rune) (scanKey, bool) {
	if c > 0xFFFF {
		return scanKey{}, false
	}
	r, _, _ := procVkKeyScanW.Call(uintptr(c))
	if int16(r) == -1 {
		return scanKey{}, false
	}
	vk := uint16(r & 0xFF)
	scan, _, _ := procMapVirtualKeyW.Call(uintptr(vk), mapVKToVSC)
	return scanKey{scan: uint16(scan), vk: vk}, true
}

func (k scanKey) event(down bool) winInput {
	flags := uint32(keyScanCode)
	if k.extended {
		flags |= keyExtended
	}
	if !down {
		flags |= keyUp
	}
	return keyEvent(keybdInput{vk: k.vk, scan: k.scan, flags: flags})
}

// winKeyboard is the keyboard on Windows.
type winKeyboard struct {
	held    map[string]scanKey // pressed by key, by name: released as pressed
	lastErr error
}

func newKeyboard(string) (keyboard, error) {
	if procSendInput.Find() != nil {
		return nil, errors.New("inject: SendInput is missing from user32.dll")
	}
	return &winKeyboard{held: map[string]scanKey{}}, nil
}

// closeDisplay: Windows has no display connection to close.
func closeDisplay() {}

func (k *winKeyboard) key(name string, down bool) {
	sk, ok := namedKeys[name]
	if !ok {
		r := []rune(name)
		if len(r) != 1 {
			return
		}
		if sk, ok = charKey(r[0]); !ok {
			return
		}
	}
	if !down {
		// Release the key that was pressed, even if the layout changed.
		held, ok := k.held[name]
		if !ok {
			return
		}
		sk = held
		delete(k.held, name)
	} else {
		k.held[name] = sk
	}
	k.record(send(sk.event(down)))
}

// typeText types text as Unicode characters (KEYEVENTF_UNICODE: the
// application receives WM_CHAR with exactly that character, whatever the
// layout, dead keys or Shift state). Line breaks and tabs are typed as the
// Enter and Tab keys, which is what editors and forms expect of them.
func (k *winKeyboard) typeText(text string) {
	var evs []winInput
	for _, c := range text {
		switch c {
		case '\r':
			continue
		case '\n':
			evs = append(evs, namedKeys["enter"].event(true), namedKeys["enter"].event(false))
			continue
		case '\t':
			evs = append(evs, namedKeys["tab"].event(true), namedKeys["tab"].event(false))
			continue
		}
		for _, u := range utf16.Encode([]rune{c}) {
			evs = append(evs,
				keyEvent(keybdInput{scan: u, flags: keyUnicode}),
				keyEvent(keybdInput{scan: u, flags: keyUnicode | keyUp}))
		}
	}
	k.record(send(evs...))
}

func (k *winKeyboard) record(err error) {
	if err != nil {
		k.lastErr = err
	}
}

// close releases the keys still held.
func (k *winKeyboard) close() error {
	for name := range k.held {
		k.key(name, false)
	}
	return nil
}

func (k *winKeyboard) err() error { return k.lastErr }

const (
	cfUnicodeText = 13     // CF_UNICODETEXT
	gmemMoveable  = 0x0002 // GMEM_MOVEABLE
)

// openClipboard opens the clipboard on the calling thread, which must stay
// locked to it until closeClipboard. Another program may hold it for a
// moment (clipboard managers, Office), so it tries for up to half a second.
func openClipboard() error {
	var err error
	for range 25 {
		var r uintptr
		if r, _, err = procOpenClipboard.Call(0); r != 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("inject: open clipboard (another program holds it): %w", err)
}

// globalPointer turns GlobalLock's address, which Go's collector never
// moves or frees (the memory is Windows'), into a pointer. Reading the
// uintptr's bits rather than converting it keeps go vet's unsafeptr check,
// meant for Go memory, quiet.
func globalPointer(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

func readClipboard() (string, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := openClipboard(); err != nil {
		return "", err
	}
	defer procCloseClipboard.Call() //nolint:errcheck // nothing to do about it
	h, _, _ := procGetClipboardData.Call(cfUnicodeText)
	if h == 0 {
		return "", nil // no text on the clipboard
	}
	p, _, err := procGlobalLock.Call(h)
	if p == 0 {
		return "", fmt.Errorf("inject: read clipboard: %w", err)
	}
	defer procGlobalUnlock.Call(h) //nolint:errcheck // nothing to do about it
	size, _, _ := procGlobalSize.Call(h)
	units := unsafe.Slice((*uint16)(globalPointer(p)), size/2)
	return windows.UTF16ToString(units), nil
}

func writeClipboard(text string) error {
	units, err := windows.UTF16FromString(text)
	if err != nil {
		return fmt.Errorf("inject: write clipboard: %w", err) // a NUL in text
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, _, err := procGlobalAlloc.Call(gmemMoveable, uintptr(2*len(units)))
	if h == 0 {
		return fmt.Errorf("inject: write clipboard: %w", err)
	}
	p, _, err := procGlobalLock.Call(h)
	if p == 0 {
		procGlobalFree.Call(h) //nolint:errcheck // nothing to do about it
		return fmt.Errorf("inject: write clipboard: %w", err)
	}
	copy(unsafe.Slice((*uint16)(globalPointer(p)), len(units)), units)
	procGlobalUnlock.Call(h) //nolint:errcheck // returns 0 once unlocked: not an error
	if err := openClipboard(); err != nil {
		procGlobalFree.Call(h) //nolint:errcheck // nothing to do about it
		return err
	}
	defer procCloseClipboard.Call() //nolint:errcheck // nothing to do about it
	procEmptyClipboard.Call()       //nolint:errcheck // SetClipboardData says if it mattered
	if r, _, err := procSetClipboardData.Call(cfUnicodeText, h); r == 0 {
		procGlobalFree.Call(h) //nolint:errcheck // still ours: the clipboard refused it
		return fmt.Errorf("inject: write clipboard: %w", err)
	}
	return nil // the clipboard owns h now
}
