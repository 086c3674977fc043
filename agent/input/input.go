// Package input turns the technician's input events (internal/datachannel
// pointer, key and text messages) into input on the customer's machine,
// through an Injector that does the OS call. Everything that decides what
// is injected lives here, without the OS, so it can be tested: coordinate
// mapping, key translation, which keys and buttons are held, releasing
// them, a watchdog for keys whose release got lost, rate limiting, and the
// switch that drops everything while control is not granted.
//
// The package starts no goroutines: the agent calls Tick periodically (once
// a second is plenty) for the watchdog.
package input

import (
	"image"
	"maps"
	"math"
	"slices"
	"sync"
	"time"
	"unicode"

	"github.com/meekijk/meekijk/internal/datachannel"
)

// Injector performs input on the customer's machine. The agent's
// implementation (robotgo) is the only code that talks to the OS; it may
// assume its calls are serialized, because the Controller makes them with
// its lock held, and must not call back into the Controller.
type Injector interface {
	// MoveMouse moves the pointer to (x, y) in desktop coordinates (the
	// coordinate space of the screen rectangles).
	MoveMouse(x, y int)
	// MouseButton presses or releases "left", "middle" or "right" at the
	// current position.
	MouseButton(button string, down bool)
	// Scroll scrolls by whole wheel steps ("notches"). Positive dy scrolls
	// down (the content moves up), positive dx right, as a DOM WheelEvent's
	// deltaY and deltaX; an implementation whose OS call counts the other
	// way negates.
	Scroll(dx, dy int)
	// Key presses or releases a key named as robotgo names keys: "a".."z",
	// "0".."9", US punctuation ("-", "=", "[", …), "f1".."f24", "up",
	// "down", "left", "right", "home", "end", "pageup", "pagedown",
	// "escape", "tab", "enter", "backspace", "delete", "insert", "space",
	// and the modifiers "shift", "ctrl", "alt", "cmd".
	Key(key string, down bool)
	// Type types text as characters, independently of the customer's
	// keyboard layout (Windows: KEYEVENTF_UNICODE), with no modifier held.
	Type(text string)
}

// Defaults.
const (
	// DefaultHoldLimit is how long a key may stay down without a repeat
	// before the watchdog releases it. Browsers repeat a held key every
	// 30-100 ms, so 5 s without one means its release was lost (a closed
	// tab, a dropped connection), not that someone is holding it.
	DefaultHoldLimit = 5 * time.Second
	// DefaultRate is the sustained number of input events per second let
	// through. A mouse reports at most 60-125 moves a second and a fast
	// typist 15 keys; 200 leaves room and stops a runaway script.
	DefaultRate = 200
	// WheelStep is the number of DOM pixels per wheel step: what one notch
	// of a mouse wheel reports in Chrome and Edge. Smaller deltas (touch
	// pads) add up until they make a step.
	WheelStep = 100
	// maxScrollSteps bounds the steps one wheel event may scroll.
	maxScrollSteps = 50
)

// Config configures a Controller.
type Config struct {
	// Injector does the OS calls. Required.
	Injector Injector
	// Screen is the shared screen's rectangle in desktop coordinates (as
	// agent/capture's Source.Bounds). Pointer events are dropped while it
	// is empty.
	Screen image.Rectangle
	// HoldLimit is the watchdog's limit; 0 means DefaultHoldLimit, a
	// negative value turns the watchdog off.
	HoldLimit time.Duration
	// Rate is the sustained events per second allowed; 0 means
	// DefaultRate, a negative value turns rate limiting off.
	Rate int
	// Burst is how many events may pass at once; 0 means Rate (one
	// second's worth).
	Burst int
	// Now is the clock for rate limiting and hold times; nil means
	// time.Now.
	Now func() time.Time
}

// Stats counts what the Controller did not inject.
type Stats struct {
	RateLimited uint64 // dropped by the rate limit
	Disabled    uint64 // dropped because control was not enabled
	Unmapped    uint64 // keys with no injector equivalent
	Invalid     uint64 // events out of range or with nothing to map them to
	Watchdog    uint64 // keys released by the watchdog
}

