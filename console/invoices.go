package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/invoice"
	"github.com/meekijk/meekijk/internal/store"
)

// Peppol invoices (docs/invoices.md): an admin approves a customer's
// statement for a month, exports the invoice made from that frozen
// statement, and corrects it only with a credit note.

// Company is the desk's own details on its invoices.
type Company struct {
	invoice.Party
	IBAN string `json:"iban"`
	// PaymentDays is the term: the due date is the issue date plus this.
	PaymentDays int `json:"paymentDays"`
}

func (c *console) company(ctx context.Context) (Company, error) {
	co := Company{Party: invoice.Party{Country: "BE"}, PaymentDays: 30}
	raw, err := c.Store.Company(ctx)
	if err != nil || raw == "" {
		return co, err
	}
	if err := json.Unmarshal([]byte(raw), &co); err != nil {
		return co, fmt.Errorf("console: company setting: %w", err)
	}
	return co, nil
}

func (c *console) getCompany(w http.ResponseWriter, r *http.Request) error {
	co, err := c.company(r.Context())
	if err != nil {
		return err
	}
	hist, err := c.Store.SettingHistory(r.Context(), settingHistoryLength, store.SettingCompany)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, struct {
		Company
		History []store.SettingChange `json:"history"`
	}{co, hist})
	return nil
}

// putCompany saves the desk's details once they would make a valid
// Peppol seller: KBO/BCE number, matching VAT number, address, IBAN.
func (c *console) putCompany(w http.ResponseWriter, r *http.Request) error {
	var co Company
	if err := httpx.DecodeJSON(w, r, &co, 4<<10); err != nil {
		return err
	}
	co.Party = cleanParty(co.Party)
	co.IBAN = strings.ToUpper(strings.ReplaceAll(co.IBAN, " ", ""))
	if err := partyErr(invoice.CheckParty("", co.Party, true)); err != nil {
		return err
	}
	if !invoice.ValidIBAN(co.IBAN) {
		return httpx.FieldError("iban", "iban is not a valid IBAN")
	}
	if co.PaymentDays < 0 || co.PaymentDays > 120 {
		return httpx.FieldError("paymentDays", "paymentDays must be 0 to 120")
	}
	b, err := json.Marshal(co)
	if err != nil {
		return err
	}
	if err := c.Store.SetCompany(r.Context(), string(b)); err != nil {
		return err
	}
	return c.getCompany(w, r)
}

// cleanParty trims the fields and normalises the numbers as people type
// them ("BE 0403.170.701").
func cleanParty(p invoice.Party) invoice.Party {
	digits := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
	}
	p.Name, p.Street, p.Postcode, p.City = strings.TrimSpace(p.Name), strings.TrimSpace(p.Street), strings.TrimSpace(p.Postcode), strings.TrimSpace(p.City)
	p.Country, p.Email = strings.ToUpper(strings.TrimSpace(p.Country)), strings.TrimSpace(p.Email)
	p.CompanyID = digits(p.CompanyID)
	if v := strings.ToUpper(strings.NewReplacer(" ", "", ".", "").Replace(p.VATNumber)); v != "" {
		p.VATNumber = v
	}
	return p
}

func partyErr(err error) error {
	if fe, ok := errors.AsType[*invoice.FieldError](err); ok {
		return httpx.FieldError(fe.Field, "%s %s", fe.Field, fe.Err.Error())
	}
	return err
}

// buyer is the customer as its invoices name it.
func buyer(cu store.Customer, v store.Invoicing) invoice.Party {
	return invoice.Party{Name: cu.Name, Street: v.Street, Postcode: v.Postcode, City: v.City, Country: v.Country,
		VATNumber: cu.VATNumber, CompanyID: v.CompanyID, Email: v.Email}
}

func (c *console) getInvoicing(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := c.Store.CustomerInvoicing(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, struct {
		store.Invoicing
		Exemptions []string `json:"exemptions"`
	}{v, invoice.Exemptions})
	return nil
}

