package e2e

import (
	"encoding/json"
	"image"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A customer without a contract: control is billable. The agent shows the
// cost notice with the question, nothing is injected until the customer
// accepts it, the acceptance is stored with the notice's text, and the
// month's statement bills the session at the minimum of 60 minutes.
func TestBillableControlNeedsTheCostNotice(t *testing.T) {
	s := newScene(t)
	customerID := s.customerID(t)
	rec := newClickRecorder(t, s.display, image.Rect(100, 100, 700, 500))
	_, customer := s.liveSession(t, "Nieuwe printer instellen")

	run(t, s.console, "ask for control", chromedp.Click(chromedp.CSS(`#request-control`)))
	confirmCodes(t, s.console)
	waitJS(t, customer, "control question", `!document.getElementById('prompt').hidden`, 10*time.Second)
	notice := eval[string](t, customer, `document.getElementById('prompt').innerText`)
	for _, want := range []string{"wordt aangerekend", "geen actief onderhoudscontract", "€ 85,00", "15 minuten", "60 minuten"} {
		if !strings.Contains(notice, want) {
			t.Errorf("cost notice lacks %q:\n%s", want, notice)
		}
	}
	// Not accepted yet: the technician's input goes nowhere.
	refusedClick(t, s.console, rec, image.Pt(300, 250), "before the cost notice was accepted")
	run(t, customer, "accept", chromedp.Click(chromedp.CSS(`#prompt-yes`)))
	waitJS(t, s.console, "control active", `document.getElementById('control-state').dataset.control === 'on'`, 10*time.Second)
	var text string
	if err := s.relay.db(t).QueryRow(`SELECT json_extract(detail, '$.text') FROM session_events
		WHERE kind = 'consent_granted' AND json_extract(detail, '$.level') = 'control'`).Scan(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "€ 85,00") || !strings.Contains(text, "geen actief onderhoudscontract") {
		t.Errorf("accepted text does not hold the notice: %q", text)
	}

	run(t, s.console, "end", chromedp.Click(chromedp.CSS(`#end-session`)))
	waitConsoleStatus(t, s.console, "ended", 5*time.Second)
	loc, _ := time.LoadLocation("Europe/Brussels")
	month := time.Now().In(loc).Format("2006-01")
	var st struct {
		Lines []struct {
			SessionIDs    []int64 `json:"sessionIds"`
			Covered       bool    `json:"covered"`
			BilledMinutes int64   `json:"billedMinutes"`
			AmountCents   int64   `json:"amountCents"`
		} `json:"lines"`
	}
	raw := apiCall(t, s.console, "GET", "/billing/statement?customer="+itoa(int(customerID))+"&month="+month, nil, 200)
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	var billed, cents int64
	for _, l := range st.Lines {
		if !l.Covered {
			billed += l.BilledMinutes
			cents += l.AmountCents
		}
	}
	if billed != 60 || cents != 8500 {
		t.Errorf("statement bills %d minutes for %d cents, want the minimum: 60 minutes, 8500 cents\n%s", billed, cents, raw)
	}
}

// customerID is the id of the scene's customer.
func (s *scene) customerID(t *testing.T) int64 {
	t.Helper()
	type customer struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	var customers []customer
	json.Unmarshal(apiCall(t, s.console, "GET", "/customers", nil, 200), &customers)
	i := slices.IndexFunc(customers, func(c customer) bool { return c.Name == sceneCustomer })
	if i < 0 {
		t.Fatalf("no %s in %+v", sceneCustomer, customers)
	}
	return customers[i].ID
}
