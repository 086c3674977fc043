package input

import (
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/datachannel"
)

// recorder is an Injector that records its calls: the test double for the
// OS call, and nothing else.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
}

func (r *recorder) MoveMouse(x, y int)           { r.add("move %d,%d", x, y) }
func (r *recorder) MouseButton(b string, d bool) { r.add("button %s %s", b, upDown(d)) }
func (r *recorder) Scroll(dx, dy int)            { r.add("scroll %d,%d", dx, dy) }
func (r *recorder) Key(k string, d bool)         { r.add("key %s %s", k, upDown(d)) }
func (r *recorder) Type(text string)             { r.add("type %s", text) }

// take returns the calls so far and forgets them.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func upDown(down bool) string {
	if down {
		return "down"
	}
	return "up"
}

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var fullHD = image.Rect(0, 0, 1920, 1080)

// setup returns an enabled Controller on a 1920x1080 screen.
func setup(t *testing.T, cfg Config) (*Controller, *recorder, *clock) {
	t.Helper()
	rec, clk := &recorder{}, newClock()
	cfg.Injector = rec
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	if cfg.Screen.Empty() {
		cfg.Screen = fullHD
	}
	c := New(cfg)
	c.Enabled(true)
	return c, rec, clk
}

func expect(t *testing.T, rec *recorder, want ...string) {
	t.Helper()
	if got := rec.take(); !slices.Equal(got, want) {
		t.Errorf("injected\n  %q\nwant\n  %q", got, want)
	}
}

func down(code, key string) datachannel.Key {
	return datachannel.Key{Action: datachannel.ActionDown, Code: code, Key: key}
}

func up(code, key string) datachannel.Key {
	return datachannel.Key{Action: datachannel.ActionUp, Code: code, Key: key}
}

func with(k datachannel.Key, mods string) datachannel.Key {
	k.Shift = strings.Contains(mods, "s")
	k.Ctrl = strings.Contains(mods, "c")
	k.Alt = strings.Contains(mods, "a")
	k.Meta = strings.Contains(mods, "m")
	return k
}

func ptr(action string, x, y float64, button string) datachannel.Pointer {
	return datachannel.Pointer{Action: action, X: x, Y: y, Button: button, VideoWidth: 1280, VideoHeight: 720}
}

func TestMapPoint(t *testing.T) {
	second := image.Rect(1920, 0, 3840, 1080)
	left := image.Rect(-1920, 0, 0, 1080)
	hiDPI := image.Rect(0, 0, 2560, 1440)
	cases := []struct {
		x, y   float64
		vw, vh int
		screen image.Rectangle
		want   image.Point
		ok     bool
	}{
		// 1280x720 video of a 1920x1080 screen: scale 1.5.
		{0, 0, 1280, 720, fullHD, image.Pt(0, 0), true},
		{640, 360, 1280, 720, fullHD, image.Pt(960, 540), true},
		{1280, 720, 1280, 720, fullHD, image.Pt(1919, 1079), true},
		{1279.9, 719.9, 1280, 720, fullHD, image.Pt(1919, 1079), true},
		{0, 720, 1280, 720, fullHD, image.Pt(0, 1079), true},
		{1280, 0, 1280, 720, fullHD, image.Pt(1919, 0), true},
		{0.5, 0.5, 1280, 720, fullHD, image.Pt(0, 0), true},
		{1, 1, 1280, 720, fullHD, image.Pt(1, 1), true},
		// Outside the video: clamped to the screen's edge.
		{-10, -0.1, 1280, 720, fullHD, image.Pt(0, 0), true},
		{5000, 1e300, 1280, 720, fullHD, image.Pt(1919, 1079), true},
		{math.Inf(-1), math.Inf(1), 1280, 720, fullHD, image.Pt(0, 1079), true},
		// Not 1:1, other aspect: 1366x768 video of a 2560x1440 screen.
		{683, 384, 1366, 768, hiDPI, image.Pt(1280, 720), true},
		// Video larger than the screen (downscaling on the screen side).
		{1000, 500, 3840, 2160, fullHD, image.Pt(500, 250), true},
		// Second screen at (1920,0)-(3840,1080), 1:1.
		{0, 0, 1920, 1080, second, image.Pt(1920, 0), true},
		{960, 540, 1920, 1080, second, image.Pt(2880, 540), true},
		{1920, 1080, 1920, 1080, second, image.Pt(3839, 1079), true},
		{-5, 2000, 1920, 1080, second, image.Pt(1920, 1079), true},
		// Screen left of the primary: negative coordinates.
		{0, 0, 1280, 720, left, image.Pt(-1920, 0), true},
		{1280, 720, 1280, 720, left, image.Pt(-1, 1079), true},
		// Nothing to map.
		{1, 1, 0, 720, fullHD, image.Point{}, false},
		{1, 1, 1280, -1, fullHD, image.Point{}, false},
		{1, 1, 1280, 720, image.Rectangle{}, image.Point{}, false},
		{math.NaN(), 1, 1280, 720, fullHD, image.Point{}, false},
	}
	for _, c := range cases {
		got, ok := MapPoint(c.x, c.y, c.vw, c.vh, c.screen)
		if got != c.want || ok != c.ok {
			t.Errorf("MapPoint(%v, %v, %dx%d, %v) = %v, %v; want %v, %v", c.x, c.y, c.vw, c.vh, c.screen, got, ok, c.want, c.ok)
		}
	}
}

