package app

import (
	"fmt"
	"image"
	"slices"
	"time"

	"github.com/meekijk/meekijk/agent/capture"
	"github.com/meekijk/meekijk/agent/localui"
	"github.com/meekijk/meekijk/internal/datachannel"
)

// screenCheckEvery is how often the list of screens is read again while
// sharing. On X11 each read opens X connections, so not every tick; a
// customer who unplugs a monitor hears of it within this time.
const screenCheckEvery = 2 * time.Second

// sendDesktop tells the console how the screen is captured, whether it
// shows a secure desktop and whether the shared screen is gone. A test's
// Source names no method: nothing to say.
func (a *App) sendDesktop() {
	if a.sender == nil || a.src == nil {
		return
	}
	if m := capture.Method(a.src); m != "" {
		_ = a.sender.Send(datachannel.Desktop{Capture: m, Secure: a.secure, ScreenGone: a.state.ScreenGone})
	}
}

// checkDesktop, on every tick while sharing, notices the customer's screen
// switching to or from a secure desktop (a Windows UAC prompt or the
// Ctrl+Alt+Del screen). The agent can neither capture nor control it, so
// the technician's picture freezes; the console says why, and the input
// already held is released so that nothing stays pressed behind the prompt.
func (a *App) checkDesktop(now time.Time) {
	if a.sender == nil {
		return
	}
	a.checkScreens(now)
	secure := a.cfg.SecureDesktop()
	if secure == a.secure {
		return
	}
	a.secure = secure
	a.log.Info("secure desktop", "shown", secure)
	if secure && a.controller != nil {
		a.controller.ReleaseAll()
	}
	a.sendDesktop()
}

// checkScreens reads the list of screens again and notices the shared one
// being unplugged: its capture would freeze (Windows) or show a part of
// the desktop no monitor displays (X11) without a word. Both sides are
// told; the customer picks the screen to share next, since the consent
// was given for the screen that was on show, and control is held back
// until then, because clicks would land on a screen nobody sees.
func (a *App) checkScreens(now time.Time) {
	if now.Before(a.nextScreenCheck) {
		return
	}
	a.nextScreenCheck = now.Add(screenCheckEvery)
	displays := a.cfg.Displays()
	if screens := screensOf(displays); !slices.Equal(screens, a.state.Screens) {
		a.state.Screens = screens
		a.uiDirty = true
		a.sendScreens()
	}
	if a.state.ScreenGone {
		return
	}
	i := slices.IndexFunc(displays, func(d capture.Display) bool { return d.Bounds.Min == a.sharedAt })
	if i >= 0 && capture.Attached(a.src) {
		// The encoder's size is fixed: a resolution change would crop the
		// picture or stop it. The same screen is shared again, at its new
		// size, as a switch of screen is (the console's picture follows).
		if size := displays[i].Bounds.Size(); size != a.sharedSize {
			a.log.Info("the shared screen changed size: sharing it again", "from", a.sharedSize, "to", size)
			a.switchScreen(displays[i].Index)
		}
		return
	}
	a.log.Warn("the shared screen is no longer connected", "corner", a.sharedAt, "screens", len(displays))
	a.state.ScreenGone = true
	a.uiDirty = true // the loop's syncControl then holds control back
	a.sendDesktop()
}

// displayBounds is the top-left corner and the size of screen idx as
// Displays lists it.
func (a *App) displayBounds(idx int) (corner, size image.Point) {
	for _, d := range a.cfg.Displays() {
		if d.Index == idx {
			return d.Bounds.Min, d.Bounds.Size()
		}
	}
	return image.Point{}, image.Point{}
}

// screensOf names displays for the page and the console.
func screensOf(displays []capture.Display) []localui.Screen {
	var out []localui.Screen
	for _, d := range displays {
		out = append(out, localui.Screen{Index: d.Index,
			Name: fmt.Sprintf("%d (%d×%d)", d.Index+1, d.Bounds.Dx(), d.Bounds.Dy()), Width: d.Bounds.Dx(), Height: d.Bounds.Dy()})
	}
	return out
}
