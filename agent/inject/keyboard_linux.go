//go:build linux

package inject

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/go-vgo/robotgo"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"
)

// reuseDelay is how long a spare keycode keeps the keysym of a character
// typed on it before it may get another one (or be emptied by Close). An X
// client looks a key event's keycode up in the mapping when it processes
// the event, not when the event was sent, so a client lagging behind would
// read the new keysym. Spare keycodes are used least recently used first,
// so this only delays text with more distinct characters needing one than
// there are spare keycodes (19 with the default layouts of Xvfb and Xorg).
const reuseDelay = 200 * time.Millisecond

var quietXGB sync.Once

func newKeyboard(display string) (keyboard, error) {
	if display == "" {
		display = os.Getenv("DISPLAY")
	}
	if display == "" {
		return nil, errors.New("inject: no X display ($DISPLAY is not set)")
	}
	// xgb complains on stderr about a missing ~/.Xauthority that the
	// display may not need.
	quietXGB.Do(func() { xgb.Logger = log.New(io.Discard, "", 0) })
	x, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("inject: open X display %q: %w", display, err)
	}
	if err := xtest.Init(x); err != nil {
		x.Close()
		return nil, fmt.Errorf("inject: X display %q: %w", display, err)
	}
	setup := xproto.Setup(x)
	k := &x11Keyboard{
		x:     x,
		root:  setup.DefaultScreen(x).Root,
		min:   setup.MinKeycode,
		max:   setup.MaxKeycode,
		slots: map[xproto.Keycode]*slot{},
		bySym: map[xproto.Keysym]*slot{},
		held:  map[string]xproto.Keycode{},
	}
	if err := k.refresh(); err != nil {
		x.Close()
		return nil, fmt.Errorf("inject: X display %q: read keyboard mapping: %w", display, err)
	}
	// Name the display explicitly: robotgo otherwise opens $DISPLAY when
	// it first needs it, and ":0.0" if that fails.
	if err := robotgo.SetXDisplayName(display); err != nil {
		x.Close()
		return nil, fmt.Errorf("inject: %w", err)
	}
	return k, nil
}

func closeDisplay() { robotgo.CloseMainDisplay() }

// x11Keyboard presses keys and types text through XTEST on a connection of
// its own.
//
// A key is pressed on the keycode that carries its keysym in the current
// mapping (the first column first, as XKeysymToKeycode), or on a spare
// keycode given that keysym when no key has it (F13-F24 on most layouts, a
// Latin letter on a Cyrillic one). The keycode is remembered until the
// release, so the release goes to the key that went down.
//
// A character is typed by the keysym it has, never by a US key position (the
// "1" key of AZERTY gives "&"):
//   - on the key that has it in its first column, or in its second with
//     Shift, when that is sure to give it: the layout has a single group
//     (otherwise the active group may be another one, as in a "us,ru"
//     layout switched to ru) and no modifier is in effect (CapsLock, a
//     Shift the customer holds, a locked AltGr), NumLock aside;
//   - otherwise on a spare keycode mapped to that keysym alone, in both
//     columns of one group, which gives it whatever the group, Shift or
//     CapsLock. The mapping stays while the spare keycodes last (Xvfb and
//     Xorg leave about twenty), so typing the same characters again changes
//     nothing; Close empties them.
//
// Each change of mapping makes every X client read the keyboard mapping
// again, which is why existing keys are used when they can be.
type x11Keyboard struct {
	x        *xgb.Conn
	root     xproto.Window
	min, max xproto.Keycode
	per      int             // keysyms per keycode
	syms     []xproto.Keysym // the mapping of min..max, per a row
	stale    bool            // a MappingNotify came since syms was read
	oneGroup bool            // the mapping has a single group

	slots map[xproto.Keycode]*slot // spare keycodes
	bySym map[xproto.Keysym]*slot  // slots by the keysym they have
	clock uint64                   // counts the batches that use slots

	held    map[string]xproto.Keycode // pressed by key, by name
	lastErr error
}

// slot is a spare keycode.
type slot struct {
	code  xproto.Keycode
	sym   xproto.Keysym // 0: empty
	last  uint64        // clock of the last batch that used it
	used  time.Time     // when it was last pressed
	holds int           // names key holds down on it
}

// stroke is one key press and release of Type.
type stroke struct {
	code  xproto.Keycode
	shift bool // hold Shift around it
}

func (k *x11Keyboard) row(code xproto.Keycode) []xproto.Keysym {
	i := int(code-k.min) * k.per
	return k.syms[i : i+k.per]
}