func TestKeyTranslation(t *testing.T) {
	cases := []struct {
		name string
		k    datachannel.Key
		want []string // calls for down then up
	}{
		// Printable characters are typed, whatever the layout.
		{"letter", down("KeyA", "a"), []string{"type a"}},
		{"azerty é", down("Digit2", "é"), []string{"type é"}},
		{"azerty è", down("Digit7", "è"), []string{"type è"}},
		{"azerty ç", down("Digit9", "ç"), []string{"type ç"}},
		{"azerty à", down("Digit0", "à"), []string{"type à"}},
		{"dead-key ë", down("KeyE", "ë"), []string{"type ë"}},
		{"azerty digit", with(down("Digit1", "1"), "s"), []string{"type 1"}},
		{"AltGr € (Windows: ctrl+alt)", with(down("KeyE", "€"), "ca"), []string{"type €"}},
		{"AltGr @ (Windows: ctrl+alt)", with(down("Digit2", "@"), "ca"), []string{"type @"}},
		{"AltGr @ (Linux: no flags)", down("Digit2", "@"), []string{"type @"}},
		{"mac Option ƒ", with(down("KeyF", "ƒ"), "a"), []string{"type ƒ"}},
		{"no code", down("", "ç"), []string{"type ç"}},
		{"numpad digit", down("Numpad5", "5"), []string{"type 5"}},
		// Named keys, by key value.
		{"Enter", down("Enter", "Enter"), []string{"key enter down", "key enter up"}},
		{"NumpadEnter", down("NumpadEnter", "Enter"), []string{"key enter down", "key enter up"}},
		{"Tab", down("Tab", "Tab"), []string{"key tab down", "key tab up"}},
		{"Escape", down("Escape", "Escape"), []string{"key escape down", "key escape up"}},
		{"Backspace", down("Backspace", "Backspace"), []string{"key backspace down", "key backspace up"}},
		{"Delete", down("Delete", "Delete"), []string{"key delete down", "key delete up"}},
		{"Insert", down("Insert", "Insert"), []string{"key insert down", "key insert up"}},
		{"Space", down("Space", " "), []string{"key space down", "key space up"}},
		{"Home", down("Home", "Home"), []string{"key home down", "key home up"}},
		{"End", down("End", "End"), []string{"key end down", "key end up"}},
		{"PageUp", down("PageUp", "PageUp"), []string{"key pageup down", "key pageup up"}},
		{"PageDown", down("PageDown", "PageDown"), []string{"key pagedown down", "key pagedown up"}},
		{"ArrowLeft", down("ArrowLeft", "ArrowLeft"), []string{"key left down", "key left up"}},
		{"ArrowRight", down("ArrowRight", "ArrowRight"), []string{"key right down", "key right up"}},
		{"ArrowUp", down("ArrowUp", "ArrowUp"), []string{"key up down", "key up up"}},
		{"ArrowDown", down("ArrowDown", "ArrowDown"), []string{"key down down", "key down up"}},
		{"numpad arrow (NumLock off)", down("Numpad4", "ArrowLeft"), []string{"key left down", "key left up"}},
		{"F1", down("F1", "F1"), []string{"key f1 down", "key f1 up"}},
		{"F5", down("F5", "F5"), []string{"key f5 down", "key f5 up"}},
		{"F12", down("F12", "F12"), []string{"key f12 down", "key f12 up"}},
		{"F24", down("F24", "F24"), []string{"key f24 down", "key f24 up"}},
		{"Shift", down("ShiftLeft", "Shift"), []string{"key shift down", "key shift up"}},
		{"Control", down("ControlRight", "Control"), []string{"key ctrl down", "key ctrl up"}},
		{"Alt", down("AltLeft", "Alt"), []string{"key alt down", "key alt up"}},
		{"Meta", down("MetaLeft", "Meta"), []string{"key cmd down", "key cmd up"}},
		{"OS (old Firefox)", down("OSRight", "OS"), []string{"key cmd down", "key cmd up"}},
		// By code when the key value is useless.
		{"Unidentified F13", down("F13", "Unidentified"), []string{"key f13 down", "key f13 up"}},
		{"Unidentified letter", down("KeyQ", "Unidentified"), []string{"key q down", "key q up"}},
		{"no key value", down("Enter", ""), []string{"key enter down", "key enter up"}},
		// Shortcuts: keys with the modifiers (held separately) applying.
		{"Ctrl+C", with(down("KeyC", "c"), "c"), []string{"key c down", "key c up"}},
		{"Ctrl+Shift+T", with(down("KeyT", "T"), "cs"), []string{"key t down", "key t up"}},
		{"Ctrl+Z from AZERTY", with(down("KeyW", "z"), "c"), []string{"key z down", "key z up"}},
		{"Ctrl+1 from AZERTY", with(down("Digit1", "&"), "c"), []string{"key 1 down", "key 1 up"}},
		{"Ctrl+é from AZERTY", with(down("Digit2", "é"), "c"), []string{"key 2 down", "key 2 up"}},
		{"Ctrl+C from Russian", with(down("KeyC", "с"), "c"), []string{"key c down", "key c up"}},
		{"Ctrl+minus", with(down("Minus", "-"), "c"), []string{"key - down", "key - up"}},
		{"Ctrl+Shift+plus", with(down("Equal", "+"), "cs"), []string{"key = down", "key = up"}},
		{"Cmd+V", with(down("KeyV", "v"), "m"), []string{"key v down", "key v up"}},
		{"Alt+F", with(down("KeyF", "f"), "a"), []string{"key f down", "key f up"}},
		{"Ctrl+Alt+T", with(down("KeyT", "t"), "ca"), []string{"key t down", "key t up"}},
		{"Alt+F4", with(down("F4", "F4"), "a"), []string{"key f4 down", "key f4 up"}},
		{"Ctrl+Enter", with(down("Enter", "Enter"), "c"), []string{"key enter down", "key enter up"}},
		// Deliberately not injected.
		{"AltGraph", down("AltRight", "AltGraph"), nil},
		{"Dead", down("BracketLeft", "Dead"), nil},
		{"IME Process", down("KeyA", "Process"), nil},
		{"CapsLock", down("CapsLock", "CapsLock"), nil},
		// Nothing to map to.
		{"ContextMenu", down("ContextMenu", "ContextMenu"), nil},
		{"media key", down("AudioVolumeUp", "AudioVolumeUp"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctl, rec, _ := setup(t, Config{})
			ctl.Key(c.k)
			u := c.k
			u.Action = datachannel.ActionUp
			ctl.Key(u)
			expect(t, rec, c.want...)
			ctl.ReleaseAll()
			expect(t, rec) // nothing left held
		})
	}
}

