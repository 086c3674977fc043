package invoice

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// Read is a stored invoice or credit note as a person reads it: what the
// customer portal's HTML view shows. It is read back from the document's
// own XML, never rebuilt from today's data, so the view says exactly what
// the exported document says; amounts are in cents.
type Read struct {
	Kind                   Kind
	Number                 string
	IssueDate, DueDate     string
	PeriodStart, PeriodEnd string
	Seller, Buyer          ReadParty
	BuyerReference         string
	// IBAN and PaymentID: where and under which reference to pay (invoices).
	IBAN, PaymentID string
	// Corrects is the invoice a credit note cancels.
	Corrects   string
	Lines      []ReadLine
	VATPercent string // "" when no rate applies
	// ExemptionReason says why no VAT is charged.
	ExemptionReason                     string
	AmountCents, VATCents, PayableCents int64
}

// ReadParty is a party's name, address and numbers.
type ReadParty struct {
	Name, Street, Postcode, City, Country, VATNumber, CompanyID string
}

// ReadLine is one line: the work, its date, minutes, price per hour and
// amount.
type ReadLine struct {
	Name, Description, Date string
	Minutes                 string
	PricePerHourCents       int64
	AmountCents             int64
}

// The UBL elements read back, by local name: encoding/xml matches a
// namespaced element by its local name when the tag names no space.
type readDoc struct {
	XMLName        xml.Name
	ID             string     `xml:"ID"`
	IssueDate      string     `xml:"IssueDate"`
	DueDate        string     `xml:"DueDate"`
	BuyerReference string     `xml:"BuyerReference"`
	Period         readPeriod `xml:"InvoicePeriod"`
	Corrects       string     `xml:"BillingReference>InvoiceDocumentReference>ID"`
	Supplier       readParty  `xml:"AccountingSupplierParty>Party"`
	Customer       readParty  `xml:"AccountingCustomerParty>Party"`
	PaymentID      string     `xml:"PaymentMeans>PaymentID"`
	IBAN           string     `xml:"PaymentMeans>PayeeFinancialAccount>ID"`
	Tax            struct {
		Amount string `xml:"TaxAmount"`
		Sub    []struct {
			Percent string `xml:"TaxCategory>Percent"`
			Reason  string `xml:"TaxCategory>TaxExemptionReason"`
		} `xml:"TaxSubtotal"`
	} `xml:"TaxTotal"`
	Total struct {
		LineExtension string `xml:"LineExtensionAmount"`
		Payable       string `xml:"PayableAmount"`
	} `xml:"LegalMonetaryTotal"`
	Lines []readLine `xml:"InvoiceLine"`
	// A credit note's lines.
	CreditLines []readLine `xml:"CreditNoteLine"`
}

type readPeriod struct {
	Start string `xml:"StartDate"`
	End   string `xml:"EndDate"`
}

type readParty struct {
	Name      string `xml:"PartyName>Name"`
	Street    string `xml:"PostalAddress>StreetName"`
	City      string `xml:"PostalAddress>CityName"`
	Postcode  string `xml:"PostalAddress>PostalZone"`
	Country   string `xml:"PostalAddress>Country>IdentificationCode"`
	VATNumber string `xml:"PartyTaxScheme>CompanyID"`
	CompanyID string `xml:"PartyLegalEntity>CompanyID"`
}

type readLine struct {
	Invoiced    string     `xml:"InvoicedQuantity"`
	Credited    string     `xml:"CreditedQuantity"`
	Amount      string     `xml:"LineExtensionAmount"`
	Period      readPeriod `xml:"InvoicePeriod"`
	Name        string     `xml:"Item>Name"`
	Description string     `xml:"Item>Description"`
	Price       string     `xml:"Price>PriceAmount"`
}

// ReadDocument reads a document Build wrote. It fails when the lines do
// not add up to the total, or the total and VAT to the amount payable:
// a view must never show figures that disagree.
func ReadDocument(x []byte) (Read, error) {
	var d readDoc
	if err := xml.Unmarshal(x, &d); err != nil {
		return Read{}, fmt.Errorf("invoice: read: %w", err)
	}
	r := Read{Number: d.ID, IssueDate: d.IssueDate, DueDate: d.DueDate, PeriodStart: d.Period.Start, PeriodEnd: d.Period.End,
		Seller: d.Supplier.party(), Buyer: d.Customer.party(), BuyerReference: d.BuyerReference, IBAN: d.IBAN,
		PaymentID: d.PaymentID, Corrects: d.Corrects}
	lines := d.Lines
	switch d.XMLName.Local {
	case "Invoice":
		r.Kind = KindInvoice
	case "CreditNote":
		r.Kind, lines = KindCreditNote, d.CreditLines
	default:
		return Read{}, fmt.Errorf("invoice: read: not an invoice nor a credit note: %q", d.XMLName.Local)
	}
	if len(d.Tax.Sub) > 0 {
		r.VATPercent, r.ExemptionReason = d.Tax.Sub[0].Percent, d.Tax.Sub[0].Reason
	}
	var err error
	amounts := []struct {
		s string
		v *int64
	}{{d.Total.LineExtension, &r.AmountCents}, {d.Tax.Amount, &r.VATCents}, {d.Total.Payable, &r.PayableCents}}
	for _, a := range amounts {
		if *a.v, err = Cents(a.s); err != nil {
			return Read{}, err
		}
	}
	var sum int64
	for _, l := range lines {
		rl := ReadLine{Name: l.Name, Description: l.Description, Date: l.Period.Start, Minutes: l.Invoiced + l.Credited}
		if rl.AmountCents, err = Cents(l.Amount); err != nil {
			return Read{}, err
		}
		if rl.PricePerHourCents, err = Cents(l.Price); err != nil {
			return Read{}, err
		}
		sum += rl.AmountCents
		r.Lines = append(r.Lines, rl)
	}
	if sum != r.AmountCents || r.AmountCents+r.VATCents != r.PayableCents {
		return Read{}, fmt.Errorf("invoice: read %s: lines %d + VAT %d do not add up to %d, payable %d", r.Number, sum,
			r.VATCents, r.AmountCents, r.PayableCents)
	}
	return r, nil
}

func (p readParty) party() ReadParty {
	return ReadParty{Name: p.Name, Street: p.Street, Postcode: p.Postcode, City: p.City, Country: p.Country,
		VATNumber: p.VATNumber, CompanyID: p.CompanyID}
}

// Cents reads an amount in euros as decimal() writes it ("85", "85.5",
// "106.25") as whole cents; more than two decimals must be zeros.
func Cents(s string) (int64, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 2 {
		return 0, fmt.Errorf("invoice: amount %q has fractions of a cent", s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || strings.ContainsAny(whole, "+-") {
		return 0, fmt.Errorf("invoice: amount %q", s)
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || strings.ContainsAny(frac, "+-") {
		return 0, fmt.Errorf("invoice: amount %q", s)
	}
	c := w*100 + f
	if neg {
		c = -c
	}
	return c, nil
}
