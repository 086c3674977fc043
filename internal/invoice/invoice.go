// Package invoice writes a customer's approved statement as a Peppol BIS
// Billing 3.0 document (UBL 2.1, EN 16931): the structured e-invoice Belgian
// B2B invoices must be since 2026. An Invoice bills the statement; a
// CreditNote cancels an invoice already issued, which is how an exported
// invoice is corrected (it is never altered).
//
// Build is pure: the caller gives the statement, both parties and the
// number; the document's amounts are the statement's to the cent. Lines
// are per intervention: the minutes billed as regie at the hourly rate
// (with its out-of-hours surcharge), and the minutes a prepaid block paid
// at zero, so the customer sees where their prepaid hours went.
package invoice

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/meekijk/meekijk/internal/billing"
)

// Kind of document.
type Kind string

const (
	KindInvoice    Kind = "invoice"     // UBL Invoice, type code 380
	KindCreditNote Kind = "credit_note" // UBL CreditNote, type code 381
)

// Party is the seller (the desk) or the buyer (the customer).
type Party struct {
	Name     string `json:"name"`
	Street   string `json:"street"`
	Postcode string `json:"postcode"`
	City     string `json:"city"`
	Country  string `json:"country"` // ISO 3166-1 alpha-2, "BE"
	// VATNumber is normalised ("BE0403170701"); "" for a buyer without one.
	VATNumber string `json:"vatNumber"`
	// CompanyID is the KBO/BCE enterprise number, ten digits
	// ("0403170701"): the Peppol endpoint under scheme 0208.
	CompanyID string `json:"companyId"`
	Email     string `json:"email,omitempty"`
}

// Exemption is why a customer pays no VAT: an EN 16931 VAT exemption
// reason code (VATEX-EU-...) and its words. The code decides the VAT
// category (Category).
type Exemption struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// Category is the UNCL5305 VAT category of the exemption: AE for reverse
// charge, K for intra-community supply, G for export, O for outside the
// scope of VAT, E for exempt.
func (e Exemption) Category() string {
	switch e.Code {
	case "VATEX-EU-AE":
		return "AE"
	case "VATEX-EU-IC":
		return "K"
	case "VATEX-EU-G":
		return "G"
	case "VATEX-EU-O":
		return "O"
	}
	return "E"
}

// Exemptions are the codes the console offers.
var Exemptions = []string{"VATEX-EU-AE", "VATEX-EU-IC", "VATEX-EU-G", "VATEX-EU-O", "VATEX-EU-132", "VATEX-EU-143",
	"VATEX-EU-148", "VATEX-EU-151", "VATEX-EU-309", "VATEX-EU-79-C", "VATEX-EU-D", "VATEX-EU-F", "VATEX-EU-I", "VATEX-EU-J"}

// Document is one invoice or credit note to write.
type Document struct {
	Kind      Kind
	Number    string
	IssueDate string // YYYY-MM-DD
	DueDate   string // YYYY-MM-DD; invoices only
	// PeriodStart and PeriodEnd are the statement's first and last day.
	PeriodStart, PeriodEnd string
	Seller                 Party
	IBAN                   string
	Buyer                  Party
	// BuyerReference is what the buyer's books file the invoice under
	// (EN 16931 BT-10); the desk's customer number when none was agreed.
	BuyerReference string
	// Exemption is nil for VAT at the statement's rate.
	Exemption *Exemption
	Statement billing.Statement
	// Corrects is the invoice a credit note cancels, with its issue date.
	Corrects, CorrectsDate string
	// Text words the lines in the buyer's language (an i18n catalog).
	Text func(key string, params ...string) string
}

// Line is one line of the document, before it is written.
type Line struct {
	Name        string
	Description string
	Date        string
	Minutes     int64
	// PricePerHour is the hourly rate with its surcharge, in euros as an
	// exact decimal (85.00, 106.25); the line's price per 60 minutes.
	PricePerHour string
	AmountCents  int64
}

