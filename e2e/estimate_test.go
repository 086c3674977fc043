package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A billable session where the technician asks for control with a
// 90-minute estimate: the agent shows its duration and amount, Yes stays
// disabled until the customer ticks the estimate's own statement, and once
// approved control works and the grant records the estimate.
func TestEstimateApprovedBeforeControl(t *testing.T) {
	s := newScene(t)
	_, customer := s.liveSession(t, "Boekhouding herstellen")

	run(t, s.console, "ask for control with an estimate",
		chromedp.SendKeys(chromedp.CSS(`#control-estimate`), "90"),
		chromedp.Click(chromedp.CSS(`#request-control`)))
	confirmCodes(t, s.console)
	waitJS(t, customer, "control question", `!document.getElementById('prompt').hidden`, 10*time.Second)
	text := eval[string](t, customer, `document.getElementById('prompt').innerText`)
	// 90 minutes at €85: €127,50, VAT €26,78, €154,28 in all.
	for _, want := range []string{"wordt aangerekend", "90 minuten", "€ 127,50", "€ 26,78", "€ 154,28", "Ik keur de schatting goed"} {
		if !strings.Contains(text, want) {
			t.Errorf("estimate question lacks %q:\n%s", want, text)
		}
	}
	shot(t, customer, "estimate-question")
	if !eval[bool](t, customer, `document.getElementById('prompt-yes').disabled`) {
		t.Fatal("Yes is enabled before the estimate is approved")
	}
	run(t, customer, "approve the estimate", chromedp.Click(chromedp.CSS(`#prompt-estimate`)))
	waitJS(t, customer, "Yes enabled", `!document.getElementById('prompt-yes').disabled`, 5*time.Second)
	run(t, customer, "allow control", chromedp.Click(chromedp.CSS(`#prompt-yes`)))
	waitJS(t, s.console, "control active", `document.getElementById('control-state').dataset.control === 'on'`, 10*time.Second)

	var minutes, cents int64
	var stored string
	if err := s.relay.db(t).QueryRow(`SELECT json_extract(detail, '$.estimate.minutes'), json_extract(detail, '$.estimate.amountCents'),
		json_extract(detail, '$.text') FROM session_events WHERE kind = 'consent_granted' AND json_extract(detail, '$.level') = 'control'`).
		Scan(&minutes, &cents, &stored); err != nil {
		t.Fatal(err)
	}
	if minutes != 90 || cents != 12750 || !strings.Contains(stored, "[x] Ik keur de schatting goed: 90 minuten, € 127,50") {
		t.Errorf("grant recorded with estimate %d min, %d cents, text %q", minutes, cents, stored)
	}
}

