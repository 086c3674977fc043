package invoice

import "encoding/xml"

// The UBL 2.1 elements a Peppol BIS Billing 3.0 document uses, in the
// order the UBL schema requires. encoding/xml writes the cac: and cbc:
// prefixes as part of the names, declared once on the root element.

const (
	nsCac = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
	nsCbc = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
)

type document struct {
	XMLName         xml.Name
	Xmlns           string            `xml:"xmlns,attr"`
	Cac             string            `xml:"xmlns:cac,attr"`
	Cbc             string            `xml:"xmlns:cbc,attr"`
	CustomizationID string            `xml:"cbc:CustomizationID"`
	ProfileID       string            `xml:"cbc:ProfileID"`
	ID              string            `xml:"cbc:ID"`
	IssueDate       string            `xml:"cbc:IssueDate"`
	DueDate         string            `xml:"cbc:DueDate,omitempty"`
	TypeCode        string            `xml:"cbc:InvoiceTypeCode,omitempty"`
	CreditTypeCode  string            `xml:"cbc:CreditNoteTypeCode,omitempty"`
	Currency        string            `xml:"cbc:DocumentCurrencyCode"`
	BuyerReference  string            `xml:"cbc:BuyerReference"`
	Period          *period           `xml:"cac:InvoicePeriod"`
	Billing         *billingReference `xml:"cac:BillingReference"`
	Supplier        partyWrap         `xml:"cac:AccountingSupplierParty"`
	Customer        partyWrap         `xml:"cac:AccountingCustomerParty"`
	PaymentMeans    *paymentMeans     `xml:"cac:PaymentMeans"`
	TaxTotal        taxTotal          `xml:"cac:TaxTotal"`
	Total           monetaryTotal     `xml:"cac:LegalMonetaryTotal"`
	Lines           []line            `xml:"cac:InvoiceLine"`
	CreditLines     []line            `xml:"cac:CreditNoteLine"`
}

type period struct {
	Start string `xml:"cbc:StartDate"`
	End   string `xml:"cbc:EndDate"`
}

type billingReference struct {
	Doc docRef `xml:"cac:InvoiceDocumentReference"`
}

type docRef struct {
	ID        string `xml:"cbc:ID"`
	IssueDate string `xml:"cbc:IssueDate,omitempty"`
}

type partyWrap struct {
	Party ublParty `xml:"cac:Party"`
}

type ublParty struct {
	Endpoint  schemed     `xml:"cbc:EndpointID"`
	Name      partyName   `xml:"cac:PartyName"`
	Address   address     `xml:"cac:PostalAddress"`
	TaxScheme *partyTax   `xml:"cac:PartyTaxScheme"`
	Legal     legalEntity `xml:"cac:PartyLegalEntity"`
	Contact   *contact    `xml:"cac:Contact"`
}

type schemed struct {
	Scheme string `xml:"schemeID,attr,omitempty"`
	Value  string `xml:",chardata"`
}

type partyName struct {
	Name string `xml:"cbc:Name"`
}

type address struct {
	Street   string  `xml:"cbc:StreetName"`
	City     string  `xml:"cbc:CityName"`
	Postcode string  `xml:"cbc:PostalZone"`
	Country  country `xml:"cac:Country"`
}

type country struct {
	Code string `xml:"cbc:IdentificationCode"`
}

type partyTax struct {
	CompanyID string `xml:"cbc:CompanyID"`
	Scheme    scheme `xml:"cac:TaxScheme"`
}

type scheme struct {
	ID string `xml:"cbc:ID"`
}

type legalEntity struct {
	Name      string   `xml:"cbc:RegistrationName"`
	CompanyID *schemed `xml:"cbc:CompanyID"`
}

type contact struct {
	Email string `xml:"cbc:ElectronicMail"`
}

type paymentMeans struct {
	Code      string  `xml:"cbc:PaymentMeansCode"`
	PaymentID string  `xml:"cbc:PaymentID"`
	Account   account `xml:"cac:PayeeFinancialAccount"`
}

type account struct {
	ID string `xml:"cbc:ID"`
}

type amount struct {
	Currency string `xml:"currencyID,attr"`
	Value    string `xml:",chardata"`
}

type quantity struct {
	Unit  string `xml:"unitCode,attr"`
	Value string `xml:",chardata"`
}

type taxTotal struct {
	Amount amount        `xml:"cbc:TaxAmount"`
	Sub    []taxSubtotal `xml:"cac:TaxSubtotal"`
}

type taxSubtotal struct {
	Taxable  amount      `xml:"cbc:TaxableAmount"`
	Amount   amount      `xml:"cbc:TaxAmount"`
	Category taxCategory `xml:"cac:TaxCategory"`
}

type taxCategory struct {
	ID              string `xml:"cbc:ID"`
	Percent         string `xml:"cbc:Percent,omitempty"`
	ExemptionCode   string `xml:"cbc:TaxExemptionReasonCode,omitempty"`
	ExemptionReason string `xml:"cbc:TaxExemptionReason,omitempty"`
	Scheme          scheme `xml:"cac:TaxScheme"`
}

type monetaryTotal struct {
	LineExtension amount `xml:"cbc:LineExtensionAmount"`
	TaxExclusive  amount `xml:"cbc:TaxExclusiveAmount"`
	TaxInclusive  amount `xml:"cbc:TaxInclusiveAmount"`
	Payable       amount `xml:"cbc:PayableAmount"`
}

// line is an InvoiceLine (Quantity set) or a CreditNoteLine (Credited).
type line struct {
	ID       string    `xml:"cbc:ID"`
	Quantity *quantity `xml:"cbc:InvoicedQuantity"`
	Credited *quantity `xml:"cbc:CreditedQuantity"`
	Amount   amount    `xml:"cbc:LineExtensionAmount"`
	Period   *period   `xml:"cac:InvoicePeriod"`
	Item     item      `xml:"cac:Item"`
	Price    price     `xml:"cac:Price"`
}

type item struct {
	Description string      `xml:"cbc:Description,omitempty"`
	Name        string      `xml:"cbc:Name"`
	Category    taxCategory `xml:"cac:ClassifiedTaxCategory"`
}

type price struct {
	Amount amount    `xml:"cbc:PriceAmount"`
	Base   *quantity `xml:"cbc:BaseQuantity"`
}

// party writes p as a Peppol party: its electronic address is its
// KBO/BCE number under scheme 0208, else its VAT number under 9925.
func party(p Party) ublParty {
	u := ublParty{Name: partyName{p.Name},
		Address: address{Street: p.Street, City: p.City, Postcode: p.Postcode, Country: country{p.Country}},
		Legal:   legalEntity{Name: p.Name}}
	if p.CompanyID != "" {
		u.Endpoint = schemed{Scheme: "0208", Value: p.CompanyID}
		u.Legal.CompanyID = &schemed{Scheme: "0208", Value: p.CompanyID}
	} else {
		u.Endpoint = schemed{Scheme: "9925", Value: p.VATNumber}
	}
	if p.VATNumber != "" {
		u.TaxScheme = &partyTax{CompanyID: p.VATNumber, Scheme: scheme{ID: "VAT"}}
	}
	if p.Email != "" {
		u.Contact = &contact{Email: p.Email}
	}
	return u
}