// Lines makes the document's lines from its statement: per intervention
// and surcharge, the regie minutes at their price; per intervention, the
// minutes prepaid blocks paid, at zero. Covered time is not invoiced.
func (d Document) Lines() []Line {
	st := d.Statement
	type key struct {
		intervention int
		surcharge    int64
		prepaid      bool
	}
	index := map[key]int{}
	var out []Line
	techs := map[int][]string{}
	for _, l := range st.Lines {
		if l.Technician != nil && !l.Covered && !slices.Contains(techs[l.Intervention], l.Technician.Name) {
			techs[l.Intervention] = append(techs[l.Intervention], l.Technician.Name)
		}
	}
	ivs := map[int]billing.Intervention{}
	for _, iv := range st.Interventions {
		ivs[iv.Number] = iv
	}
	add := func(l billing.Line, prepaid bool, minutes, cents int64) {
		if minutes == 0 && cents == 0 {
			return
		}
		k := key{l.Intervention, l.SurchargePercent, prepaid}
		i, ok := index[k]
		if !ok {
			iv := ivs[l.Intervention]
			ref := cmp.Or(iv.TicketRef, fmt.Sprint(iv.TicketID))
			who := strings.Join(techs[l.Intervention], ", ")
			nl := Line{Date: iv.Date}
			switch {
			case prepaid:
				nl.Name = d.Text("invoice.line.prepaid", "ticket", ref, "date", iv.Date)
				nl.PricePerHour = "0"
			case l.SurchargePercent > 0:
				nl.Name = d.Text("invoice.line.surcharge", "ticket", ref, "date", iv.Date, "percent", fmt.Sprint(l.SurchargePercent))
				nl.PricePerHour = decimal(l.CentsPerHour*(100+l.SurchargePercent), 10000)
			default:
				nl.Name = d.Text("invoice.line.regie", "ticket", ref, "date", iv.Date)
				nl.PricePerHour = decimal(l.CentsPerHour, 100)
			}
			nl.Description = d.Text("invoice.line.detail", "technicians", who, "worked", fmt.Sprint(ceilDiv(iv.BillableSeconds, 60)),
				"billed", fmt.Sprint(iv.BilledMinutes))
			i = len(out)
			index[k] = i
			out = append(out, nl)
		}
		out[i].Minutes += minutes
		out[i].AmountCents += cents
	}
	for _, l := range st.Lines {
		if l.Covered || l.BilledMinutes == 0 {
			continue
		}
		regie := l.BilledMinutes - l.PrepaidMinutes
		add(l, false, regie, l.AmountCents)
		add(l, true, l.PrepaidMinutes, 0)
	}
	return out
}

// ErrNothing: a statement without billed time makes no invoice.
var ErrNothing = errors.New("invoice: nothing billed in the statement")

