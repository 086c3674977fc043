//go:build linux

package inject

import (
	"fmt"
	"github.com/meekijk/meekijk/internal/xvfb"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// These tests inject into a real X server (Xvfb) and watch what arrives in a
// window covering its screen. Nothing is mocked.

const (
	screenW, screenH = 1280, 800
	waitLimit        = 3 * time.Second
)

// startXvfb starts this test's own X display.
func startXvfb(t *testing.T) string {
	t.Helper()
	if !xvfb.Available() {
		t.Skip("Xvfb is not installed (scripts/deps.sh installs it): cannot test real input injection")
	}
	return xvfb.Start(t, screenW, screenH)
}

// event is an input event the recorder window got.
type event struct {
	kind  string // "press", "release" (keys), "bpress", "brelease", "motion"
	code  byte   // keycode or button
	sym   xproto.Keysym
	state uint16
	x, y  int16
}

func (e event) String() string {
	switch e.kind {
	case "press", "release":
		return fmt.Sprintf("%s %d %#x state %#x", e.kind, e.code, e.sym, e.state)
	}
	return fmt.Sprintf("%s %d at %d,%d", e.kind, e.code, e.x, e.y)
}

// recorder is a focused override-redirect window over the whole screen
// that records key, button and motion events, turning keycodes into
// keysyms with the keyboard mapping current when the event is read.
type recorder struct {
	x        *xgb.Conn
	min, max xproto.Keycode

	mu       sync.Mutex
	per      int
	syms     []xproto.Keysym
	events   []event
	all      []event // never reset
	notifies int     // keyboard MappingNotify events
	changed  chan struct{}
	// locked are modifiers that typed accepts besides Shift and Lock
	// (a core client sees the second group as Mod5 and Lock).
	locked uint16
}

func newRecorder(t *testing.T, display string) *recorder {
	t.Helper()
	x, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatalf("connect to X %s: %v", display, err)
	}
	setup := xproto.Setup(x)
	screen := setup.DefaultScreen(x)
	rec := &recorder{x: x, min: setup.MinKeycode, max: setup.MaxKeycode, changed: make(chan struct{}, 1)}
	done := make(chan struct{})
	t.Cleanup(func() {
		x.Close()
		select {
		case <-done:
		case <-time.After(waitLimit):
			t.Error("recorder did not stop")
		}
	})
	if err := rec.readMapping(); err != nil {
		t.Fatal(err)
	}
	wid, err := xproto.NewWindowId(x)
	if err != nil {
		t.Fatal(err)
	}
	mask := uint32(xproto.EventMaskKeyPress | xproto.EventMaskKeyRelease | xproto.EventMaskButtonPress |
		xproto.EventMaskButtonRelease | xproto.EventMaskPointerMotion)
	err = xproto.CreateWindowChecked(x, screen.RootDepth, wid, screen.Root, 0, 0, screenW, screenH, 0,
		xproto.WindowClassInputOutput, screen.RootVisual,
		xproto.CwOverrideRedirect|xproto.CwEventMask, []uint32{1, mask}).Check()
	if err != nil {
		t.Fatalf("create window: %v", err)
	}
	if err := xproto.MapWindowChecked(x, wid).Check(); err != nil {
		t.Fatalf("map window: %v", err)
	}
	err = xproto.SetInputFocusChecked(x, xproto.InputFocusPointerRoot, wid, xproto.TimeCurrentTime).Check()
	if err != nil {
		t.Fatalf("focus window: %v", err)
	}
	go func() {
		defer close(done)
		for {
			ev, xerr := x.WaitForEvent()
			if ev == nil && xerr == nil {
				return // closed
			}
			if ev != nil {
				rec.handle(ev)
			}
		}
	}()
	return rec
}

func (rec *recorder) readMapping() error {
	r, err := xproto.GetKeyboardMapping(rec.x, rec.min, byte(int(rec.max)-int(rec.min)+1)).Reply()
	if err != nil {
		return fmt.Errorf("read keyboard mapping: %w", err)
	}
	rec.mu.Lock()
	rec.per, rec.syms = int(r.KeysymsPerKeycode), r.Keysyms
	rec.mu.Unlock()
	return nil
}

// mapping returns a copy of the keyboard mapping as last read.
func (rec *recorder) mapping() []xproto.Keysym {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.syms)
}