// heldKey is a key the Controller pressed and has not released.
type heldKey struct {
	last time.Time // of the last down or repeat
}

// Controller turns input events into Injector calls. It starts disabled:
// nothing is injected until Enabled(true), which the agent calls once the
// customer granted control. Its methods are safe for concurrent use.
type Controller struct {
	mu        sync.Mutex
	inj       Injector
	now       func() time.Time
	screen    image.Rectangle
	enabled   bool
	holdLimit time.Duration

	// Token bucket; rate < 0 means unlimited.
	rate, burst, tokens float64
	refilled            time.Time

	keys    map[string]*heldKey // by injector name
	ids     map[string]string   // event key id (code, or "key:"+key) -> injector name
	buttons map[string]bool

	wheelX, wheelY float64 // pixels not yet scrolled
	stats          Stats
}

// New returns a disabled Controller.
func New(cfg Config) *Controller {
	c := &Controller{
		inj:       cfg.Injector,
		now:       cfg.Now,
		screen:    cfg.Screen.Canon(),
		holdLimit: cfg.HoldLimit,
		rate:      float64(cfg.Rate),
		burst:     float64(cfg.Burst),
		keys:      map[string]*heldKey{},
		ids:       map[string]string{},
		buttons:   map[string]bool{},
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.holdLimit == 0 {
		c.holdLimit = DefaultHoldLimit
	}
	if c.rate == 0 {
		c.rate = DefaultRate
	}
	if c.burst <= 0 {
		c.burst = math.Max(c.rate, 1)
	}
	c.tokens = c.burst
	return c
}

// SetScreen changes the shared screen (after a screen switch).
func (c *Controller) SetScreen(r image.Rectangle) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.screen = r.Canon()
}

// Enabled turns control on or off. Turning it off (control revoked, or a
// consent prompt on screen that the technician must not be able to click)
// releases every held key and button at once: otherwise a Ctrl held at that
// moment would stay down under the customer's own typing.
func (c *Controller) Enabled(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !on {
		c.releaseAll()
	}
	c.enabled = on
}

// IsEnabled reports whether control is on.
func (c *Controller) IsEnabled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enabled
}

// Stats returns the counters.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Handle applies an input message (pointer, key, text, release_all) and
// reports whether m was one; other messages are left to the caller.
func (c *Controller) Handle(m datachannel.Message) bool {
	switch m := m.(type) {
	case datachannel.Pointer:
		c.Pointer(m)
	case datachannel.Key:
		c.Key(m)
	case datachannel.Text:
		c.Text(m.Text)
	case datachannel.ReleaseAll:
		c.ReleaseAll()
	default:
		return false
	}
	return true
}

// MapPoint maps a position in video pixels (0..videoW, 0..videoH) to the
// desktop pixel it shows on screen: scaled by screen size over video size
// (the video may be downscaled), offset by the screen's origin (a second
// screen starts at, say, x=1920), and clamped inside the screen, so that no
// rounding or hostile value can reach another screen. ok is false when
// nothing can be mapped (empty screen, zero video size, NaN).
func MapPoint(x, y float64, videoW, videoH int, screen image.Rectangle) (p image.Point, ok bool) {
	screen = screen.Canon()
	if videoW <= 0 || videoH <= 0 || screen.Empty() || math.IsNaN(x) || math.IsNaN(y) {
		return image.Point{}, false
	}
	// Scale, then clamp while still a float: converting an out-of-range
	// float to int is undefined.
	sx := math.Floor(x * float64(screen.Dx()) / float64(videoW))
	sy := math.Floor(y * float64(screen.Dy()) / float64(videoH))
	sx = math.Max(0, math.Min(sx, float64(screen.Dx()-1)))
	sy = math.Max(0, math.Min(sy, float64(screen.Dy()-1)))
	return image.Pt(screen.Min.X+int(sx), screen.Min.Y+int(sy)), true
}

