package console_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/store"
)

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