// keysym looks a key event up as the core protocol says: the second column
// with Shift, if it has one, else the first; CapsLock turns a lowercase
// letter of a key that has its uppercase in the second column into that.
func (rec *recorder) keysym(code xproto.Keycode, state uint16) xproto.Keysym {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	row := rec.syms[int(code-rec.min)*rec.per:][:rec.per]
	shift := state&xproto.ModMaskShift != 0
	if state&xproto.ModMaskLock != 0 {
		if r, ok := keysymRune(row[0]); ok && unicode.IsLower(r) {
			if up, ok := keysymRune(row[1]); ok && up == unicode.ToUpper(r) {
				shift = !shift
			}
		}
	}
	if shift && row[1] != 0 {
		return row[1]
	}
	return row[0]
}

func (rec *recorder) handle(ev xgb.Event) {
	var e event
	switch ev := ev.(type) {
	case xproto.MappingNotifyEvent:
		// Typing may have remapped keycodes: the events after this one
		// are read with the new mapping.
		if ev.Request == xproto.MappingKeyboard {
			_ = rec.readMapping() // fails only when closing
			rec.mu.Lock()
			rec.notifies++
			rec.mu.Unlock()
		}
		return
	case xproto.KeyPressEvent:
		e = event{kind: "press", code: byte(ev.Detail), sym: rec.keysym(ev.Detail, ev.State), state: ev.State}
	case xproto.KeyReleaseEvent:
		e = event{kind: "release", code: byte(ev.Detail), sym: rec.keysym(ev.Detail, ev.State), state: ev.State}
	case xproto.ButtonPressEvent:
		e = event{kind: "bpress", code: byte(ev.Detail), state: ev.State, x: ev.EventX, y: ev.EventY}
	case xproto.ButtonReleaseEvent:
		e = event{kind: "brelease", code: byte(ev.Detail), state: ev.State, x: ev.EventX, y: ev.EventY}
	case xproto.MotionNotifyEvent:
		e = event{kind: "motion", state: ev.State, x: ev.EventX, y: ev.EventY}
	default:
		return
	}
	rec.mu.Lock()
	rec.events = append(rec.events, e)
	rec.all = append(rec.all, e)
	rec.mu.Unlock()
	select {
	case rec.changed <- struct{}{}:
	default:
	}
}

// reset forgets the events recorded so far (except for the release check).
func (rec *recorder) reset() {
	rec.mu.Lock()
	rec.events = nil
	rec.mu.Unlock()
}

// waitFor waits until filter(events) has n events and returns them; it
// fails the test after waitLimit with what came.
func (rec *recorder) waitFor(t *testing.T, n int, filter func(event) bool) []event {
	t.Helper()
	return rec.waitUntil(t, fmt.Sprintf("%d events", n), func(events []event) ([]event, bool) {
		var got []event
		for _, e := range events {
			if filter(e) {
				got = append(got, e)
			}
		}
		return got, len(got) >= n
	})
}

// waitUntil waits until done(events) is true and returns what it returns;
// it fails the test after waitLimit with what came.
func (rec *recorder) waitUntil(t *testing.T, what string, done func([]event) ([]event, bool)) []event {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		rec.mu.Lock()
		got, ok := done(rec.events)
		all := slices.Clone(rec.events)
		rec.mu.Unlock()
		if ok {
			return got
		}
		select {
		case <-rec.changed:
		case <-deadline:
			t.Fatalf("waited %v for %s, got %v", waitLimit, what, all)
		}
	}
}

func isKey(e event) bool    { return e.kind == "press" || e.kind == "release" }
func isButton(e event) bool { return e.kind == "bpress" || e.kind == "brelease" }

// keysymRune is the character a keysym types, for the keysyms Type uses:
// Latin-1 ones are the code point, Unicode ones the code point plus
// 0x01000000; the legacy EuroSign is 0x20ac.
func keysymRune(ks xproto.Keysym) (rune, bool) {
	switch {
	case ks >= 0x20 && ks <= 0x7e, ks >= 0xa0 && ks <= 0xff:
		return rune(ks), true
	case ks == 0x20ac:
		return '€', true
	case ks&0xff000000 == 0x01000000:
		return rune(ks & 0xffffff), true
	}
	return 0, false
}

// isModifier reports whether ks is a modifier key's (Shift_L..Hyper_R,
// ISO_Level3_Shift).
func isModifier(ks xproto.Keysym) bool { return ks >= 0xffe1 && ks <= 0xffee || ks == 0xfe03 }