func TestModifiersHeldAndReleased(t *testing.T) {
	ctl, rec, _ := setup(t, Config{})

	// Shift+a+b: the characters are typed with Shift lifted around them.
	ctl.Key(with(down("ShiftLeft", "Shift"), "s"))
	ctl.Key(with(down("KeyA", "A"), "s"))
	ctl.Key(with(up("KeyA", "A"), "s"))
	ctl.Key(with(down("KeyB", "B"), "s"))
	ctl.Key(up("ShiftLeft", "Shift"))
	expect(t, rec, "key shift down", "key shift up", "type A", "key shift down",
		"key shift up", "type B", "key shift down", "key shift up")

	// Ctrl+C: Ctrl stays down, C as a key.
	ctl.Key(with(down("ControlLeft", "Control"), "c"))
	ctl.Key(with(down("KeyC", "c"), "c"))
	ctl.Key(with(up("KeyC", "c"), "c"))
	ctl.Key(up("ControlLeft", "Control"))
	expect(t, rec, "key ctrl down", "key c down", "key c up", "key ctrl up")

	// Ctrl released before C: C's up still releases "c", as pressed.
	ctl.Key(with(down("ControlLeft", "Control"), "c"))
	ctl.Key(with(down("KeyC", "c"), "c"))
	ctl.Key(up("ControlLeft", "Control"))
	ctl.Key(up("KeyC", "c"))
	expect(t, rec, "key ctrl down", "key c down", "key ctrl up", "key c up")

	// Both Shifts: "shift" is released with the last one.
	ctl.Key(down("ShiftLeft", "Shift"))
	ctl.Key(down("ShiftRight", "Shift"))
	ctl.Key(up("ShiftLeft", "Shift"))
	expect(t, rec, "key shift down", "key shift down")
	ctl.Key(up("ShiftRight", "Shift"))
	expect(t, rec, "key shift up")

	// An up for something never pressed does nothing.
	ctl.Key(up("KeyZ", "z"))
	ctl.Key(up("AltLeft", "Alt"))
	expect(t, rec)
}

