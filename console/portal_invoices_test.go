package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/store"
)

// The company's invoices and statements in the portal: listed, the XML as
// stored, and a readable page in the person's language whose figures are
// the document's and add up; another company's person gets the 404 of a
// number that does not exist.
func TestPortalInvoices(t *testing.T) {
	e := newEnv(t)
	b := e.billed() // March: 60 minutes billed, €85.00 + €17.85 VAT
	e.clk.advance(30 * 24 * time.Hour)
	b.admin = e.loginAs(store.RoleAdmin, "boekhouding@desk.example")
	e.call(b.admin, "PUT", "/api/v1/settings/company", map[string]any{"name": "Meekijk Support BV", "street": "Kerkstraat 1",
		"postcode": "9000", "city": "Gent", "country": "BE", "vatNumber": "BE 0417.497.106", "companyId": "0417.497.106",
		"iban": "BE68 5390 0754 7034", "paymentDays": 30}, 200, nil)
	e.call(b.admin, "PUT", fmt.Sprintf("/api/v1/customers/%d/invoicing", b.customer), map[string]any{"street": "Markt 3",
		"postcode": "4000", "city": "Liège", "country": "BE", "companyId": "0403.170.701"}, 200, nil)
	var al approvals
	e.call(b.admin, "POST", "/api/v1/billing/approvals", map[string]any{"customer": b.customer, "month": "2026-03"}, 201, &al)
	var inv issued
	e.call(b.admin, "POST", fmt.Sprintf("/api/v1/billing/approvals/%d/invoice", al.Approvals[0].ID), map[string]string{"kind": "invoice"}, 201, &inv)

	var l struct{ Link string }
	e.portalLink(b.admin, b.reference).decode(t, &l) // Marcel Dubois, French
	cookie, _, a := e.portalSignIn(l.Link)
	if cookie == "" {
		t.Fatalf("sign-in: %d %s", a.status, a.body)
	}
	_, otherCookie, _ := e.signedInAs(b.admin, "Bakkerij Peeters", "Ann Peeters")

	var list struct {
		Invoices []struct {
			Number, Kind, ViewPath, XMLPath string
			TotalCents                      int64
		}
		Statements []struct {
			PeriodStart, Invoice string
			TotalCents           int64
		}
	}
	e.portalDo(cookie, "", "GET", "/portaal/api/invoices", "").decode(t, &list)
	if len(list.Invoices) != 1 || list.Invoices[0].Number != inv.Number || list.Invoices[0].TotalCents != 10285 ||
		len(list.Statements) != 1 || list.Statements[0].Invoice != inv.Number || list.Statements[0].TotalCents != 10285 {
		t.Fatalf("list = %+v", list)
	}
	var other struct{ Invoices, Statements []any }
	e.portalDo(otherCookie, "", "GET", "/portaal/api/invoices", "").decode(t, &other)
	if len(other.Invoices) != 0 || len(other.Statements) != 0 {
		t.Errorf("another company's list = %+v", other)
	}

	a = e.portalDo(cookie, "", "GET", list.Invoices[0].ViewPath, "")
	page := string(a.body)
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") || a.header.Get("Content-Security-Policy") == "" {
		t.Fatalf("view: %d %v", a.status, a.header)
	}
	for _, want := range []string{`lang="fr"`, "Facture " + inv.Number, "Meekijk Support BV", "Liège", "€ 85,00", "€ 17,85", "€ 102,85", "TVA 21 %",
		"BE68539007547034"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	if a := e.portalDo(cookie, "", "GET", list.Invoices[0].ViewPath+"?lang=en", ""); !strings.Contains(string(a.body), "€102.85") ||
		!strings.Contains(string(a.body), "Invoice "+inv.Number) {
		t.Errorf("English view:\n%s", a.body)
	}
	if a := e.portalDo(cookie, "", "GET", list.Invoices[0].XMLPath, ""); a.status != 200 || !strings.Contains(string(a.body), "<cbc:ID>"+inv.Number) {
		t.Errorf("xml: %d", a.status)
	}
	missing := e.portalDo(otherCookie, "", "GET", "/portaal/api/invoices/999999/view", "")
	for _, p := range []string{list.Invoices[0].ViewPath, list.Invoices[0].XMLPath} {
		if a := e.portalDo(otherCookie, "", "GET", p, ""); a.status != http.StatusNotFound || string(a.body) != string(missing.body) {
			t.Errorf("another company's %s: %d %s", p, a.status, a.body)
		}
	}
}
