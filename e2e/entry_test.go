package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestMoneyEntry types amounts into the desk's rate form as people write
// them, in an English page: "85,50" is € 85.50 (a number field made it
// 8550), "1.234" is refused as ambiguous and saves nothing, an hourly
// rate outside € 15–500 is saved only when submitted a second time, and a
// prefilled minutes field is replaced by what is typed, not appended to.
func TestMoneyEntry(t *testing.T) {
	r := startRelay(t)
	tab := newTab(t, newBrowser(t))
	consoleLogin(t, tab, r)
	chooseValue(t, tab, `#lang`, "en")
	goTo(t, tab, r, "/rates", `#new-rate input[name=rate]`)

	rates := func() []int64 {
		var out []struct{ CentsPerHour int64 }
		json.Unmarshal(apiCall(t, tab, "GET", "/rates/default", nil, 200), &out)
		var c []int64
		for _, r := range out {
			c = append(c, r.CentsPerHour)
		}
		return c
	}
	before := len(rates())
	typeRate := func(s string) {
		t.Helper()
		eval[bool](t, tab, `(document.querySelector('#new-rate input[name=rate]').value = '') === ''`)
		run(t, tab, "type the rate "+s, chromedp.SendKeys(chromedp.CSS(`#new-rate input[name=rate]`), s))
	}
	submit := func() {
		t.Helper()
		run(t, tab, "add the rate", chromedp.Click(chromedp.CSS(`#new-rate button[type=submit]`)))
	}
	fieldError := func() string {
		t.Helper()
		waitJS(t, tab, "the field says why", `document.querySelector('#new-rate [data-error-for=centsPerHour]').textContent !== ''`, 10*time.Second)
		return text(t, tab, `#new-rate [data-error-for=centsPerHour]`)
	}

	if got := eval[string](t, tab, `document.querySelector('#new-rate input[name=rate]').type`); got != "text" {
		t.Errorf("rate field is type=%s; a number field drops a typed comma", got)
	}
	typeRate("1.234")
	if echo := text(t, tab, `#new-rate [data-echo-for=rate]`); !strings.Contains(echo, "ambiguous") {
		t.Errorf("read-back of 1.234 = %q, want it called ambiguous", echo)
	}
	submit()
	if msg := fieldError(); !strings.Contains(msg, "ambiguous") {
		t.Errorf("error for 1.234 = %q", msg)
	}
	if n := len(rates()); n != before {
		t.Fatalf("an ambiguous amount was saved: %d rates, had %d", n, before)
	}

	typeRate("85,50")
	if echo := text(t, tab, `#new-rate [data-echo-for=rate]`); echo != "= €85.50" {
		t.Errorf("read-back of 85,50 = %q, want = €85.50", echo)
	}
	submit()
	waitJS(t, tab, "the new rate listed", `document.getElementById('rates')?.textContent.includes('€85.50')`, 10*time.Second)
	if got := rates(); got[len(got)-1] != 8550 {
		t.Fatalf("85,50 saved as %d cents, want 8550 (rates %v)", got[len(got)-1], got)
	}

	typeRate("8550")
	submit()
	if msg := fieldError(); !strings.Contains(msg, "€8,550.00") || !strings.Contains(msg, "again") {
		t.Errorf("a rate of €8,550 an hour went through without a question: %q", msg)
	}
	if n := len(rates()); n != before+1 {
		t.Fatalf("an unusual rate was saved without confirmation: %d rates", n)
	}
	shot(t, tab, "rate-unusual-en")
	submit()
	waitJS(t, tab, "the confirmed rate listed", `document.getElementById('rates')?.textContent.includes('€8,550.00')`, 10*time.Second)

	// Minutes: the prefilled value is replaced by what is typed.
	run(t, tab, "type a rounding increment",
		chromedp.Click(chromedp.CSS(`#billing-rules input[name=incrementMinutes]`)),
		chromedp.SendKeys(chromedp.CSS(`#billing-rules input[name=incrementMinutes]`), "30"),
	)
	if got := eval[string](t, tab, `document.querySelector('#billing-rules input[name=incrementMinutes]').value`); got != "30" {
		t.Errorf("typing 30 into the prefilled increment gave %q", got)
	}
}

// TestFreshDeskPricesControl: on a relay just started, with no visit to
// the rates page, a billable request for control (the customer has no
// contract) reaches the customer with its cost, instead of failing for
// want of an hourly rate.
func TestFreshDeskPricesControl(t *testing.T) {
	s := newScene(t)
	_, customer := s.liveSession(t, "Eerste sessie")
	askControl(t, s.console, customer)
	if msg := text(t, s.console, `#session-error`); msg != "" {
		t.Errorf("the console says %q", msg)
	}
}