// Pointer applies a mouse event. A down or up first moves the pointer to the
// event's position, because the moves before it may have been dropped. An up
// for a button not held is ignored.
func (c *Controller) Pointer(p datachannel.Pointer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.enabled {
		c.stats.Disabled++
		return
	}
	pt, ok := MapPoint(p.X, p.Y, p.VideoWidth, p.VideoHeight, c.screen)
	if !ok {
		c.stats.Invalid++
		return
	}
	switch p.Action {
	case datachannel.ActionUp:
		// Releases are never rate limited: dropping one would leave the
		// button down, and each needed a down that was limited.
		if !c.buttons[p.Button] {
			return
		}
		c.inj.MoveMouse(pt.X, pt.Y)
		c.inj.MouseButton(p.Button, false)
		delete(c.buttons, p.Button)
	case datachannel.ActionMove:
		if c.take() {
			c.inj.MoveMouse(pt.X, pt.Y)
		}
	case datachannel.ActionDown:
		switch p.Button {
		case datachannel.ButtonLeft, datachannel.ButtonMiddle, datachannel.ButtonRight:
		default:
			c.stats.Invalid++
			return
		}
		if c.take() {
			c.inj.MoveMouse(pt.X, pt.Y)
			c.inj.MouseButton(p.Button, true)
			c.buttons[p.Button] = true
		}
	case datachannel.ActionWheel:
		if math.IsInf(p.DeltaX, 0) || math.IsInf(p.DeltaY, 0) || math.IsNaN(p.DeltaX) || math.IsNaN(p.DeltaY) {
			c.stats.Invalid++
			return
		}
		if !c.take() {
			return
		}
		dx, dy := c.wheelSteps(p.DeltaX, p.DeltaY)
		if dx != 0 || dy != 0 {
			c.inj.MoveMouse(pt.X, pt.Y)
			c.inj.Scroll(dx, dy)
		}
	default:
		c.stats.Invalid++
	}
}

// wheelSteps adds a wheel delta to what is pending and takes the whole steps
// out of it.
func (c *Controller) wheelSteps(dx, dy float64) (int, int) {
	step := func(pending *float64, d float64) int {
		*pending += d
		n := math.Trunc(*pending / WheelStep)
		if math.Abs(n) > maxScrollSteps {
			*pending = 0
			return int(math.Copysign(maxScrollSteps, n))
		}
		*pending -= n * WheelStep
		return int(n)
	}
	return step(&c.wheelX, dx), step(&c.wheelY, dy)
}

// Key applies a key event (see translate for what a key down becomes).
//
// Held keys are tracked by the event's code, so that the up releases what
// the down pressed even if the modifiers changed in between, and counted per
// injector name: ShiftLeft and ShiftRight both hold "shift", which is
// released when the last of them is. A repeated down of a held key presses
// it again (Windows does not auto-repeat injected keys; X11 does, once more
// does no harm) and resets its watchdog time.
func (c *Controller) Key(k datachannel.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.enabled {
		c.stats.Disabled++
		return
	}
	c.refreshModifiers(k)
	id := k.Code
	if id == "" {
		id = "key:" + k.Key
	}
	switch k.Action {
	case datachannel.ActionUp:
		// Never rate limited, like button releases.
		c.releaseID(id)
		return
	case datachannel.ActionDown:
	default:
		c.stats.Invalid++
		return
	}
	if !c.take() {
		return
	}
	if name, ok := c.ids[id]; ok {
		c.inj.Key(name, true)
		c.keys[name].last = c.now()
		return
	}
	kind, s := translate(k)
	switch kind {
	case kindUnmapped:
		c.stats.Unmapped++
	case kindTyped:
		c.typeText(s)
	case kindNamed:
		c.ids[id] = s
		if h, ok := c.keys[s]; ok {
			h.last = c.now()
		} else {
			c.keys[s] = &heldKey{last: c.now()}
		}
		c.inj.Key(s, true)
	}
}