// Windows reports AltGr as a ControlLeft down, then AltRight with key
// "AltGraph", then the character with ctrl and alt set. The customer must
// get the character, not Ctrl+character.
func TestAltGrOnWindows(t *testing.T) {
	ctl, rec, _ := setup(t, Config{})
	ctl.Key(with(down("ControlLeft", "Control"), "c"))
	ctl.Key(with(down("AltRight", "AltGraph"), "ca"))
	ctl.Key(with(down("Digit2", "@"), "ca"))
	ctl.Key(with(up("Digit2", "@"), "ca"))
	ctl.Key(with(up("AltRight", "AltGraph"), "c"))
	ctl.Key(up("ControlLeft", "Control"))
	expect(t, rec, "key ctrl down", "key ctrl up", "type @", "key ctrl down", "key ctrl up")
}

func TestRepeatPressesAgain(t *testing.T) {
	ctl, rec, _ := setup(t, Config{})
	ctl.Key(down("ArrowDown", "ArrowDown"))
	ctl.Key(down("ArrowDown", "ArrowDown"))
	ctl.Key(down("ArrowDown", "ArrowDown"))
	ctl.Key(up("ArrowDown", "ArrowDown"))
	ctl.Key(down("KeyX", "x"))
	ctl.Key(down("KeyX", "x"))
	expect(t, rec, "key down down", "key down down", "key down down", "key down up", "type x", "type x")
}

func TestText(t *testing.T) {
	ctl, rec, _ := setup(t, Config{})
	ctl.Key(down("ShiftLeft", "Shift"))
	ctl.Text("日本")
	ctl.Text("")
	ctl.Text("a\nb")
	ctl.Text("\x1b[2J")
	expect(t, rec, "key shift down", "key shift up", "type 日本", "key shift down")
	if s := ctl.Stats(); s.Invalid != 3 {
		t.Errorf("Invalid = %d, want 3", s.Invalid)
	}
}

