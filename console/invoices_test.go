package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/invoice/peppoltest"
	"github.com/meekijk/meekijk/internal/store"
)

type approvals struct {
	Approvals []struct {
		ID                  int64
		PeriodStart         string
		SHA256              string
		Withdrawn           bool
		Invoice, CreditNote string
	}
	Invoices []struct{ Number, Kind, Credits, SHA256 string }
}

type issued struct {
	Number, Kind, Credits, SHA256     string
	AmountCents, VATCents, TotalCents int64
}

// TestInvoicesFromApprovedStatements: an admin sets the desk's details and
// the customer's, approves March once it is over, exports its invoice
// (number 000001, stored with its SHA-256 in the audit chain, never
// altered), corrects it with a credit note (000002), which frees the month
// to be approved again, now VAT-exempt, and invoiced as 000003. Every
// document passes the Peppol rules.
func TestInvoicesFromApprovedStatements(t *testing.T) {
	e := newEnv(t)
	b := e.billed() // March: 60 minutes billed, €85.00 + €17.85 VAT
	approve := map[string]any{"customer": b.customer, "month": "2026-03"}
	a := e.do(b.admin, "POST", "/api/v1/billing/approvals", mustJSON(t, approve))
	if p := a.problem(t); a.status != 400 || p.Field != "month" {
		t.Errorf("approving a month not over: %d %+v", a.status, p)
	}
	e.clk.advance(30 * 24 * time.Hour) // 1 April
	b.admin = e.loginAs(store.RoleAdmin, "boekhouding@desk.example")

	company := map[string]any{"name": "Meekijk Support BV", "street": "Kerkstraat 1", "postcode": "9000", "city": "Gent",
		"country": "BE", "vatNumber": "BE 0417.497.106", "companyId": "0417.497.106", "iban": "BE68 5390 0754 7034", "paymentDays": 30}
	for field, bad := range map[string]any{"companyId": "0417497107", "iban": "BE68 5390 0754 7035", "vatNumber": "BE0403170701"} {
		c := map[string]any{}
		for k, v := range company {
			c[k] = v
		}
		c[field] = bad
		if a := e.do(b.admin, "PUT", "/api/v1/settings/company", mustJSON(t, c)); a.status != 400 || a.problem(t).Field != field {
			t.Errorf("company with a bad %s: %d %s", field, a.status, a.body)
		}
	}
	var al approvals
	e.call(b.admin, "POST", "/api/v1/billing/approvals", approve, 201, &al)
	first := al.Approvals[0].ID
	if a := e.do(b.admin, "POST", fmt.Sprintf("/api/v1/billing/approvals/%d/invoice", first), `{"kind":"invoice"}`); a.status != 409 {
		t.Errorf("an invoice without the desk's details: %d %s", a.status, a.body)
	}
	e.call(b.admin, "PUT", "/api/v1/settings/company", company, 200, nil)
	invPath := fmt.Sprintf("/api/v1/customers/%d/invoicing", b.customer)
	if a := e.do(b.admin, "PUT", invPath, `{"street":"Markt 3","postcode":"4000","city":"Liège","companyId":"0403170702"}`); a.status != 400 {
		t.Errorf("customer with a bad KBO number: %d %s", a.status, a.body)
	}
	e.call(b.admin, "PUT", invPath, map[string]any{"street": "Markt 3", "postcode": "4000", "city": "Liège", "country": "BE",
		"companyId": "0403.170.701", "email": "compta@frituur.example"}, 200, nil)

	if a := e.do(b.admin, "POST", "/api/v1/billing/approvals", mustJSON(t, approve)); a.status != 409 {
		t.Errorf("approving March twice: %d %s", a.status, a.body)
	}
	var inv issued
	e.call(b.admin, "POST", fmt.Sprintf("/api/v1/billing/approvals/%d/invoice", first), map[string]string{"kind": "invoice"}, 201, &inv)
	if inv.Number != "000001" || inv.AmountCents != 8500 || inv.VATCents != 1785 || inv.TotalCents != 10285 {
		t.Errorf("invoice %+v", inv)
	}
	if a := e.do(b.admin, "POST", fmt.Sprintf("/api/v1/billing/approvals/%d/invoice", first), `{"kind":"invoice"}`); a.status != 409 {
		t.Errorf("a second invoice of one approval: %d", a.status)
	}
	docs := map[string][]byte{}
	download := func(number, sha string) []byte {
		a := e.do(b.admin, "GET", "/api/v1/invoices/"+number, "")
		sum := sha256.Sum256(a.body)
		if a.status != 200 || hex.EncodeToString(sum[:]) != sha || a.header.Get("X-Content-SHA256") != sha {
			t.Fatalf("download %s: %d, sha256 %x, want %s", number, a.status, sum, sha)
		}
		docs[number] = a.body
		return a.body
	}
	x := download(inv.Number, inv.SHA256)
	for _, want := range []string{"<cbc:ID>000001</cbc:ID>", `<cbc:EndpointID schemeID="0208">0403170701</cbc:EndpointID>`,
		`<cbc:PayableAmount currencyID="EUR">102.85</cbc:PayableAmount>`, "intervention en régie", "BE68539007547034"} {
		if !strings.Contains(string(x), want) {
			t.Errorf("invoice lacks %s", want)
		}
	}

	// The stored invoice is never altered, not even by SQL.
	if _, err := e.st.DB().Exec("UPDATE invoices SET total_cents = 1 WHERE number = '000001'"); err == nil ||
		!strings.Contains(err.Error(), "never altered") {
		t.Errorf("altering an invoice: %v", err)
	}

	// The correction: a credit note, then the month again, now exempt.
	var cn issued
	e.call(b.admin, "POST", fmt.Sprintf("/api/v1/billing/approvals/%d/invoice", first), map[string]string{"kind": "credit_note"}, 201, &cn)
	if cn.Number != "000002" || cn.Credits != "000001" || cn.TotalCents != 10285 {
		t.Errorf("credit note %+v", cn)
	}
	if !strings.Contains(string(download(cn.Number, cn.SHA256)), "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>") {
		t.Error("not a credit note")
	}
	e.call(b.admin, "PUT", invPath, map[string]any{"street": "Markt 3", "postcode": "4000", "city": "Liège", "country": "BE",
		"companyId": "0403170701", "exemptionCode": "VATEX-EU-132", "exemptionReason": "Vrijgesteld, art. 44 §2 Btw-Wetboek"}, 200, nil)
	e.call(b.admin, "POST", "/api/v1/billing/approvals", approve, 201, &al)
	var again issued
	e.call(b.admin, "POST", fmt.Sprintf("/api/v1/billing/approvals/%d/invoice", al.Approvals[0].ID), map[string]string{"kind": "invoice"}, 201, &again)
	if again.Number != "000003" || again.VATCents != 0 || again.TotalCents != 8500 {
		t.Errorf("corrected invoice %+v", again)
	}
	download(again.Number, again.SHA256)
	if len(al.Approvals) != 2 || !al.Approvals[1].Withdrawn || al.Approvals[1].CreditNote != "000002" {
		t.Errorf("approvals %+v", al.Approvals)
	}

	// Each document is in the audit chain with its SHA-256.
	entries, err := e.st.AuditEntries(context.Background(), store.AuditFilter{Events: []string{store.EventInvoiceIssued}})
	if err != nil || len(entries) != 3 {
		t.Fatalf("%d invoice entries (%v)", len(entries), err)
	}
	for i, want := range []issued{inv, cn, again} {
		var p struct{ Number, SHA256 string }
		if err := json.Unmarshal(entries[i].Payload, &p); err != nil || p.Number != want.Number || p.SHA256 != want.SHA256 {
			t.Errorf("audit entry %d: %s", i, entries[i].Payload)
		}
	}
	if _, err := e.st.VerifyAudit(context.Background()); err != nil {
		t.Error(err)
	}

	for name, r := range peppoltest.New(t).Validate(t, docs) {
		for _, f := range r.Fatal() {
			t.Errorf("%s: %s", name, f)
		}
	}
}