// A covered session at control becomes billable when the technician sets
// a work category the contract does not cover: the customer gets the
// cost notice again and keeps control only by accepting it.
func TestCategoryChangeBringsTheNoticeAgain(t *testing.T) {
	s := newScene(t)
	cu := "/customers/" + itoa(int(s.customerID(t)))
	apiCall(t, s.console, "POST", cu+"/contracts", map[string]any{"startsOn": "2020-01-01", "feeCents": 45000, "feePeriod": "quarter", "centsPerHour": 8500}, 201)
	apiCall(t, s.console, "POST", cu+"/contacts", map[string]string{"name": "Marie Peeters", "referenceRole": "general", "lang": "nl"}, 201)
	run(t, s.console, "reload the tickets page", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)))
	createTicket(t, s.console, "Kassa print geen tickets", sceneCustomer, "Marie Peeters")
	run(t, s.console, "start session", chromedp.Click(chromedp.CSS(`#start-session`)), chromedp.WaitVisible(chromedp.CSS(`#session-code`)))
	code := strings.TrimSpace(eval[string](t, s.console, `document.getElementById('session-code').textContent`))
	run(t, s.console, "open the session page", chromedp.Click(chromedp.CSS(`#open-session`)), chromedp.WaitVisible(chromedp.CSS(`#status[data-status]`)))
	setCategory := func(name string) {
		t.Helper()
		waitJS(t, s.console, "categories loaded", `document.getElementById('session-category').dataset.loaded === 'true'`, 10*time.Second)
		eval[bool](t, s.console, `(document.getElementById('session-notice').textContent = '', true)`)
		chooseOption(t, s.console, `#session-category`, name)
		waitJS(t, s.console, "category saved", `document.getElementById('session-notice').textContent !== ''`, 10*time.Second)
	}
	setCategory("Gebruikersvraag") // covered by the contract

	_, customer := s.sharing(t, code)
	run(t, s.console, "ask for control", chromedp.Click(chromedp.CSS(`#request-control`)))
	confirmCodes(t, s.console)
	waitJS(t, customer, "control question", `!document.getElementById('prompt').hidden`, 10*time.Second)
	if text := eval[string](t, customer, `document.getElementById('prompt').innerText`); strings.Contains(text, "aangerekend") {
		t.Fatalf("covered control came with a cost notice:\n%s", text)
	}
	run(t, customer, "allow control", chromedp.Click(chromedp.CSS(`#prompt-yes`)))
	waitJS(t, s.console, "control active", `document.getElementById('control-state').dataset.control === 'on'`, 10*time.Second)

	setCategory("Databasescript") // not covered: billable from now on
	waitJS(t, customer, "the notice again", `!document.getElementById('prompt').hidden`, 10*time.Second)
	text := eval[string](t, customer, `document.getElementById('prompt').innerText`)
	shot(t, customer, "renotice-question")
	shot(t, s.console, "session-category")
	for _, want := range []string{"niet meer onder uw contract", "wordt aangerekend", "dit soort werk valt niet onder het contract", "€ 85,00", "alleen nog meekijken"} {
		if !strings.Contains(text, want) {
			t.Errorf("renewed notice lacks %q:\n%s", want, text)
		}
	}
	// No estimate to approve here: nothing to tick, Yes is enabled.
	if eval[bool](t, customer, `document.getElementById('prompt-estimate-label').offsetParent !== null || document.getElementById('prompt-yes').disabled`) {
		t.Error("the renewed notice asks to approve an estimate it does not hold")
	}
	run(t, customer, "accept the cost", chromedp.Click(chromedp.CSS(`#prompt-yes`)))
	db := s.relay.db(t)
	deadline := time.Now().Add(5 * time.Second)
	var n int
	for ; time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := db.QueryRow(`SELECT count(*) FROM session_events WHERE kind = 'consent_granted'
			AND json_extract(detail, '$.keep') = 'renotice' AND json_extract(detail, '$.text') LIKE '%wordt aangerekend%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
	}
	if n != 1 {
		t.Fatalf("renewed acceptance recorded %d times", n)
	}
	var changed int
	if err := db.QueryRow(`SELECT count(*) FROM session_events WHERE kind = 'category_changed'
		AND json_extract(detail, '$.code') = 'database_change'`).Scan(&changed); err != nil || changed != 1 {
		t.Errorf("%d changes to database_change recorded (%v), want 1", changed, err)
	}
	if lvl := eval[string](t, s.console, `document.getElementById('level').dataset.level`); lvl != "control" {
		t.Errorf("console shows level %q after the customer accepted, want control", lvl)
	}
}

// The admin edits the billing rules and the consent timers on the rates
// page; each save shows in the setting's history, and a wrong value is
// named at its field.
func TestAdminEditsBillingRulesAndConsentTimers(t *testing.T) {
	r := startRelay(t)
	tab := newTab(t, newBrowser(t))
	consoleLogin(t, tab, r)
	run(t, tab, "open the rates page", chromedp.Navigate(r.url+"/#/rates"), chromedp.WaitVisible(chromedp.CSS(`#billing-rules`)))
	if text := eval[string](t, tab, `document.getElementById('billing-rules-history').textContent`); !strings.Contains(text, "standaardwaarden") {
		t.Errorf("history before any change: %q", text)
	}
	setValue := func(sel, v string) {
		t.Helper()
		eval[bool](t, tab, `(() => { const i = document.querySelector(`+jsString(sel)+`); i.value = `+jsString(v)+`; return true; })()`)
	}
	setValue(`#billing-rules input[name=vatPercent]`, "101")
	run(t, tab, "save a VAT of 101%", chromedp.Click(chromedp.CSS(`#billing-rules button[type=submit]`)))
	waitJS(t, tab, "VAT refused", `document.querySelector('#billing-rules [data-error-for=vatPercent]').textContent !== ''`, 5*time.Second)
	setValue(`#billing-rules input[name=vatPercent]`, "6")
	setValue(`#billing-rules input[name=outOfHoursSurchargePercent]`, "50")
	run(t, tab, "merge a ticket's day", chromedp.Click(chromedp.CSS(`#billing-rules input[name=mergeTicketDay]`)),
		chromedp.Click(chromedp.CSS(`#billing-rules button[type=submit]`)))
	waitJS(t, tab, "rules saved", `!!document.querySelector('#billing-rules-history li')`, 5*time.Second)
	var rules struct {
		MergeTicketDay             bool
		OutOfHoursSurchargePercent int64
		VATPercent                 int64
	}
	json.Unmarshal(apiCall(t, tab, "GET", "/settings/billing", nil, 200), &rules)
	if !rules.MergeTicketDay || rules.OutOfHoursSurchargePercent != 50 || rules.VATPercent != 6 {
		t.Errorf("saved rules %+v", rules)
	}

	setValue(`#consent-timers input[name=reconfirmMinutes]`, "10")
	setValue(`#consent-timers input[name=reconfirmAnswerSeconds]`, "30")
	run(t, tab, "save the consent timers", chromedp.Click(chromedp.CSS(`#consent-timers button[type=submit]`)))
	waitJS(t, tab, "timers saved", `document.querySelectorAll('#consent-timers-history li').length === 2`, 5*time.Second)
	shot(t, tab, "admin-billing-rules")
	var timers struct{ ReconfirmSeconds, ReconfirmAnswerSeconds int }
	json.Unmarshal(apiCall(t, tab, "GET", "/settings/consent", nil, 200), &timers)
	if timers.ReconfirmSeconds != 600 || timers.ReconfirmAnswerSeconds != 30 {
		t.Errorf("saved timers %+v", timers)
	}
}
