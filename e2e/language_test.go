package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestCustomersLanguage: a Dutch-speaking company, a ticket for its
// French-speaking contact. The agent's page starts in the browser's
// language (English here); once the code is entered it speaks French, the
// contact's language, with the switch still there. The view question says
// that the session will be billed and why (no contract), and the status
// page is in French too.
func TestCustomersLanguage(t *testing.T) {
	s := newScene(t)
	cu := "/customers/" + itoa(int(s.customerID(t)))
	apiCall(t, s.console, "POST", cu+"/contacts", map[string]string{"name": "Marie Dubois", "referenceRole": "general", "lang": "fr"}, 201)
	run(t, s.console, "reload the tickets page", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)))
	createTicket(t, s.console, "L'imprimante ne répond plus", sceneCustomer, "Marie Dubois")
	statusURL := eval[string](t, s.console, `document.getElementById('status-url').value`)
	run(t, s.console, "start session", chromedp.Click(chromedp.CSS(`#start-session`)), chromedp.WaitVisible(chromedp.CSS(`#session-code`)))
	code := text(t, s.console, `#session-code`)
	sessionID := strings.TrimPrefix(eval[string](t, s.console, `document.getElementById('open-session').getAttribute('href')`), "#/sessions/")

	ag, customer := s.customer(t)
	run(t, customer, "open the agent page", chromedp.Navigate(ag.pageURL), chromedp.WaitVisible(chromedp.CSS(`#code`)))
	// Before the code, the browser's language (Chromium here says en-US;
	// the agent's machine says nl).
	waitJS(t, customer, "the page in the browser's language", `document.documentElement.lang === 'en'`, 5*time.Second)
	enterCode(t, customer, ag.pageURL, code)
	waitPhase(t, customer, "ask")
	waitJS(t, customer, "the page in French", `document.documentElement.lang === 'fr'`, 10*time.Second)
	question := eval[string](t, customer, `document.body.innerText`)
	for _, want := range []string{"demande à voir votre écran", "ce travail sera facturé", "pas de contrat de maintenance actif"} {
		if !strings.Contains(question, want) {
			t.Errorf("the view question lacks %q:\n%s", want, question)
		}
	}
	if !eval[bool](t, customer, `!document.getElementById('lang').hidden && document.getElementById('lang').value === 'fr'`) {
		t.Error("the language switch is gone or does not say fr")
	}
	shot(t, customer, "agent-ask-fr")
	// Switched with the question on screen, the question follows: a page
	// never mixes two languages.
	chooseValue(t, customer, `#lang`, "nl")
	waitJS(t, customer, "the question in Dutch", `document.body.innerText.includes('vraagt om uw scherm te bekijken') && !document.body.innerText.includes('demande à voir')`, 10*time.Second)
	chooseValue(t, customer, `#lang`, "fr")
	waitJS(t, customer, "the question in French again", `document.body.innerText.includes('demande à voir votre écran')`, 10*time.Second)
	run(t, customer, "allow viewing", chromedp.Click(chromedp.CSS(`#allow`)))
	waitPhase(t, customer, "sharing")
	// What is recorded is what the customer read.
	var events []struct {
		Kind   string
		Detail struct{ Text, Lang string }
	}
	json.Unmarshal(apiCall(t, s.console, "GET", "/sessions/"+sessionID+"/events", nil, 200), &events)
	granted := false
	for _, e := range events {
		if e.Kind == "consent_granted" {
			granted = true
			if e.Detail.Lang != "fr" || !strings.Contains(e.Detail.Text, "demande à voir votre écran") {
				t.Errorf("consent recorded in %q: %q", e.Detail.Lang, e.Detail.Text)
			}
		}
	}
	if !granted {
		t.Error("no consent recorded")
	}

	status := newTab(t, s.browser)
	if st := openStatusPage(t, status, statusURL); st != 200 {
		t.Fatalf("status page: %d", st)
	}
	if lang := eval[string](t, status, `document.documentElement.lang`); lang != "fr" {
		t.Errorf("status page in %q, want fr", lang)
	}
	shot(t, status, "status-fr")
}
