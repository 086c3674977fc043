package invoice_test

import (
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/invoice"
)

// A document reads back as it was written: parties, lines and totals
// that add up, for an invoice and its credit note; a tampered total is
// refused rather than shown.
func TestReadDocument(t *testing.T) {
	buyer := invoice.Party{Name: "Bakkerij Peeters", Street: "Markt 3", Postcode: "2000", City: "Antwerpen", Country: "BE",
		VATNumber: "BE0202239951", CompanyID: "0202239951"}
	d := doc(t, "2026-0007", buyer, statement(t, nil, true, 45, 90), "nl")
	x := build(t, d)
	r, err := invoice.ReadDocument(x)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != invoice.KindInvoice || r.Number != "2026-0007" || r.Buyer.Name != "Bakkerij Peeters" || r.Seller.VATNumber != desk.VATNumber ||
		r.IBAN == "" || r.DueDate != "2026-05-01" || r.PeriodStart != "2026-03-01" || len(r.Lines) == 0 || r.VATPercent != "21" {
		t.Fatalf("read = %+v", r)
	}
	if tot := d.Statement.Totals; r.AmountCents != tot.AmountCents || r.VATCents != tot.VATCents || r.PayableCents != tot.AmountCents+tot.VATCents {
		t.Errorf("totals %d+%d=%d, statement %+v", r.AmountCents, r.VATCents, r.PayableCents, tot)
	}
	d.Kind, d.Corrects, d.CorrectsDate = invoice.KindCreditNote, "2026-0007", "2026-04-01"
	d.Number = "2026-0008"
	cn, err := invoice.ReadDocument(build(t, d))
	if err != nil || cn.Kind != invoice.KindCreditNote || cn.Corrects != "2026-0007" || len(cn.Lines) != len(r.Lines) {
		t.Fatalf("credit note = %+v, %v", cn, err)
	}
	bad := strings.Replace(string(x), "<cbc:PayableAmount currencyID=\"EUR\">", "<cbc:PayableAmount currencyID=\"EUR\">1", 1)
	if _, err := invoice.ReadDocument([]byte(bad)); err == nil {
		t.Error("a total that does not add up was read")
	}
}

func TestCents(t *testing.T) {
	for in, want := range map[string]int64{"85": 8500, "85.5": 8550, "106.25": 10625, "0.00": 0, "-12.30": -1230, "7.500": 750} {
		if got, err := invoice.Cents(in); err != nil || got != want {
			t.Errorf("Cents(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.234", "a", "1.-5", "+3"} {
		if _, err := invoice.Cents(in); err == nil {
			t.Errorf("Cents(%q) accepted", in)
		}
	}
}
