package e2e

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meekijk/meekijk/internal/codeguard"
)

// TestLiveCodeCapInTheConsole: a technician who keeps starting sessions
// that no customer joins reaches the cap on waiting codes, and the console
// says so in their language (Dutch here) instead of minting more.
func TestLiveCodeCapInTheConsole(t *testing.T) {
	s := newScene(t)
	console := s.console
	createTicket(t, console, "Kassa print niet", sceneCustomer, "")
	shown := ""
	for i := range codeguard.LiveCodesPerTechnician {
		n := strconv.Itoa(i + 1)
		run(t, console, "start session "+n, chromedp.Click(chromedp.CSS(`#start-session`)))
		// A new code is shown and the button is ready for the next.
		waitJS(t, console, "the code of session "+n, `(() => {
			const code = document.getElementById('session-code');
			const button = document.getElementById('start-session');
			return code !== null && code.textContent !== `+jsString(shown)+` && button !== null && !button.disabled;
		})()`, 10*time.Second)
		shown = eval[string](t, console, `document.getElementById('session-code').textContent`)
	}
	run(t, console, "one session more", chromedp.Click(chromedp.CSS(`#start-session`)))
	waitJS(t, console, "the cap explained in Dutch",
		`document.getElementById('session-error').textContent.includes('maximum aantal codes')`, 10*time.Second)
}
