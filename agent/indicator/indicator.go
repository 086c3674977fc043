// Package indicator shows the customer, outside the browser, that the
// screen is shared: a small always-on-top window that says who watches
// (and who controls), in the customer's language, with a Stop button that
// works even when the agent's page is closed.
//
// The agent's session loop drives it with Show and Hide; Run owns the
// window and its event loop and calls the stop function when the customer
// clicks Stop. X11 draws the window with the core protocol
// (indicator_x11.go); Windows uses user32 (indicator_windows.go).
package indicator

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/meekijk/meekijk/internal/i18n"
)

// Sharing is what is shared, as the customer is told.
type Sharing struct {
	// Technician is the name of who watches; empty reads "the technician".
	Technician string
	// Control: the technician also controls mouse and keyboard.
	Control bool
	// Recording: the session is recorded, with the customer's consent.
	Recording bool
	Lang      i18n.Lang
}

// Indicator is the window. Show and Hide may be called from any
// goroutine and never block; Run draws what they last asked for.
type Indicator struct {
	log     *slog.Logger
	catalog i18n.Catalog
	plat    *platform

	mu      sync.Mutex // guards shown
	shown   *Sharing   // nil: hidden
	changed chan struct{}
}

// New connects to the customer's desktop (display: an X display name, ""
// for $DISPLAY; ignored on Windows). It fails where no window can be
// shown; the agent then goes on with its page alone.
func New(display string, log *slog.Logger) (*Indicator, error) {
	catalog, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	plat, err := openPlatform(display)
	if err != nil {
		return nil, err
	}
	return &Indicator{log: log, catalog: catalog, plat: plat, changed: make(chan struct{}, 1)}, nil
}

// Show shows s, replacing what was shown.
func (ind *Indicator) Show(s Sharing) { ind.set(&s) }

// Hide removes the window: nothing is shared.
func (ind *Indicator) Hide() { ind.set(nil) }

func (ind *Indicator) set(s *Sharing) {
	ind.mu.Lock()
	same := (s == nil && ind.shown == nil) || (s != nil && ind.shown != nil && *s == *ind.shown)
	ind.shown = s
	ind.mu.Unlock()
	if same {
		return
	}
	select {
	case ind.changed <- struct{}{}:
	default: // a change is already pending; Run reads the newest
	}
	ind.plat.wake()
}

// current is what Show and Hide last asked for.
func (ind *Indicator) current() *Sharing {
	ind.mu.Lock()
	defer ind.mu.Unlock()
	if ind.shown == nil {
		return nil
	}
	s := *ind.shown
	return &s
}

// Run shows the window whenever something is shared, until ctx ends, and
// calls stop (from Run's goroutine) when the customer clicks Stop. It
// closes the window and the connection to the desktop before it returns.
func (ind *Indicator) Run(ctx context.Context, stop func()) error {
	return ind.plat.run(ctx, ind, stop)
}

// texts is what the window says.
type texts struct {
	headline, detail, stop string
}

func (ind *Indicator) texts(s Sharing) texts {
	t := func(key string) string {
		if v := ind.catalog[key][s.Lang]; v != "" {
			return v
		}
		return ind.catalog[key][i18n.Default]
	}
	name := strings.TrimSpace(s.Technician)
	if name == "" {
		name = t("indicator.someone")
	}
	out := texts{headline: t("indicator.viewing"), detail: t("indicator.detail.viewing"), stop: t("indicator.stop")}
	if s.Control {
		out.headline, out.detail = t("indicator.controlling"), t("indicator.detail.controlling")
	}
	out.headline = strings.ReplaceAll(out.headline, "{name}", name)
	if s.Recording {
		out.headline += " · " + t("indicator.recording")
		out.detail = t("indicator.detail.recording")
	}
	return out
}

// title is the window's name: what it says, for screen readers, window
// lists and tests.
func (tx texts) title() string { return "Meekijk: " + tx.headline }