// typed waits for the key events of text, all released, and returns the
// characters their presses typed; it fails if a press came with a modifier
// other than Shift or CapsLock.
func (rec *recorder) typed(t *testing.T, text string) string {
	t.Helper()
	n := len([]rune(text))
	events := rec.waitUntil(t, fmt.Sprintf("%d keys typed and released", n), func(events []event) ([]event, bool) {
		chars, down := 0, 0
		for _, e := range events {
			switch {
			case e.kind == "press" && !isModifier(e.sym):
				chars++
				down++
			case e.kind == "press":
				down++
			case e.kind == "release":
				down--
			}
		}
		return events, chars >= n && down == 0
	})
	var b strings.Builder
	for _, e := range events {
		if e.kind != "press" || isModifier(e.sym) {
			continue
		}
		if e.state&0xff&^(xproto.ModMaskShift|xproto.ModMaskLock|rec.locked) != 0 {
			t.Errorf("%v: typed with modifiers held", e)
		}
		switch r, ok := keysymRune(e.sym); {
		case ok:
			b.WriteRune(r)
		case e.sym == xkReturn:
			b.WriteByte('\n')
		case e.sym == xkTab:
			b.WriteByte('\t')
		default:
			fmt.Fprintf(&b, "<%#x>", e.sym)
		}
	}
	return b.String()
}

// checkReleased checks that every key and button that went down came up:
// as many releases as presses per keycode, and nothing down in the server.
func (rec *recorder) checkReleased(t *testing.T) {
	t.Helper()
	rec.mu.Lock()
	down := map[string]int{}
	for _, e := range rec.all {
		switch e.kind {
		case "press":
			down[fmt.Sprintf("key %d", e.code)]++
		case "release":
			down[fmt.Sprintf("key %d", e.code)]--
		case "bpress":
			down[fmt.Sprintf("button %d", e.code)]++
		case "brelease":
			down[fmt.Sprintf("button %d", e.code)]--
		}
	}
	rec.mu.Unlock()
	for k, n := range down {
		if n != 0 {
			t.Errorf("%s: %d more presses than releases", k, n)
		}
	}
	km, err := xproto.QueryKeymap(rec.x).Reply()
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range km.Keys {
		for bit := range 8 {
			if b&(1<<bit) != 0 {
				t.Errorf("keycode %d is still down", i*8+bit)
			}
		}
	}
	p, err := xproto.QueryPointer(rec.x, xproto.Setup(rec.x).DefaultScreen(rec.x).Root).Reply()
	if err != nil {
		t.Fatal(err)
	}
	if buttons := p.Mask & (xproto.KeyButMaskButton1 | xproto.KeyButMaskButton2 | xproto.KeyButMaskButton3 |
		xproto.KeyButMaskButton4 | xproto.KeyButMaskButton5); buttons != 0 {
		t.Errorf("pointer buttons still down: mask %#x", p.Mask)
	}
}

// setup starts Xvfb, a recorder and a Robot (opened through $DISPLAY),
// closed in that order's reverse.
func setup(t *testing.T, layout string) (*Robot, *recorder, string) {
	t.Helper()
	display := startXvfb(t)
	if layout != "" {
		setLayout(t, display, layout)
	}
	rec := newRecorder(t, display)
	t.Setenv("DISPLAY", display)
	r, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r, rec, display
}

