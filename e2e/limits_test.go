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
	// One ticket each: a new code on a ticket replaces its waiting one.
	toTickets := func() {
		run(t, console, "back to tickets", chromedp.Navigate(s.relay.url+"/#/tickets"), chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)))
	}
	for i := range codeguard.LiveCodesPerTechnician {
		toTickets()
		startSession(t, console, "Kassa "+strconv.Itoa(i+1))
	}
	toTickets()
	createTicket(t, console, "Kassa print niet", sceneCustomer, "")
	run(t, console, "one session more", chromedp.Click(chromedp.CSS(`#start-session`)))
	waitJS(t, console, "the cap explained in Dutch",
		`document.getElementById('session-error').textContent.includes('maximum aantal codes')`, 10*time.Second)
}
