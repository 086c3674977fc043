package console

import (
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
	"time"

	"github.com/meekijk/meekijk/internal/consent"
	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/invoice"
	"github.com/meekijk/meekijk/internal/store"
)

// The company's invoices and statements in the portal: a list, each
// invoice's Peppol XML as stored, and a readable HTML view of it, read
// back from that same XML (invoice.ReadDocument), so the view never says
// anything the document does not. No PDF.

//go:embed invoiceview.html pagetop.html
var invoiceViewFiles embed.FS

var invoiceViewTemplate = customerPage(invoiceViewFiles, "invoiceview.html", template.FuncMap{"euros": func(int64) string { return "" }})

type portalInvoiceJSON struct {
	store.Invoice
	XMLPath  string `json:"xmlPath"`
	ViewPath string `json:"viewPath"`
}

type portalStatementJSON struct {
	ID          int64     `json:"id"`
	PeriodStart string    `json:"periodStart"`
	PeriodEnd   string    `json:"periodEnd"`
	ApprovedAt  time.Time `json:"approvedAt"`
	Withdrawn   bool      `json:"withdrawn"`
	// Invoice and CreditNote are the numbers issued from it, "" for none.
	Invoice     string `json:"invoice"`
	CreditNote  string `json:"creditNote"`
	AmountCents int64  `json:"amountCents"`
	VATCents    int64  `json:"vatCents"`
	TotalCents  int64  `json:"totalCents"`
}

// portalInvoices lists the company's invoices and credit notes, and the
// monthly statements the desk approved for invoicing.
func (c *console) portalInvoices(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	ctx := r.Context()
	invs, err := c.Store.Invoices(ctx, who.CustomerID)
	if err != nil {
		return err
	}
	aps, err := c.Store.Approvals(ctx, who.CustomerID)
	if err != nil {
		return err
	}
	out := struct {
		Invoices   []portalInvoiceJSON   `json:"invoices"`
		Statements []portalStatementJSON `json:"statements"`
	}{[]portalInvoiceJSON{}, []portalStatementJSON{}}
	for _, inv := range invs {
		p := "/portaal/api/invoices/" + inv.Number
		out.Invoices = append(out.Invoices, portalInvoiceJSON{Invoice: inv, XMLPath: p, ViewPath: p + "/view"})
	}
	for _, a := range aps {
		var st struct {
			Totals struct{ AmountCents, VATCents, TotalCents int64 } `json:"totals"`
		}
		if err := json.Unmarshal(a.Statement, &st); err != nil {
			return err
		}
		out.Statements = append(out.Statements, portalStatementJSON{ID: a.ID, PeriodStart: a.PeriodStart, PeriodEnd: a.PeriodEnd,
			ApprovedAt: a.ApprovedAt, Withdrawn: a.Withdrawn, Invoice: a.Invoice, CreditNote: a.CreditNote,
			AmountCents: st.Totals.AmountCents, VATCents: st.Totals.VATCents, TotalCents: st.Totals.TotalCents})
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// portalInvoiceFor returns one of the company's documents; another
// company's number is "not found", as an unknown one.
func (c *console) portalInvoiceFor(r *http.Request, who store.Contact) (store.Invoice, error) {
	inv, err := c.Store.InvoiceByNumber(r.Context(), r.PathValue("number"))
	if err != nil || inv.CustomerID != who.CustomerID {
		return store.Invoice{}, httpx.Errorf(http.StatusNotFound, "not_found", "not found")
	}
	return inv, nil
}

// portalInvoiceXML serves one of the company's documents as stored.
func (c *console) portalInvoiceXML(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	inv, err := c.portalInvoiceFor(r, who)
	if err != nil {
		return err
	}
	return serveInvoiceXML(w, inv)
}

// portalInvoiceView shows one of the company's documents as a page, in
// the person's language (or the one ?lang= asks for).
func (c *console) portalInvoiceView(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	inv, err := c.portalInvoiceFor(r, who)
	if err != nil {
		return err
	}
	doc, err := invoice.ReadDocument(inv.XML)
	if err != nil {
		return err
	}
	lang := who.Lang
	if l := r.URL.Query().Get("lang"); helpdesk.OneOf(l, helpdesk.Languages) {
		lang = l
	}
	title := "invoice.view.title"
	if doc.Kind == invoice.KindCreditNote {
		title = "invoice.view.title_credit"
	}
	view := struct {
		Title, Lang, Path string
		Found             bool
		Langs             []string
		Doc               invoice.Read
	}{title, lang, r.URL.Path, true, helpdesk.Languages, doc}
	tmpl, err := invoiceViewTemplate.Clone()
	if err != nil {
		return err
	}
	l := i18n.Lang(lang)
	tmpl.Funcs(template.FuncMap{"t": c.translator(l), "euros": func(cents int64) string { return consent.Euros(l, cents) }})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	return tmpl.Execute(w, view)
}
