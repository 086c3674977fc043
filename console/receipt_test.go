package console_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/store"
)

// TestStatusPageReceipt: after a session, the customer's status page says
// who worked, when, at which levels, which consents were given, which
// files moved, and what is billed and why; a running session has no
// receipt yet.
func TestStatusPageReceipt(t *testing.T) {
	e := newEnv(t)
	b := e.billed()
	jan, err := e.st.CreateUser(context.Background(), store.User{Email: "jan@desk.example", Name: "Jan Claes", Role: store.RoleTechnician, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.advance(time.Hour)
	e.hold(b.billableTk.ID,
		after(5*time.Minute, store.EventConsentGranted, toControl),
		after(5*time.Minute, store.EventFile, map[string]any{"direction": "to_customer", "name": "update <script>x</script>.exe", "size": 3400000, "outcome": "done"}),
		after(0, store.EventFile, map[string]any{"direction": "from_customer", "name": "refused.txt", "size": 10, "outcome": "declined"}),
		after(5*time.Minute, store.EventHandover, map[string]any{"technicianId": jan.ID, "technician": jan.Name}),
		after(0, store.EventConsentGranted, map[string]string{"level": "data_intervention"}),
		after(20*time.Minute, store.EventFile, map[string]any{"direction": "from_customer", "name": "journal.log", "size": 820, "outcome": "done"}),
		after(0, store.EventEnded, nil))
	e.clk.advance(time.Hour)
	e.hold(b.billableTk.ID) // still running, for 7 minutes now
	e.clk.advance(7 * time.Minute)

	page := func(url string) string {
		t.Helper()
		resp, err := http.Get(e.srv.URL + url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status page: %d", resp.StatusCode)
		}
		return string(body)
	}
	raw := page(b.billableTk.StatusURL + "?lang=en")
	if strings.Contains(raw, "<script>x") {
		t.Error("a file name is not escaped")
	}
	sessions := strings.Split(html.UnescapeString(raw), `<article class="session"`)[1:]
	if len(sessions) != 3 {
		t.Fatalf("%d sessions on the page, want 3:\n%s", len(sessions), raw)
	}
	running, handedOver, first := sessions[0], sessions[1], sessions[2]
	for _, want := range []string{"still running", ">7 min<", "Billable: the person asking is not a designated reference person<"} {
		if !strings.Contains(running, want) {
			t.Errorf("running session lacks %q:\n%s", want, running)
		}
	}
	if strings.Contains(running, `class="receipt"`) {
		t.Errorf("running session has a receipt:\n%s", running)
	}
	for _, want := range []string{
		`class="who">Tina Peeters, Jan Claes<`,
		"02/03/2026 12:58 to 02/03/2026 13:33",
		`data-level="view">view your screen: 5 min<`,
		`data-level="control">control your computer: 10 min<`,
		`data-level="data_intervention">intervene on your data: 20 min<`,
		"02/03/2026 12:58: view your screen", "02/03/2026 13:03: control your computer", "02/03/2026 13:13: intervene on your data",
		"update <script>x</script>.exe (3.4 MB), to you", "journal.log (820 B), from you",
		`data-minutes="60">60 minutes<`,
		"the person asking is not a designated reference person; intervention on the customer's data.",
		"35 billable minutes, rounded up per 15 minutes, with a minimum of 60 minutes per intervention.",
	} {
		if !strings.Contains(handedOver, want) {
			t.Errorf("receipt lacks %q:\n%s", want, handedOver)
		}
	}
	if strings.Contains(handedOver, "refused.txt") {
		t.Error("a declined file is listed as transferred")
	}
	if !strings.Contains(first, "35 min") || !strings.Contains(first, `data-minutes="60"`) {
		t.Errorf("first session:\n%s", first)
	}

	// The covered ticket, in the customer's French: nothing billed.
	covered := html.UnescapeString(page(b.coveredT.StatusURL))
	for _, want := range []string{"Compte rendu de la session", "Couvert par votre contrat", "Rien : couvert par votre contrat", "20 min"} {
		if !strings.Contains(covered, want) {
			t.Errorf("covered ticket page lacks %q", want)
		}
	}
	if strings.Contains(covered, "Pourquoi") {
		t.Error("a covered session says why it is billed")
	}
}

// TestStatusPageNothingBilledWithoutContract: a session that bills nothing
// for a customer without a contract says why truthfully, in each language:
// no contract covered it, no billable time was worked.
func TestStatusPageNothingBilledWithoutContract(t *testing.T) {
	e := newEnv(t)
	admin, tech := e.loginAs(store.RoleAdmin, "admin@desk.example"), e.login()
	var cu, ct struct{ ID int64 }
	e.call(admin, "POST", "/api/v1/customers", map[string]string{"name": "Bakkerij Zonder", "lang": "nl"}, 201, &cu)
	e.call(admin, "POST", fmt.Sprintf("/api/v1/customers/%d/contacts", cu.ID),
		map[string]string{"name": "Els Bakker", "referenceRole": "general", "lang": "nl"}, 201, &ct)
	var tk ticketDetail
	e.call(tech, "POST", "/api/v1/tickets", map[string]any{"title": "Printer", "customerId": cu.ID, "contactId": ct.ID}, 201, &tk)
	e.clk.advance(time.Hour)
	e.hold(tk.ID, after(400*time.Millisecond, store.EventEnded, nil)) // allowed, then ended within a second: nothing billable
	for lang, want := range map[string]string{
		"nl": "Niets: er werd geen aanrekenbare tijd gewerkt",
		"fr": "Rien : aucun temps facturable n'a été presté",
		"en": "Nothing: no billable time was worked",
	} {
		resp, err := http.Get(e.srv.URL + tk.StatusURL + "?lang=" + lang)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := html.UnescapeString(string(body))
		if !strings.Contains(page, `class="receipt"`) {
			t.Fatalf("%s: no receipt:\n%s", lang, page)
		}
		for _, lie := range []string{"gedekt door uw contract", "couvert par votre contrat", "covered by your contract"} {
			if strings.Contains(strings.ToLower(page), lie) {
				t.Errorf("%s: a customer without a contract reads %q", lang, lie)
			}
		}
		if !strings.Contains(page, want) {
			t.Errorf("%s: the receipt lacks %q:\n%s", lang, want, page)
		}
	}
}