func TestPointer(t *testing.T) {
	ctl, rec, _ := setup(t, Config{Screen: image.Rect(1920, 0, 3840, 1080)})
	ctl.Pointer(ptr("move", 640, 360, ""))
	ctl.Pointer(ptr("down", 0, 0, "left"))
	ctl.Pointer(ptr("move", 10, 10, ""))
	ctl.Pointer(ptr("up", 1280, 720, "left"))
	ctl.Pointer(ptr("up", 1280, 720, "left"))  // not held: ignored
	ctl.Pointer(ptr("up", 1280, 720, "right")) // never pressed: ignored
	ctl.Pointer(ptr("down", 2, 2, "right"))
	ctl.Pointer(ptr("down", 2, 2, "back"))
	ctl.Pointer(ptr("click", 2, 2, ""))
	ctl.Pointer(datachannel.Pointer{Action: "move", X: 1, Y: 1}) // no video size
	expect(t, rec,
		"move 2880,540",
		"move 1920,0", "button left down",
		"move 1935,15",
		"move 3839,1079", "button left up",
		"move 1923,3", "button right down",
	)
	if s := ctl.Stats(); s.Invalid != 3 {
		t.Errorf("Invalid = %d, want 3", s.Invalid)
	}
	// No screen: nothing to map to.
	ctl.SetScreen(image.Rectangle{})
	ctl.Pointer(ptr("move", 1, 1, ""))
	expect(t, rec)
}

func TestWheel(t *testing.T) {
	ctl, rec, _ := setup(t, Config{})
	wheel := func(dx, dy float64) {
		p := ptr("wheel", 640, 360, "")
		p.DeltaX, p.DeltaY = dx, dy
		ctl.Pointer(p)
	}
	wheel(0, 100) // one notch down
	wheel(0, -300)
	wheel(0, 40) // touch pad: adds up
	wheel(0, 40)
	wheel(0, 40)
	wheel(-250, 0) // -2, 50 pending
	wheel(-50, 0)
	wheel(0, 1e4) // clamped
	wheel(math.NaN(), 0)
	expect(t, rec,
		"move 960,540", "scroll 0,1",
		"move 960,540", "scroll 0,-3",
		"move 960,540", "scroll 0,1",
		"move 960,540", "scroll -2,0",
		"move 960,540", "scroll -1,0",
		"move 960,540", "scroll 0,50",
	)
}

func TestReleaseAll(t *testing.T) {
	ctl, rec, _ := setup(t, Config{})
	ctl.Pointer(ptr("down", 1, 1, "right"))
	ctl.Pointer(ptr("down", 1, 1, "left"))
	ctl.Key(down("ShiftLeft", "Shift"))
	ctl.Key(with(down("ControlLeft", "Control"), "cs"))
	ctl.Key(with(down("KeyA", "A"), "cs"))
	ctl.Key(with(down("F5", "F5"), "cs"))
	ctl.Key(down("MetaLeft", "Meta"))
	ctl.Key(up("MetaLeft", "Meta"))
	ctl.Key(down("KeyB", "b")) // typed: nothing held
	rec.take()

	ctl.ReleaseAll()
	// Exactly what is held: buttons, keys, then modifiers.
	expect(t, rec, "button left up", "button right up", "key a up", "key f5 up", "key ctrl up", "key shift up")

	ctl.ReleaseAll()
	ctl.Key(up("KeyA", "A"))
	ctl.Key(up("ShiftLeft", "Shift"))
	ctl.Pointer(ptr("up", 1, 1, "left"))
	expect(t, rec)

	// The console's release_all does the same.
	ctl.Key(down("AltLeft", "Alt"))
	if !ctl.Handle(datachannel.ReleaseAll{}) {
		t.Fatal("Handle(ReleaseAll) = false")
	}
	expect(t, rec, "key alt down", "key alt up")
}

