package invoice_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/invoice"
	"github.com/meekijk/meekijk/internal/invoice/peppoltest"
)

var (
	desk = invoice.Party{Name: "Meekijk Support BV", Street: "Kerkstraat 1", Postcode: "9000", City: "Gent", Country: "BE",
		VATNumber: "BE0403170701", CompanyID: "0403170701", Email: "factuur@desk.example"}
	iban = "BE68 5390 0754 7034"
)

func brussels(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// statement bills sessions of the given minutes on 2 March 2026 for a
// customer without a contract at €85 an hour, with prepaid blocks when
// given; outside hours sessions carry a 50% surcharge.
func statement(t *testing.T, prepaid *billing.Prepaid, outside bool, minutes ...int) billing.Statement {
	t.Helper()
	loc := brussels(t)
	set := billing.Defaults()
	set.Location = loc
	set.OutOfHoursSurchargePercent = 50
	set.DefaultRates = []billing.Rate{{CentsPerHour: 8550, EffectiveFrom: "2026-01-01"}}
	in := billing.Input{ReferencePerson: true, Settings: set, Prepaid: prepaid}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, loc)
	for i, m := range minutes {
		end := at.Add(time.Duration(m)*time.Minute + 17*time.Second)
		in.Sessions = append(in.Sessions, billing.Session{ID: int64(i + 1), TicketRef: fmt.Sprintf("2026-%06d", 40+i), OutsideHours: outside,
			Segments: []billing.Segment{{Start: at, End: end, Level: billing.LevelControl, Technician: billing.Technician{ID: 1, Name: "Tina Peeters"}}}})
		at = at.Add(24 * time.Hour)
	}
	st, err := billing.Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func text(t *testing.T, lang i18n.Lang) func(string, ...string) string {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	return func(key string, params ...string) string { return cat.T(lang, key, params...) }
}

func doc(t *testing.T, number string, buyer invoice.Party, st billing.Statement, lang i18n.Lang) invoice.Document {
	return invoice.Document{Kind: invoice.KindInvoice, Number: number, IssueDate: "2026-04-01", DueDate: "2026-05-01",
		PeriodStart: "2026-03-01", PeriodEnd: "2026-03-31", Seller: desk, IBAN: strings.ReplaceAll(iban, " ", ""), Buyer: buyer,
		BuyerReference: "K-" + buyer.CompanyID, Statement: st, Text: text(t, lang)}
}

func build(t *testing.T, d invoice.Document) []byte {
	t.Helper()
	b, err := invoice.Build(d)
	if err != nil {
		t.Fatalf("%s: %v", d.Number, err)
	}
	return b
}

// TestInvoicesPassPeppolRules: invoices of several customers (regie,
// prepaid in part and in full, out-of-hours surcharge, exempt from VAT,
// reverse charge) and a credit note pass both Schematrons of Peppol BIS
// Billing 3.0 with no fatal assert; their totals are the statements' to
// the cent; a broken invoice fails.
func TestInvoicesPassPeppolRules(t *testing.T) {
	v := peppoltest.New(t)
	frituur := invoice.Party{Name: "Frituur Marcel", Street: "Markt 3", Postcode: "4000", City: "Liège", Country: "BE",
		VATNumber: "BE0202239951", CompanyID: "0202239951"}
	bakkerij := invoice.Party{Name: "Bakkerij Peeters & Zonen", Street: "Dorpsstraat 12", Postcode: "2000", City: "Antwerpen",
		Country: "BE", VATNumber: "BE0417497106", CompanyID: "0417497106"}
	school := invoice.Party{Name: "Vrije Basisschool De Linde", Street: "Schoolstraat 5", Postcode: "3000", City: "Leuven",
		Country: "BE", CompanyID: "0411905847"}

	regie := statement(t, nil, false, 7, 61, 140)
	surcharge := statement(t, nil, true, 45)
	partly := statement(t, &billing.Prepaid{Blocks: []billing.PrepaidBlock{{ID: 1, PurchasedOn: "2026-01-01", Minutes: 90}}}, false, 50, 61)
	fully := statement(t, &billing.Prepaid{Blocks: []billing.PrepaidBlock{{ID: 1, PurchasedOn: "2026-01-01", Minutes: 600}}}, false, 50)

	exempt := doc(t, "000005", school, regie, i18n.NL)
	exempt.Exemption = &invoice.Exemption{Code: "VATEX-EU-132", Reason: "Vrijgesteld van btw, art. 44 §2 Btw-Wetboek"}
	reverse := doc(t, "000006", bakkerij, surcharge, i18n.NL)
	reverse.Exemption = &invoice.Exemption{Code: "VATEX-EU-AE", Reason: "Verlegging van heffing, art. 51 §2 Btw-Wetboek"}
	credit := doc(t, "000007", frituur, regie, i18n.FR)
	credit.Kind, credit.Corrects, credit.CorrectsDate = invoice.KindCreditNote, "000001", "2026-04-01"

	docs := map[string]invoice.Document{
		"regie-fr":     doc(t, "000001", frituur, regie, i18n.FR),
		"surcharge-nl": doc(t, "000002", bakkerij, surcharge, i18n.NL),
		"prepaid-nl":   doc(t, "000003", bakkerij, partly, i18n.NL),
		"prepaid-full": doc(t, "000004", bakkerij, fully, i18n.EN),
		"exempt":       exempt,
		"reverse":      reverse,
		"credit-fr":    credit,
	}
	xmls := map[string][]byte{}
	for name, d := range docs {
		xmls[name] = build(t, d)
		checkTotals(t, name, xmls[name], d)
	}
	// Broken on purpose: a currency that does not exist, and a payable
	// amount that is not the total.
	xmls["broken"] = bytes.ReplaceAll(xmls["regie-fr"], []byte(`currencyID="EUR"`), []byte(`currencyID="XXX"`))
	reports := v.Validate(t, xmls)
	for name, r := range reports {
		fatal := r.Fatal()
		if name == "broken" {
			if len(fatal) == 0 {
				t.Errorf("the broken invoice passed the Peppol rules")
			}
			t.Logf("broken: %d fatal asserts, first %s", len(fatal), fatal[0])
			continue
		}
		for _, f := range fatal {
			t.Errorf("%s: %s", name, f)
		}
		t.Logf("%s: no fatal assert, %d warnings", name, len(r.Failures))
	}
	if t.Failed() {
		t.Logf("regie-fr:\n%s", xmls["regie-fr"])
	}
}

// checkTotals: the document's totals are the statement's, VAT zero under
// an exemption.
func checkTotals(t *testing.T, name string, x []byte, d invoice.Document) {
	t.Helper()
	tot := d.Statement.Totals
	vat := tot.VATCents
	if d.Exemption != nil {
		vat = 0
	}
	for _, want := range []string{
		fmt.Sprintf(`<cbc:TaxExclusiveAmount currencyID="EUR">%d.%02d</cbc:TaxExclusiveAmount>`, tot.AmountCents/100, tot.AmountCents%100),
		fmt.Sprintf(`<cbc:PayableAmount currencyID="EUR">%d.%02d</cbc:PayableAmount>`, (tot.AmountCents+vat)/100, (tot.AmountCents+vat)%100),
	} {
		if !bytes.Contains(x, []byte(want)) {
			t.Errorf("%s: %s missing", name, want)
		}
	}
}

// TestInvoiceLines: one line per intervention and way of paying, with
// the ticket, the date, the technician and the minutes; prepaid minutes
// at zero, labelled.
func TestInvoiceLines(t *testing.T) {
	st := statement(t, &billing.Prepaid{Blocks: []billing.PrepaidBlock{{ID: 1, PurchasedOn: "2026-01-01", Minutes: 90}}}, false, 50, 61)
	d := doc(t, "000001", desk, st, i18n.NL)
	var got []string
	for _, l := range d.Lines() {
		got = append(got, fmt.Sprintf("%s | %s | %d min à %s = %d", l.Name, l.Description, l.Minutes, l.PricePerHour, l.AmountCents))
	}
	want := []string{
		"Ticket 2026-000040 van 2026-03-02: afgetrokken van uw voorafbetaalde uren | Technicus: Tina Peeters. 51 min aanrekenbaar gewerkt, 60 min aangerekend na afronding en minimum. | 60 min à 0 = 0",
		"Ticket 2026-000041 van 2026-03-03: interventie in regie | Technicus: Tina Peeters. 62 min aanrekenbaar gewerkt, 75 min aangerekend na afronding en minimum. | 45 min à 85.50 = 6413",
		"Ticket 2026-000041 van 2026-03-03: afgetrokken van uw voorafbetaalde uren | Technicus: Tina Peeters. 62 min aanrekenbaar gewerkt, 75 min aangerekend na afronding en minimum. | 30 min à 0 = 0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := invoice.Build(doc(t, "1", desk, statement(t, nil, false), i18n.NL)); err != invoice.ErrNothing {
		t.Errorf("an empty statement: %v", err)
	}
	bad := doc(t, "1", desk, st, i18n.NL)
	bad.Seller.CompanyID = "0403170702"
	if _, err := invoice.Build(bad); err == nil || !strings.Contains(err.Error(), "seller.companyId") {
		t.Errorf("a bad KBO number: %v", err)
	}
}

func TestValidNumbers(t *testing.T) {
	for n, want := range map[string]bool{"0403170701": true, "0403170702": false, "403170701": false, "2403170701": false} {
		if invoice.ValidKBO(n) != want {
			t.Errorf("ValidKBO(%s) != %v", n, want)
		}
	}
	for s, want := range map[string]bool{"BE68 5390 0754 7034": true, "BE68 5390 0754 7035": false, "BE68": false} {
		if invoice.ValidIBAN(s) != want {
			t.Errorf("ValidIBAN(%s) != %v", s, want)
		}
	}
}