// Build writes the document as UBL 2.1 XML. The totals are the
// statement's: lines add up to its amount excluding VAT, and the VAT is
// its VAT (zero under an exemption).
func Build(d Document) ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	lines := d.Lines()
	if len(lines) == 0 {
		return nil, ErrNothing
	}
	t := d.Statement.Totals
	var sum int64
	for _, l := range lines {
		sum += l.AmountCents
	}
	if sum != t.AmountCents {
		return nil, fmt.Errorf("invoice: lines add up to %d cents, the statement to %d", sum, t.AmountCents)
	}
	category, percent, vat := "S", t.VATPercent, t.VATCents
	if d.Exemption != nil {
		category, percent, vat = d.Exemption.Category(), 0, 0
	} else if percent == 0 {
		return nil, errors.New("invoice: a statement without VAT needs the customer's exemption reason")
	}
	taxCat := &taxCategory{ID: category, Percent: fmt.Sprint(percent), Scheme: scheme{ID: "VAT"}}
	if category == "O" { // outside the scope of VAT: no rate at all (BR-O-05)
		taxCat.Percent = ""
	}
	if d.Exemption != nil {
		taxCat.ExemptionCode, taxCat.ExemptionReason = d.Exemption.Code, d.Exemption.Reason
	}
	doc := document{
		Cac: nsCac, Cbc: nsCbc,
		CustomizationID: "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
		ProfileID:       "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
		ID:              d.Number, IssueDate: d.IssueDate,
		Currency:       "EUR",
		BuyerReference: d.BuyerReference,
		Period:         &period{Start: d.PeriodStart, End: d.PeriodEnd},
		Supplier:       partyWrap{party(d.Seller)},
		Customer:       partyWrap{party(d.Buyer)},
		TaxTotal: taxTotal{Amount: money(vat), Sub: []taxSubtotal{{Taxable: money(t.AmountCents), Amount: money(vat),
			Category: *taxCat}}},
		Total: monetaryTotal{LineExtension: money(t.AmountCents), TaxExclusive: money(t.AmountCents),
			TaxInclusive: money(t.AmountCents + vat), Payable: money(t.AmountCents + vat)},
	}
	lineCat := taxCategory{ID: category, Percent: taxCat.Percent, Scheme: scheme{ID: "VAT"}}
	for i, l := range lines {
		q := &quantity{Unit: "MIN", Value: fmt.Sprint(l.Minutes)}
		il := line{ID: fmt.Sprint(i + 1), Amount: money(l.AmountCents), Period: &period{Start: l.Date, End: l.Date},
			Item:  item{Description: l.Description, Name: l.Name, Category: lineCat},
			Price: price{Amount: amount{Currency: "EUR", Value: l.PricePerHour}, Base: &quantity{Unit: "MIN", Value: "60"}}}
		// A credit note's lines are CreditNoteLine with a CreditedQuantity,
		// UBL's only difference in the lines.
		if d.Kind == KindCreditNote {
			il.Credited = q
			doc.CreditLines = append(doc.CreditLines, il)
		} else {
			il.Quantity = q
			doc.Lines = append(doc.Lines, il)
		}
	}
	switch d.Kind {
	case KindInvoice:
		doc.XMLName = xml.Name{Local: "Invoice"}
		doc.Xmlns = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
		doc.DueDate, doc.TypeCode = d.DueDate, "380"
		doc.PaymentMeans = &paymentMeans{Code: "30", PaymentID: d.Number, Account: account{ID: d.IBAN}}
	case KindCreditNote:
		doc.XMLName = xml.Name{Local: "CreditNote"}
		doc.Xmlns = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
		doc.CreditTypeCode = "381"
		doc.Billing = &billingReference{Doc: docRef{ID: d.Corrects, IssueDate: d.CorrectsDate}}
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("invoice: encode: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func (d Document) check() error {
	switch {
	case d.Kind != KindInvoice && d.Kind != KindCreditNote:
		return fmt.Errorf("invoice: unknown kind %q", d.Kind)
	case d.Number == "" || d.IssueDate == "" || d.PeriodStart == "" || d.PeriodEnd == "":
		return errors.New("invoice: number, issue date and period are required")
	case d.Kind == KindCreditNote && d.Corrects == "":
		return errors.New("invoice: a credit note names the invoice it corrects")
	case d.Kind == KindInvoice && d.IBAN == "":
		return errors.New("invoice: the desk's IBAN is required")
	case d.Text == nil:
		return errors.New("invoice: no text for the lines")
	case d.Statement.Currency != "EUR":
		return fmt.Errorf("invoice: currency %q", d.Statement.Currency)
	}
	if err := CheckParty("seller", d.Seller, true); err != nil {
		return err
	}
	return CheckParty("buyer", d.Buyer, false)
}

// money writes cents as euros with two decimals.
func money(cents int64) amount { return amount{Currency: "EUR", Value: decimal(cents, 100)} }

// decimal writes n/d exactly for d a power of ten, with at least two
// decimals and no trailing zeros beyond them.
func decimal(n, d int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	if d == 1 {
		return fmt.Sprintf("%s%d.00", sign, n)
	}
	digits := len(fmt.Sprint(d)) - 1
	frac := fmt.Sprintf("%0*d", digits, n%d)
	for len(frac) > 2 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	return fmt.Sprintf("%s%d.%s", sign, n/d, frac)
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
