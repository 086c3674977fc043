package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// A fresh desk's calendar page says its hours are the defaults and names
// the default closure in the admin's language; an appointment is typed and
// shown in the desk's zone, which its label names, whatever zone the
// technician's browser is in.
func TestDeskZoneAndDefaultCalendar(t *testing.T) {
	r := startRelay(t)
	browser := newBrowser(t)
	tab := newTab(t, browser)
	// The technician's browser is in New York; the desk is in Brussels.
	if _, err := chromedp.Call(tab, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"}); err != nil {
		t.Fatalf("browser in New York: %v", err)
	}
	consoleLogin(t, tab, r)
	if z := eval[string](t, tab, `Intl.DateTimeFormat().resolvedOptions().timeZone`); z != "America/New_York" {
		t.Fatalf("the browser's zone is %s: the test would not show a difference", z)
	}

	for lang, want := range map[string]string{"nl": "Kerstvakantie", "fr": "Vacances de Noël"} {
		eval[bool](t, tab, `(localStorage.setItem('meekijk.lang', '`+lang+`'), true)`)
		run(t, tab, "open the calendar in "+lang, chromedp.Navigate(r.url+"/#/calendar"), chromedp.Reload(),
			chromedp.WaitVisible(chromedp.CSS(`#calendar-default`)))
		if got := eval[string](t, tab, `document.querySelector('#closures .closure input[name=label]').value`); got != want {
			t.Errorf("default closure in %s reads %q, want %q", lang, got, want)
		}
		shot(t, tab, "calendar-default-"+lang)
	}
	// Saved once, the calendar is the admin's: no default note, and the
	// label kept as the admin saw it.
	run(t, tab, "save the default calendar", chromedp.Click(chromedp.CSS(`#save-calendar`)),
		chromedp.WaitVisible(chromedp.CSS(`#calendar-saved`)))
	waitJS(t, tab, "default note gone", `!document.getElementById('calendar-default')`, 5*time.Second)
	var cal struct {
		Default  bool
		Closures []struct{ Label string }
	}
	if err := json.Unmarshal(apiCall(t, tab, "GET", "/calendar", nil, 200), &cal); err != nil {
		t.Fatal(err)
	}
	if cal.Default || len(cal.Closures) != 1 || cal.Closures[0].Label != "Vacances de Noël" {
		t.Errorf("saved calendar %+v", cal)
	}

	eval[bool](t, tab, `(localStorage.setItem('meekijk.lang', 'nl'), true)`)
	apiCall(t, tab, "POST", "/customers", map[string]string{"name": sceneCustomer, "lang": "nl"}, 201)
	run(t, tab, "back to the tickets", chromedp.Navigate(r.url+"/#/tickets"), chromedp.Reload())
	createTicket(t, tab, "Installatie op afspraak", sceneCustomer, "")
	label := `document.querySelector('input[name=appointmentAt]').closest('label, .field').textContent`
	waitJS(t, tab, "appointment field names the desk's zone", label+`.includes('Europe/Brussels')`, 5*time.Second)
	// 10:00 on 10 December in Brussels is 09:00 UTC (and 04:00 in New York).
	eval[bool](t, tab, `(() => {
		const i = document.querySelector('input[name=appointmentAt]');
		i.value = '2026-12-10T10:00';
		i.dispatchEvent(new Event('input', { bubbles: true }));
		return true;
	})()`)
	run(t, tab, "save the appointment", chromedp.Click(chromedp.CSS(`#ticket-edit button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ticket-saved`)))
	ticketPath := "/tickets/" + eval[string](t, tab, `location.hash.split('/').pop()`)
	var tk struct{ AppointmentAt time.Time }
	waitUntil(t, "appointment stored", 5*time.Second, func() bool {
		_ = json.Unmarshal(apiCall(t, tab, "GET", ticketPath, nil, 200), &tk)
		return !tk.AppointmentAt.IsZero()
	})
	if want := time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC); !tk.AppointmentAt.Equal(want) {
		t.Errorf("appointment stored as %v, want %v (10:00 in Brussels)", tk.AppointmentAt, want)
	}
	run(t, tab, "reload the ticket", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`input[name=appointmentAt]`)))
	if got := eval[string](t, tab, `document.querySelector('input[name=appointmentAt]').value`); got != "2026-12-10T10:00" {
		t.Errorf("the field reads %q after a reload, want 2026-12-10T10:00", got)
	}
	shot(t, tab, "ticket-appointment-nl")
}