func TestWatchdog(t *testing.T) {
	ctl, rec, clk := setup(t, Config{})
	t0 := clk.Now()
	ctl.Key(down("ControlLeft", "Control"))
	ctl.Key(down("ArrowDown", "ArrowDown"))
	rec.take()

	// ArrowDown repeats every 500 ms (as a browser does); Ctrl does not.
	for i := 0; i < 10; i++ {
		clk.Advance(500 * time.Millisecond)
		ctl.Key(down("ArrowDown", "ArrowDown"))
		ctl.Tick(clk.Now())
	}
	expect(t, rec, slices.Repeat([]string{"key down down"}, 10)...)

	ctl.Tick(t0.Add(DefaultHoldLimit + time.Nanosecond))
	expect(t, rec, "key ctrl up")
	if s := ctl.Stats(); s.Watchdog != 1 {
		t.Errorf("Watchdog = %d, want 1", s.Watchdog)
	}
	// Ctrl is forgotten: its late up does nothing.
	ctl.Key(up("ControlLeft", "Control"))
	expect(t, rec)

	// The repeated key goes once its repeats stop.
	last := clk.Now()
	ctl.Tick(last.Add(DefaultHoldLimit))
	expect(t, rec)
	ctl.Tick(last.Add(DefaultHoldLimit + time.Millisecond))
	expect(t, rec, "key down up")

	// macOS does not repeat modifiers, but key events carry their flags:
	// Shift stays while keys typed with it keep coming.
	ctl.Key(down("ShiftLeft", "Shift"))
	for i := 0; i < 8; i++ {
		clk.Advance(time.Second)
		ctl.Key(with(down("KeyA", "A"), "s"))
		ctl.Tick(clk.Now())
	}
	if s := ctl.Stats(); s.Watchdog != 2 {
		t.Errorf("Watchdog = %d while Shift was flagged down, want 2", s.Watchdog)
	}
	ctl.Key(down("KeyB", "b")) // no shift flag: no refresh
	rec.take()
	ctl.Tick(clk.Now().Add(DefaultHoldLimit + time.Millisecond))
	expect(t, rec, "key shift up")

	// A custom limit; a negative one turns the watchdog off.
	ctl2, rec2, clk2 := setup(t, Config{HoldLimit: time.Second})
	ctl2.Key(down("ShiftLeft", "Shift"))
	ctl2.Tick(clk2.Now().Add(1001 * time.Millisecond))
	expect(t, rec2, "key shift down", "key shift up")
	ctl3, rec3, clk3 := setup(t, Config{HoldLimit: -1})
	ctl3.Key(down("ShiftLeft", "Shift"))
	ctl3.Tick(clk3.Now().Add(time.Hour))
	expect(t, rec3, "key shift down")
}

func TestDisabled(t *testing.T) {
	rec, clk := &recorder{}, newClock()
	ctl := New(Config{Injector: rec, Screen: fullHD, Now: clk.Now})
	// Disabled from the start: control is granted explicitly.
	ctl.Pointer(ptr("move", 1, 1, ""))
	ctl.Key(down("KeyA", "a"))
	ctl.Text("x")
	expect(t, rec)
	if ctl.IsEnabled() {
		t.Fatal("a new Controller is enabled")
	}

	ctl.Enabled(true)
	ctl.Key(down("ControlLeft", "Control"))
	ctl.Key(with(down("KeyA", "a"), "c"))
	ctl.Pointer(ptr("down", 1, 1, "left"))
	rec.take()

	// Disabling releases what is held, at that moment.
	ctl.Enabled(false)
	expect(t, rec, "button left up", "key a up", "key ctrl up")

	ctl.Pointer(ptr("move", 2, 2, ""))
	ctl.Pointer(ptr("up", 2, 2, "left"))
	ctl.Key(down("KeyB", "b"))
	ctl.Key(up("ControlLeft", "Control"))
	ctl.Text("x")
	ctl.Enabled(false)
	expect(t, rec)
	if s := ctl.Stats(); s.Disabled != 3+5 {
		t.Errorf("Disabled = %d, want 8", s.Disabled)
	}

	// Enabled again: the late up of a key released on disable is a no-op.
	ctl.Enabled(true)
	ctl.Key(up("KeyA", "a"))
	ctl.Pointer(ptr("move", 2, 2, ""))
	expect(t, rec, "move 3,3")
}

