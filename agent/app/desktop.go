package app

import (
	"github.com/meekijk/meekijk/agent/capture"
	"github.com/meekijk/meekijk/internal/datachannel"
)

// sendDesktop tells the console how the screen is captured and whether it
// shows a secure desktop. A test's Source names no method: nothing to say.
func (a *App) sendDesktop() {
	if a.sender == nil || a.src == nil {
		return
	}
	if m := capture.Method(a.src); m != "" {
		_ = a.sender.Send(datachannel.Desktop{Capture: m, Secure: a.secure})
	}
}

// checkDesktop, on every tick while sharing, notices the customer's screen
// switching to or from a secure desktop (a Windows UAC prompt or the
// Ctrl+Alt+Del screen). The agent can neither capture nor control it, so
// the technician's picture freezes; the console says why, and the input
// already held is released so that nothing stays pressed behind the prompt.
func (a *App) checkDesktop() {
	if a.sender == nil {
		return
	}
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