// refreshModifiers resets the watchdog time of the held modifiers that k's
// flags say are still down. macOS browsers do not repeat modifier keys, so
// without this a Shift held for a long selection would be released by the
// watchdog although every key event says it is still held.
func (c *Controller) refreshModifiers(k datachannel.Key) {
	for name, on := range map[string]bool{KeyShift: k.Shift, KeyCtrl: k.Ctrl, KeyAlt: k.Alt, KeyCmd: k.Meta} {
		if h, ok := c.keys[name]; ok && on {
			h.last = c.now()
		}
	}
}

// Text types composed text (IME). Text with control characters is dropped:
// Enter and Tab are keys, and must come as key events.
func (c *Controller) Text(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.enabled {
		c.stats.Disabled++
		return
	}
	if text == "" || containsControl(text) {
		c.stats.Invalid++
		return
	}
	if c.take() {
		c.typeText(text)
	}
}

func containsControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// typeText types text with no modifier held: Shift held for an uppercase
// letter, or the Ctrl that Windows reports for AltGr, would otherwise turn
// the typed character into a shortcut on some systems (X11 applies held
// modifiers to typed characters). The modifiers are released around the
// typing and pressed again after, so a following shortcut or Shift+click
// still sees them.
func (c *Controller) typeText(text string) {
	var held []string
	for name := range c.keys {
		if modifiers[name] {
			held = append(held, name)
		}
	}
	slices.Sort(held)
	for _, m := range held {
		c.inj.Key(m, false)
	}
	c.inj.Type(text)
	for _, m := range held {
		c.inj.Key(m, true)
	}
}

// releaseID handles the up of the key with event id: the injector's key is
// released unless another id still holds it.
func (c *Controller) releaseID(id string) {
	name, ok := c.ids[id]
	if !ok {
		return
	}
	delete(c.ids, id)
	for _, other := range c.ids {
		if other == name {
			return
		}
	}
	delete(c.keys, name)
	c.inj.Key(name, false)
}

// ReleaseAll releases every key and button the Controller holds. The agent
// calls it on revocation, disconnect and hand-over (Enabled(false) does it
// too); the console asks for it with release_all when its tab loses focus.
func (c *Controller) ReleaseAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.releaseAll()
}

// releaseAll releases buttons, then ordinary keys, then modifiers (so that
// no key is released into a shortcut), each in name order.
func (c *Controller) releaseAll() {
	for _, b := range slices.Sorted(maps.Keys(c.buttons)) {
		c.inj.MouseButton(b, false)
	}
	names := slices.Sorted(maps.Keys(c.keys))
	for _, mods := range []bool{false, true} {
		for _, n := range names {
			if modifiers[n] == mods {
				c.inj.Key(n, false)
			}
		}
	}
	clear(c.buttons)
	clear(c.keys)
	clear(c.ids)
	c.wheelX, c.wheelY = 0, 0
}

// Tick runs the watchdog: keys down for longer than the hold limit without
// a repeat are released. A held modifier also counts as repeated by any key
// event whose flags show it down.
func (c *Controller) Tick(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holdLimit < 0 {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(c.keys)) {
		if now.Sub(c.keys[name].last) <= c.holdLimit {
			continue
		}
		c.inj.Key(name, false)
		delete(c.keys, name)
		for id, n := range c.ids {
			if n == name {
				delete(c.ids, id)
			}
		}
		c.stats.Watchdog++
	}
}

// take takes a token from the bucket, refilled at rate per second up to
// burst, and counts the event as rate limited when there is none.
func (c *Controller) take() bool {
	if c.rate < 0 {
		return true
	}
	now := c.now()
	if c.refilled.IsZero() {
		c.refilled = now
	}
	if elapsed := now.Sub(c.refilled); elapsed > 0 {
		c.tokens = math.Min(c.burst, c.tokens+elapsed.Seconds()*c.rate)
		c.refilled = now
	}
	if c.tokens < 1 {
		c.stats.RateLimited++
		return false
	}
	c.tokens--
	return true
}