// setLayout sets the keyboard layout with setxkbmap (args: "be", or
// "-layout", "us,ru", …).
func setLayout(t *testing.T, display string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("setxkbmap"); err != nil {
		t.Skip("setxkbmap is not installed (Debian x11-xkb-utils, which xvfb depends on)")
	}
	args = append([]string{"-display", display}, args...)
	if out, err := exec.Command("setxkbmap", args...).CombinedOutput(); err != nil {
		t.Fatalf("setxkbmap %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func TestRobot(t *testing.T) {
	r, rec, display := setup(t, "")
	initial := rec.mapping()

	if _, err := New(display); err == nil {
		t.Fatal("a second New while one Robot is open succeeded")
	}

	t.Run("buttons", func(t *testing.T) {
		rec.reset()
		r.MoveMouse(300, 200)
		r.MouseButton("left", true)
		r.MouseButton("left", false)
		r.MoveMouse(10, 20)
		r.MouseButton("back", true) // not a button: ignored
		r.MouseButton("middle", true)
		r.MouseButton("middle", false)
		r.MouseButton("right", true)
		r.MouseButton("right", false)
		got := rec.waitFor(t, 6, isButton)
		want := []event{
			{kind: "bpress", code: 1, x: 300, y: 200}, {kind: "brelease", code: 1, x: 300, y: 200},
			{kind: "bpress", code: 2, x: 10, y: 20}, {kind: "brelease", code: 2, x: 10, y: 20},
			{kind: "bpress", code: 3, x: 10, y: 20}, {kind: "brelease", code: 3, x: 10, y: 20},
		}
		for i := range got {
			got[i].state = 0
		}
		if !slices.Equal(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
		motion := rec.waitFor(t, 1, func(e event) bool { return e.kind == "motion" && e.x == 300 && e.y == 200 })
		if len(motion) == 0 {
			t.Error("no motion to 300,200")
		}
	})

	t.Run("wheel", func(t *testing.T) {
		rec.reset()
		r.MoveMouse(640, 400)
		r.Scroll(0, 2)  // down
		r.Scroll(0, -1) // up
		r.Scroll(3, 0)  // right
		r.Scroll(-1, 0) // left
		r.Scroll(0, 0)
		var got []byte
		for _, e := range rec.waitFor(t, 14, isButton) {
			if e.kind == "bpress" {
				got = append(got, e.code)
			}
		}
		// X11: 4 up, 5 down, 6 left, 7 right.
		if want := []byte{5, 5, 4, 7, 7, 7, 6}; !slices.Equal(got, want) {
			t.Errorf("wheel buttons %v, want %v", got, want)
		}
	})

	t.Run("keys", func(t *testing.T) {
		// Every name input.Controller emits, and the keysym it must
		// arrive as.
		type key struct {
			name string
			sym  xproto.Keysym
		}
		keys := []key{
			{"enter", xkReturn}, {"tab", xkTab}, {"escape", xkEscape}, {"backspace", xkBackSpace},
			{"delete", xkDelete}, {"insert", xkInsert}, {"home", xkHome}, {"end", xkEnd},
			{"pageup", xkPrior}, {"pagedown", xkNext}, {"up", xkUp}, {"down", xkDown},
			{"left", xkLeft}, {"right", xkRight}, {"space", ' '},
			{"shift", xkShiftL}, {"ctrl", xkControlL}, {"alt", xkAltL}, {"cmd", xkSuperL},
		}
		for i := 1; i <= 24; i++ {
			keys = append(keys, key{fmt.Sprintf("f%d", i), xproto.Keysym(xkF1 + i - 1)})
		}
		for _, c := range "abcdefghijklmnopqrstuvwxyz0123456789-=[]\\;',./`" {
			keys = append(keys, key{string(c), xproto.Keysym(c)})
		}
		rec.reset()
		r.Key("bogus", true) // unknown: ignored
		r.Key("bogus", false)
		for _, k := range keys {
			r.Key(k.name, true)
			r.Key(k.name, false)
		}
		got := rec.waitFor(t, 2*len(keys), isKey)
		for i, k := range keys {
			p, rl := got[2*i], got[2*i+1]
			if p.kind != "press" || p.sym != k.sym || rl.kind != "release" || rl.code != p.code {
				t.Errorf("Key(%q): got %v, %v; want press and release of keysym %#x", k.name, p, rl, k.sym)
			}
		}
		if t.Failed() {
			t.Logf("all events: %v", got)
		}
	})

	t.Run("shift+a", func(t *testing.T) {
		rec.reset()
		r.Key("shift", true)
		r.Key("a", true)
		r.Key("a", false)
		r.Key("shift", false)
		got := rec.waitFor(t, 4, isKey)
		a := got[1]
		if a.kind != "press" || a.state&xproto.ModMaskShift == 0 || a.sym != 'A' {
			t.Errorf("a with Shift held arrived as %v, want a press of keysym A (0x41) with Shift", a)
		}
	})

	typeText := func(t *testing.T, text string) {
		t.Helper()
		rec.reset()
		r.Type(text)
		if got := rec.typed(t, text); got != text {
			t.Errorf("Type(%q) typed %q", text, got)
		}
	}
	notifies := func() int {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.notifies
	}

	t.Run("type", func(t *testing.T) {
		typeText(t, "Hé ç € @ à ë")
		// The keys of the US layout and the spare keycodes already
		// mapped: no mapping change.
		before := notifies()
		typeText(t, "Hé ç € @ à ë")
		typeText(t, "Hello, World! 1+1=2 ~ [x] {y} \"quoted\" 'q' <a> _|")
		if n := notifies() - before; n != 0 {
			t.Errorf("typing ASCII and characters typed before changed the mapping %d times", n)
		}
		typeText(t, "Zoë's naïve café: ß ñ Ø ¿ ☃ 😀")
		typeText(t, "a\tb\nc")
		// More distinct characters than spare keycodes (19 on Xvfb).
		typeText(t, "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ")
	})

	capsLock := func(t *testing.T) {
		t.Helper()
		rec.reset()
		r.Key("capslock", true)
		r.Key("capslock", false)
		rec.waitFor(t, 2, isKey)
	}
	t.Run("type with CapsLock", func(t *testing.T) {
		capsLock(t)
		typeText(t, "Hello é É")
		capsLock(t)
	})

	t.Run("close releases", func(t *testing.T) {
		rec.reset()
		r.Key("ctrl", true)
		r.Key("f20", true) // on a spare keycode
		r.MouseButton("left", true)
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		rec.waitFor(t, 4, isKey)
		rec.waitFor(t, 2, isButton)
		r.Key("a", true) // closed: ignored
		r.MoveMouse(1, 1)
		if err := r.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})

	rec.checkReleased(t)
	if err := rec.readMapping(); err != nil {
		t.Fatal(err)
	}
	if got := rec.mapping(); !slices.Equal(got, initial) {
		for i := range got {
			if got[i] != initial[i] {
				t.Errorf("keycode %d column %d is %#x after Close, was %#x", int(rec.min)+i/rec.per, i%rec.per, got[i], initial[i])
			}
		}
	}

	// Closed, a Robot can be opened again.
	r2, err := New(display)
	if err != nil {
		t.Fatalf("New after Close: %v", err)
	}
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTypeLayouts types on layouts where robotgo's TypeStr fails: AZERTY
// (whose "1" key types "&" without Shift, "@" is AltGr+2), Russian (which
// has no Latin letters at all), and US plus Russian switched to Russian
// (where the Latin letters' keys type Cyrillic).
func TestTypeLayouts(t *testing.T) {
	r, rec, display := setup(t, "be")
	const text = "@1.M&é€ ë ç 0!"
	r.Type(text)
	if got := rec.typed(t, text); got != text {
		t.Errorf("be: Type(%q) typed %q", text, got)
	}

	// Shortcuts on AZERTY: Ctrl with the key that carries the letter.
	rec.reset()
	r.Key("ctrl", true)
	r.Key("a", true)
	r.Key("a", false)
	r.Key("ctrl", false)
	if got := rec.waitFor(t, 4, isKey)[1]; got.sym != 'a' || got.state&xproto.ModMaskControl == 0 {
		t.Errorf("be: ctrl+a arrived as %v", got)
	}

	setLayout(t, display, "ru")
	rec.reset()
	const latin = "hello, World 42"
	r.Type(latin)
	if got := rec.typed(t, latin); got != latin {
		t.Errorf("ru: Type(%q) typed %q", latin, got)
	}
	rec.reset()
	r.Key("ctrl", true)
	r.Key("c", true) // no key has "c": a spare keycode gets it
	r.Key("c", false)
	r.Key("ctrl", false)
	if got := rec.waitFor(t, 4, isKey)[1]; got.sym != 'c' || got.state&xproto.ModMaskControl == 0 {
		t.Errorf("ru: ctrl+c arrived as %v", got)
	}

	// CapsLock switches between the groups; a core client like the
	// recorder sees the second group as modifiers.
	setLayout(t, display, "-layout", "us,ru", "-option", "grp:caps_toggle")
	rec.reset()
	r.Key("capslock", true)
	r.Key("capslock", false)
	got := rec.waitFor(t, 2, isKey)
	if got[0].sym != 0xfe08 || got[1].state == 0 {
		t.Fatalf("us,ru: capslock arrived as %v, want ISO_Next_Group (0xfe08) switching group", got)
	}
	rec.reset()
	rec.locked = got[1].state & 0xff
	r.Type(latin)
	if got := rec.typed(t, latin); got != latin {
		t.Errorf("us,ru in ru: Type(%q) typed %q", latin, got)
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	rec.checkReleased(t)
}

func TestNewErrors(t *testing.T) {
	t.Setenv("DISPLAY", "")
	if _, err := New(""); err == nil || !strings.Contains(err.Error(), "DISPLAY") {
		t.Errorf("New without $DISPLAY: %v, want an error about $DISPLAY", err)
	}
	if _, err := New(":65000"); err == nil {
		t.Error("New on a display that does not exist succeeded")
	}
}