// refresh reads the keyboard mapping and reconciles the slots with it:
// a keycode with no keysym is a free slot, a slot still holding what was
// written to it keeps it, any other keycode (a new layout may use keycodes
// that were spare) is not a slot.
func (k *x11Keyboard) refresh() error {
	r, err := xproto.GetKeyboardMapping(k.x, k.min, byte(int(k.max)-int(k.min)+1)).Reply()
	if err != nil {
		return err
	}
	k.per, k.syms, k.stale = int(r.KeysymsPerKeycode), r.Keysyms, false
	if k.per == 0 || len(k.syms) < k.per*(int(k.max)-int(k.min)+1) {
		return fmt.Errorf("bad keyboard mapping: %d keysyms, %d per keycode", len(k.syms), k.per)
	}
	k.oneGroup = true
	for c := int(k.min); c <= int(k.max); c++ {
		code := xproto.Keycode(c)
		row, s := k.row(code), k.slots[code]
		// The core mapping's columns are group 1 level 1 and 2, then
		// group 2 level 1 and 2, then group 1 level 3 and up. The server
		// repeats a single group in the group 2 columns.
		if k.per >= 4 && row[2] != 0 && (row[2] != row[0] || row[3] != row[1]) {
			k.oneGroup = false
		}
		switch {
		case s != nil && s.sym != 0 && isSlotRow(row, s.sym):
		case isEmptyRow(row):
			if s == nil {
				k.slots[code] = &slot{code: code}
			} else {
				k.forget(s)
			}
		case s != nil:
			k.forget(s)
			delete(k.slots, code)
		}
	}
	return nil
}

// forget empties s in the books (not in the server's mapping).
func (k *x11Keyboard) forget(s *slot) {
	if s.sym != 0 && k.bySym[s.sym] == s {
		delete(k.bySym, s.sym)
	}
	s.sym = 0
}

func isEmptyRow(row []xproto.Keysym) bool {
	for _, ks := range row {
		if ks != 0 {
			return false
		}
	}
	return true
}

// isSlotRow reports whether row is what writeSlots wrote for ks, allowing
// for the server's conversion from XKB (which may copy the group into
// other columns).
func isSlotRow(row []xproto.Keysym, ks xproto.Keysym) bool {
	if row[0] != ks {
		return false
	}
	for _, s := range row[1:] {
		if s != 0 && s != ks {
			return false
		}
	}
	return true
}

// begin starts an operation: a round trip (so that every MappingNotify the
// server sent before now has arrived), then the mapping is read again if
// one came.
func (k *x11Keyboard) begin() {
	k.sync()
	for {
		ev, err := k.x.PollForEvent()
		if ev == nil && err == nil {
			break
		}
		if err != nil {
			k.lastErr = err
		}
		if m, ok := ev.(xproto.MappingNotifyEvent); ok && m.Request == xproto.MappingKeyboard {
			k.stale = true
		}
	}
	if k.stale {
		if err := k.refresh(); err != nil {
			k.lastErr = err
		}
	}
}

// sync waits until the server has processed every request sent so far, so
// that the input is in before the next pointer event, which goes through
// robotgo's own connection.
func (k *x11Keyboard) sync() {
	if _, err := xproto.GetInputFocus(k.x).Reply(); err != nil {
		k.lastErr = err
	}
}

func (k *x11Keyboard) fake(code xproto.Keycode, down bool) {
	typ := byte(xproto.KeyRelease)
	if down {
		typ = xproto.KeyPress
	}
	xtest.FakeInput(k.x, typ, byte(code), xproto.TimeCurrentTime, xproto.WindowNone, 0, 0, 0)
}

// native returns the keycode that has ks in the mapping, looking at the
// first column of every keycode, then the second and so on. Slots do not
// count.
func (k *x11Keyboard) native(ks xproto.Keysym) (code xproto.Keycode, col int, ok bool) {
	for col := range k.per {
		for c := int(k.min); c <= int(k.max); c++ {
			code := xproto.Keycode(c)
			if k.row(code)[col] == ks && k.slots[code] == nil {
				return code, col, true
			}
		}
	}
	return 0, 0, false
}

// assign returns a slot with ks for the batch numbered clock: the slot that
// has it if it is not held by key, else the first empty slot, else the
// least recently used one that is neither held nor used in this batch.
// Slots whose keysym changes are appended to dirty: they must be written
// (writeSlots) before use. It returns nil when no slot can be had.
func (k *x11Keyboard) assign(ks xproto.Keysym, clock uint64, dirty *[]*slot) *slot {
	if s := k.bySym[ks]; s != nil && s.holds == 0 {
		s.last = clock
		return s
	}
	var pick *slot
scan:
	for c := int(k.min); c <= int(k.max); c++ {
		s := k.slots[xproto.Keycode(c)]
		switch {
		case s == nil || s.holds > 0 || s.last == clock && s.sym != 0:
		case s.sym == 0:
			pick = s
			break scan
		case pick == nil || s.last < pick.last:
			pick = s
		}
	}
	if pick == nil {
		return nil
	}
	k.forget(pick)
	pick.sym, pick.last = ks, clock
	k.bySym[ks] = pick
	*dirty = append(*dirty, pick)
	return pick
}