func TestRateLimit(t *testing.T) {
	ctl, rec, clk := setup(t, Config{})
	ctl.Key(down("ShiftLeft", "Shift")) // 1 token
	for i := 0; i < 250; i++ {
		ctl.Pointer(ptr("move", 1, 1, ""))
	}
	if n := len(rec.take()); n != DefaultRate {
		t.Errorf("%d calls in a burst, want %d", n, DefaultRate)
	}
	if s := ctl.Stats(); s.RateLimited != 51 {
		t.Errorf("RateLimited = %d, want 51", s.RateLimited)
	}
	// Releases pass even with an empty bucket.
	ctl.Key(up("ShiftLeft", "Shift"))
	expect(t, rec, "key shift up")

	// 100 ms refill 20 tokens.
	clk.Advance(100 * time.Millisecond)
	for i := 0; i < 30; i++ {
		ctl.Key(down("KeyA", "a"))
	}
	if n := len(rec.take()); n != 20 {
		t.Errorf("%d calls after 100 ms, want 20", n)
	}
	// A long pause refills up to the burst only.
	clk.Advance(time.Hour)
	for i := 0; i < 300; i++ {
		ctl.Text("a")
	}
	if n := len(rec.take()); n != DefaultRate {
		t.Errorf("%d calls after an hour, want %d", n, DefaultRate)
	}
	if s := ctl.Stats(); s.RateLimited != 51+10+100 {
		t.Errorf("RateLimited = %d, want 161", s.RateLimited)
	}

	// Configured rate and burst; a negative rate is unlimited.
	ctl2, rec2, _ := setup(t, Config{Rate: 10, Burst: 3})
	for i := 0; i < 5; i++ {
		ctl2.Pointer(ptr("move", 1, 1, ""))
	}
	if n := len(rec2.take()); n != 3 {
		t.Errorf("burst 3: %d calls", n)
	}
	ctl3, rec3, _ := setup(t, Config{Rate: -1})
	for i := 0; i < 1000; i++ {
		ctl3.Pointer(ptr("move", 1, 1, ""))
	}
	if n := len(rec3.take()); n != 1000 {
		t.Errorf("unlimited: %d calls", n)
	}
}

func TestHandle(t *testing.T) {
	ctl, rec, _ := setup(t, Config{})
	for _, m := range []datachannel.Message{ptr("move", 0, 0, ""), down("KeyA", "a"), datachannel.Text{Text: "b"}} {
		if !ctl.Handle(m) {
			t.Errorf("Handle(%T) = false", m)
		}
	}
	for _, m := range []datachannel.Message{datachannel.Clipboard{Text: "x"}, datachannel.FileAccept{ID: "a"}} {
		if ctl.Handle(m) {
			t.Errorf("Handle(%T) = true", m)
		}
	}
	expect(t, rec, "move 0,0", "type a", "type b")
}

// Run with -race: every method from several goroutines at once.
func TestConcurrent(t *testing.T) {
	ctl, _, clk := setup(t, Config{Rate: -1})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				ctl.Pointer(ptr("move", float64(i), 1, ""))
				ctl.Key(down("ShiftLeft", "Shift"))
				ctl.Key(down("KeyA", "A"))
				ctl.Key(up("ShiftLeft", "Shift"))
				ctl.Tick(clk.Now())
				if i%50 == 0 {
					ctl.Enabled(false)
					ctl.Enabled(true)
					ctl.SetScreen(fullHD)
					ctl.ReleaseAll()
					_ = ctl.Stats()
				}
			}
		})
	}
	wg.Wait()
	ctl.ReleaseAll()
	ctl.mu.Lock()
	defer ctl.mu.Unlock()
	if len(ctl.keys) != 0 || len(ctl.ids) != 0 || len(ctl.buttons) != 0 {
		t.Errorf("held after ReleaseAll: %v %v %v", ctl.keys, ctl.ids, ctl.buttons)
	}
}

// Whatever key event arrives, translate never panics, and a down followed
// by its up leaves nothing held.
func FuzzKey(f *testing.F) {
	f.Add("KeyA", "a", false, false, false, false)
	f.Add("Digit2", "@", false, true, true, false)
	f.Add("F5", "F5", false, false, false, false)
	f.Add("", "é", true, false, false, true)
	f.Fuzz(func(t *testing.T, code, key string, shift, ctrl, alt, meta bool) {
		rec := &recorder{}
		ctl := New(Config{Injector: rec, Screen: fullHD, Rate: -1})
		ctl.Enabled(true)
		k := datachannel.Key{Action: datachannel.ActionDown, Code: code, Key: key, Shift: shift, Ctrl: ctrl, Alt: alt, Meta: meta}
		ctl.Key(k)
		k.Action = datachannel.ActionUp
		ctl.Key(k)
		ctl.mu.Lock()
		defer ctl.mu.Unlock()
		if len(ctl.keys) != 0 || len(ctl.ids) != 0 {
			t.Fatalf("%#v left %v held", k, ctl.keys)
		}
	})
}
