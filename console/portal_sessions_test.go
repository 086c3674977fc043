package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// portalSessionOf is one session as the portal's ticket detail answers it.
type portalSessionOf struct {
	ID            int64
	StartedAt     time.Time
	Running       bool
	WorkedMinutes int64
	BilledMinutes int64
	Billing       bool
	Covered       bool
	Reasons       string
	ReceiptPath   string
}

// TestPortalTicketSessions: the portal's ticket detail lists the ticket's
// sessions with the status page's figures (worked and billed minutes,
// covered or billable and why) and a link to each receipt; another
// company's person gets the same 404 as for a ticket that does not exist.
func TestPortalTicketSessions(t *testing.T) {
	e := newEnv(t)
	b := e.billed()
	// The reference person of Frituur Marcel sees both of its tickets.
	c, _ := e.signedIn(b.tech, b.reference)
	var billable, covered struct {
		StatusPath string
		Sessions   []portalSessionOf
	}
	e.portalDo(c, "", "GET", fmt.Sprintf("/portaal/api/tickets/%d", b.billableTk.ID), "").decode(t, &billable)
	e.portalDo(c, "", "GET", fmt.Sprintf("/portaal/api/tickets/%d", b.coveredT.ID), "").decode(t, &covered)
	if len(billable.Sessions) != 1 || len(covered.Sessions) != 1 {
		t.Fatalf("sessions = %+v and %+v, want one each", billable.Sessions, covered.Sessions)
	}
	// The trainee's 35 minutes, billed as the one-hour minimum, in French
	// (the contact's language), as the status page and statement say.
	s := billable.Sessions[0]
	if s.ID != b.billable || s.Running || !s.Billing || s.Covered || s.WorkedMinutes != 35 || s.BilledMinutes != 60 ||
		!strings.Contains(s.Reasons, "référence") || s.StartedAt.IsZero() {
		t.Errorf("billable session = %+v", s)
	}
	if want := billable.StatusPath + "?lang=fr#session-" + fmt.Sprint(b.billable); s.ReceiptPath != want {
		t.Errorf("receipt path = %q, want %q", s.ReceiptPath, want)
	}
	if s := covered.Sessions[0]; !s.Covered || s.WorkedMinutes != 20 || s.BilledMinutes != 0 || s.Reasons != "" || s.ReceiptPath == "" {
		t.Errorf("covered session = %+v", s)
	}
	// The receipt the link opens is there, under the anchor.
	a := e.do(client{}, "GET", strings.Split(s.ReceiptPath, "#")[0], "")
	if a.status != http.StatusOK || !strings.Contains(string(a.body), fmt.Sprintf(`id="session-%d"`, b.billable)) ||
		!strings.Contains(string(a.body), `class="receipt"`) {
		t.Errorf("receipt page: %d", a.status)
	}
	// A running session has no receipt yet.
	e.clk.advance(time.Hour)
	e.hold(b.billableTk.ID)
	e.clk.advance(7 * time.Minute)
	e.portalDo(c, "", "GET", fmt.Sprintf("/portaal/api/tickets/%d", b.billableTk.ID), "").decode(t, &billable)
	if len(billable.Sessions) != 2 || !billable.Sessions[0].Running || billable.Sessions[0].ReceiptPath != "" || billable.Sessions[0].WorkedMinutes != 7 {
		t.Errorf("with a running session = %+v", billable.Sessions)
	}
	// Another company's person: the same 404 as a ticket that is not there.
	stranger := e.contact("Garage Claes", "Bart Claes", "general")
	sc, _ := e.signedIn(b.tech, stranger.ID)
	missing := e.portalDo(sc, "", "GET", "/portaal/api/tickets/99999", "")
	if a := e.portalDo(sc, "", "GET", fmt.Sprintf("/portaal/api/tickets/%d", b.billableTk.ID), ""); a.status != http.StatusNotFound || string(a.body) != string(missing.body) {
		t.Errorf("another company's ticket: %d %s; a missing one: %d %s", a.status, a.body, missing.status, missing.body)
	}
}