// writeSlots writes the slots' keysyms to the server, a request per run of
// consecutive keycodes, after waiting until the keysyms they replace are
// reuseDelay old.
func (k *x11Keyboard) writeSlots(dirty []*slot) {
	if len(dirty) == 0 {
		return
	}
	slices.SortFunc(dirty, func(a, b *slot) int { return int(a.code) - int(b.code) })
	var newest time.Time
	for _, s := range dirty {
		if s.used.After(newest) {
			newest = s.used
		}
	}
	if wait := time.Until(newest.Add(reuseDelay)); wait > 0 {
		time.Sleep(wait)
	}
	for i := 0; i < len(dirty); {
		j := i + 1
		for j < len(dirty) && dirty[j].code == dirty[j-1].code+1 {
			j++
		}
		syms := make([]xproto.Keysym, 0, (j-i)*k.per)
		for _, s := range dirty[i:j] {
			row := k.row(s.code)
			clear(row)
			row[0] = s.sym
			if k.per > 1 {
				row[1] = s.sym // Shift and CapsLock change nothing
			}
			syms = append(syms, row...)
		}
		err := xproto.ChangeKeyboardMappingChecked(k.x, byte(j-i), dirty[i].code, byte(k.per), syms).Check()
		if err != nil {
			k.lastErr = err
		}
		i = j
	}
}

func (k *x11Keyboard) key(name string, down bool) {
	ks, ok := keysymForName(name)
	if !ok {
		return
	}
	k.begin()
	defer k.sync()
	code, held := k.held[name]
	if !down {
		if !held {
			return
		}
		delete(k.held, name)
		k.fake(code, false)
		if s := k.slots[code]; s != nil && s.holds > 0 {
			s.holds--
			s.used = time.Now()
		}
		return
	}
	if held { // a repeat
		k.fake(code, true)
		return
	}
	if code, _, ok = k.native(ks); !ok {
		k.clock++
		var dirty []*slot
		s := k.assign(ks, k.clock, &dirty)
		if s == nil {
			return // no spare keycode left: the key cannot be pressed
		}
		k.writeSlots(dirty)
		s.holds++
		code = s.code
	}
	k.held[name] = code
	k.fake(code, true)
}

// direct reports whether characters can be typed on the keys that have
// them in their first two columns (see x11Keyboard).
func (k *x11Keyboard) direct() bool {
	if !k.oneGroup {
		return false
	}
	p, err := xproto.QueryPointer(k.x, k.root).Reply()
	if err != nil {
		k.lastErr = err
		return false
	}
	const mods = xproto.ModMaskShift | xproto.ModMaskLock | xproto.ModMaskControl | xproto.ModMask1 |
		xproto.ModMask3 | xproto.ModMask4 | xproto.ModMask5 // not Mod2, NumLock
	return p.Mask&mods == 0
}

func (k *x11Keyboard) typeText(text string) {
	var syms []xproto.Keysym
	for _, r := range text {
		switch r {
		case '\n', '\r':
			syms = append(syms, xkReturn)
		case '\t':
			syms = append(syms, xkTab)
		default:
			if ks, ok := runeKeysym(r); ok {
				syms = append(syms, ks)
			}
		}
	}
	if len(syms) == 0 {
		return
	}
	k.begin()
	direct := k.direct()
	shift, _, hasShift := k.native(xkShiftL)
	// Type in batches that fit in the slots: all the slots a batch needs
	// are written, then its keys pressed.
	for len(syms) > 0 {
		k.clock++
		var (
			dirty   []*slot
			strokes []stroke
		)
		n := 0
		for ; n < len(syms); n++ {
			ks := syms[n]
			if direct || ks == xkReturn || ks == xkTab {
				code, col, ok := k.native(ks)
				if ok && (col == 0 || col == 1 && direct && hasShift) {
					strokes = append(strokes, stroke{code: code, shift: col == 1})
					continue
				}
			}
			if s := k.assign(ks, k.clock, &dirty); s != nil {
				strokes = append(strokes, stroke{code: s.code})
				continue
			}
			if n > 0 {
				break // the slots are full: type what fits first
			}
			// No spare keycode at all: fall back on a key that has the
			// keysym, with Shift if it is in the second column.
			if code, col, ok := k.native(ks); ok && (col == 0 || col == 1 && hasShift) {
				strokes = append(strokes, stroke{code: code, shift: col == 1})
			}
		}
		syms = syms[n:]
		k.writeSlots(dirty)
		for _, st := range strokes {
			if st.shift {
				k.fake(shift, true)
			}
			k.fake(st.code, true)
			k.fake(st.code, false)
			if st.shift {
				k.fake(shift, false)
			}
		}
		k.sync()
		now := time.Now()
		for _, st := range strokes {
			if s := k.slots[st.code]; s != nil {
				s.used = now
			}
		}
	}
}

func (k *x11Keyboard) close() error {
	k.begin()
	for name := range k.held {
		k.key(name, false)
	}
	// Give the slots back: empty rows, written like keysyms.
	var dirty []*slot
	for _, s := range k.slots {
		if s.sym != 0 {
			k.forget(s)
			dirty = append(dirty, s)
		}
	}
	k.writeSlots(dirty)
	k.sync()
	err := k.lastErr
	k.x.Close()
	return err
}

func (k *x11Keyboard) err() error { return k.lastErr }