// putInvoicing saves a customer's invoicing details once they make a
// valid Peppol buyer with the customer's name and VAT number.
func (c *console) putInvoicing(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var v store.Invoicing
	if err := httpx.DecodeJSON(w, r, &v, 4<<10); err != nil {
		return err
	}
	v.CustomerID = id
	cu, err := c.Store.Customer(r.Context(), id)
	if err != nil {
		return err
	}
	p := cleanParty(buyer(cu, v))
	v.Street, v.Postcode, v.City, v.Country, v.CompanyID, v.Email = p.Street, p.Postcode, p.City, p.Country, p.CompanyID, p.Email
	if err := partyErr(invoice.CheckParty("", p, false)); err != nil {
		return err
	}
	v.ExemptionCode, v.ExemptionReason = strings.TrimSpace(v.ExemptionCode), strings.TrimSpace(v.ExemptionReason)
	switch {
	case v.ExemptionCode != "" && !slices.Contains(invoice.Exemptions, v.ExemptionCode):
		return httpx.FieldError("exemptionCode", "exemptionCode must be one of %s", strings.Join(invoice.Exemptions, ", "))
	case v.ExemptionCode != "" && v.ExemptionReason == "":
		return httpx.FieldError("exemptionReason", "exemptionReason is required with an exemption: the legal basis, in words")
	case v.ExemptionCode == "" && v.ExemptionReason != "":
		return httpx.FieldError("exemptionCode", "exemptionCode is required with an exemption reason")
	}
	if v.BuyerReference, err = text("buyerReference", v.BuyerReference, 100, true); err != nil {
		return err
	}
	if err := c.Store.SetCustomerInvoicing(r.Context(), v); err != nil {
		return err
	}
	return c.getInvoicing(w, r)
}

// exempted is the statement as an exempt customer is billed: no VAT.
func exempted(st billing.Statement, v store.Invoicing) billing.Statement {
	if v.ExemptionCode == "" {
		return st
	}
	st.Totals.VATPercent, st.Totals.VATCents, st.Totals.TotalCents = 0, 0, st.Totals.AmountCents
	return st
}

type approvalsJSON struct {
	Approvals []store.Approval `json:"approvals"`
	Invoices  []store.Invoice  `json:"invoices"`
}

func (c *console) listApprovals(w http.ResponseWriter, r *http.Request) error {
	id, err := queryID(r, "customer")
	if err == nil && id == 0 {
		err = httpx.FieldError("customer", "customer is required")
	}
	if err != nil {
		return err
	}
	return c.approvalsOf(w, r, id, http.StatusOK)
}

func (c *console) approvalsOf(w http.ResponseWriter, r *http.Request, customerID int64, status int) error {
	as, err := c.Store.Approvals(r.Context(), customerID)
	if err != nil {
		return err
	}
	invs, err := c.Store.Invoices(r.Context(), customerID)
	if err != nil {
		return err
	}
	for i := range as {
		as[i].Statement = nil // the list stays small; GET the statement page for the lines
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, status, approvalsJSON{Approvals: as, Invoices: invs})
	return nil
}

// approveStatement freezes the customer's statement of a month, as the
// statement page shows it now, for invoicing.
func (c *console) approveStatement(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Customer int64  `json:"customer"`
		Month    string `json:"month"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	if in.Customer <= 0 {
		return httpx.FieldError("customer", "customer is required")
	}
	cu, err := c.Store.Customer(r.Context(), in.Customer)
	if err != nil {
		return err
	}
	loc, err := c.deskLocation(r.Context())
	if err != nil {
		return err
	}
	month, err := time.ParseInLocation("2006-01", in.Month, loc)
	if err != nil {
		return httpx.FieldError("month", "month must be a month as YYYY-MM")
	}
	end := month.AddDate(0, 1, 0)
	if !c.Now().After(end) {
		return httpx.FieldError("month", "month must be over before its statement is approved")
	}
	st, err := c.customerStatement(r.Context(), cu, month, end)
	if err != nil {
		return err
	}
	body, err := json.Marshal(st)
	if err != nil {
		return err
	}
	a, err := c.Store.ApproveStatement(r.Context(), cu.ID, month.Format(time.DateOnly), end.AddDate(0, 0, -1).Format(time.DateOnly), body)
	if err != nil {
		return err
	}
	c.log.Info("statement approved", "user", login(r).User.ID, "customer", cu.ID, "month", in.Month, "approval", a.ID)
	return c.approvalsOf(w, r, cu.ID, http.StatusCreated)
}

// issueInvoice exports the invoice of an approved statement, or the
// credit note cancelling it.
func (c *console) issueInvoice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Kind string `json:"kind"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	kind := invoice.Kind(in.Kind)
	if kind != invoice.KindInvoice && kind != invoice.KindCreditNote {
		return httpx.FieldError("kind", "kind must be invoice or credit_note")
	}
	ctx := r.Context()
	a, err := c.Store.Approval(ctx, id)
	if err != nil {
		return err
	}
	co, err := c.company(ctx)
	if err != nil {
		return err
	}
	if err := invoice.CheckParty("company", co.Party, true); err != nil {
		return httpx.Errorf(http.StatusConflict, "company_incomplete", "set the desk's company details first: %v", err)
	}
	cu, err := c.Store.Customer(ctx, a.CustomerID)
	if err != nil {
		return err
	}
	v, err := c.Store.CustomerInvoicing(ctx, cu.ID)
	if err != nil {
		return err
	}
	if err := invoice.CheckParty("customer", buyer(cu, v), false); err != nil {
		return httpx.Errorf(http.StatusConflict, "customer_incomplete", "complete the customer's invoicing details first: %v", err)
	}
	var st billing.Statement
	if err := json.Unmarshal(a.Statement, &st); err != nil {
		return fmt.Errorf("console: approval %d: %w", a.ID, err)
	}
	loc, err := c.deskLocation(ctx)
	if err != nil {
		return err
	}
	today := c.Now().In(loc)
	tr := c.translator(i18n.Lang(cu.Lang))
	doc := invoice.Document{Kind: kind, IssueDate: today.Format(time.DateOnly), PeriodStart: a.PeriodStart, PeriodEnd: a.PeriodEnd,
		Seller: co.Party, IBAN: co.IBAN, Buyer: buyer(cu, v), BuyerReference: v.BuyerReference, Statement: st,
		Text: func(key string, params ...string) string { return tr(key, params...) }}
	if doc.BuyerReference == "" {
		doc.BuyerReference = fmt.Sprintf("%d", cu.ID)
	}
	if kind == invoice.KindInvoice {
		doc.DueDate = today.AddDate(0, 0, co.PaymentDays).Format(time.DateOnly)
	}
	if v.ExemptionCode != "" {
		doc.Exemption = &invoice.Exemption{Code: v.ExemptionCode, Reason: v.ExemptionReason}
	}
	inv, err := c.Store.IssueInvoice(ctx, a.ID, string(kind), doc.IssueDate, func(number string, credits *store.Invoice) (store.Issue, error) {
		doc.Number = number
		if credits != nil {
			doc.Corrects, doc.CorrectsDate = credits.Number, credits.IssueDate
		}
		x, err := invoice.Build(doc)
		vat := st.Totals.VATCents
		if doc.Exemption != nil {
			vat = 0
		}
		return store.Issue{XML: x, AmountCents: st.Totals.AmountCents, VATCents: vat, TotalCents: st.Totals.AmountCents + vat}, err
	})
	switch {
	case errors.Is(err, invoice.ErrNothing):
		return httpx.Errorf(http.StatusConflict, "nothing_to_invoice", "the statement bills nothing")
	case errors.Is(err, store.ErrConflict):
		return httpx.Errorf(http.StatusConflict, "conflict", "%s", strings.TrimPrefix(err.Error(), "store: "))
	case err != nil:
		return err
	}
	c.log.Info("invoice issued", "user", login(r).User.ID, "number", inv.Number, "kind", inv.Kind, "customer", cu.ID)
	httpx.JSON(w, http.StatusCreated, inv)
	return nil
}

// invoiceXML serves an exported document as it was stored.
func (c *console) invoiceXML(w http.ResponseWriter, r *http.Request) error {
	number := r.PathValue("number")
	if number == "" || strings.Trim(number, "0123456789") != "" {
		return httpx.Errorf(http.StatusNotFound, "not_found", "not found")
	}
	inv, err := c.Store.InvoiceByNumber(r.Context(), number)
	if err != nil {
		return err
	}
	return serveInvoiceXML(w, inv)
}

// serveInvoiceXML answers a stored document as a download, for the
// console and the portal alike.
func serveInvoiceXML(w http.ResponseWriter, inv store.Invoice) error {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.xml"`, inv.Kind, inv.Number))
	w.Header().Set("X-Content-SHA256", inv.SHA256)
	_, err := w.Write(inv.XML)
	return err
}
