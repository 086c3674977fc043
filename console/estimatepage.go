package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/meekijk/meekijk/internal/consent"
	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/store"
)

// The page the estimate mail links to: the customer reads the estimate in
// their language and approves it, without a login; the link's token is
// the key. No script: a checkbox the browser requires, and a form.

//go:embed estimate.html pagetop.html
var estimateFiles embed.FS

var estimateTemplate = customerPage(estimateFiles, "estimate.html", nil)

// customerPage parses a customer's page (the estimate approval, the
// portal's invoice view) with the shared head; its "t" and the functions
// named in funcs are placeholders each request replaces.
func customerPage(fsys embed.FS, name string, funcs template.FuncMap) *template.Template {
	fm := template.FuncMap{"t": func(string, ...string) string { return "" }}
	for k, f := range funcs {
		fm[k] = f
	}
	return template.Must(template.New(name).Funcs(fm).ParseFS(fsys, name, "pagetop.html"))
}

type estimateView struct {
	Title       string // its catalog key
	AcceptKey   string // the catalog key of the box to tick
	Found       bool
	Lang        string
	Langs       []string
	Path        string
	Ticket      store.Ticket
	Estimate    store.Estimate
	Text        string
	Version     string
	DateTimeFmt func(time.Time) string
}

// estimateText is the statement the customer approves, in lang.
func (c *console) estimateText(lang i18n.Lang, t store.Ticket, e store.Estimate) string {
	return c.translator(lang)("estimate.page.text", "ref", t.Reference, "minutes", strconv.FormatInt(e.Minutes, 10),
		"billed", strconv.FormatInt(e.BilledMinutes, 10), "amount", consent.Euros(lang, e.AmountCents),
		"vat", consent.Euros(lang, e.VATCents), "total", consent.Euros(lang, e.AmountCents+e.VATCents))
}

// estimateOf finds the link's estimate and its ticket; found is false for
// an unknown token.
func (c *console) estimateOf(ctx context.Context, token string) (e store.Estimate, t store.Ticket, found bool, err error) {
	e, err = c.Store.EstimateByToken(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return e, t, false, nil
	}
	if err != nil {
		return e, t, false, err
	}
	t, err = c.Store.Ticket(ctx, e.TicketID)
	return e, t, err == nil, err
}

func (c *console) estimatePage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	e, t, found, err := c.estimateOf(ctx, r.PathValue("token"))
	if err != nil {
		return err
	}
	if r.Method == http.MethodPost && found {
		if err := c.approveByLink(r, e, t); err != nil {
			return err
		}
		if e, _, _, err = c.estimateOf(ctx, r.PathValue("token")); err != nil {
			return err
		}
	}
	view := estimateView{Title: "estimate.page.title", AcceptKey: "estimate.page.accept", Found: found, Lang: "nl", Langs: []string{"nl", "fr", "en"},
		Path: r.URL.Path, Ticket: t, Estimate: e, Version: approvalVersion(e.Kind)}
	if e.Kind == store.OutOfContractKind {
		view.Title, view.AcceptKey = "approval.out_of_contract.title", "approval.out_of_contract.accept"
	}
	if found && t.ContactID != 0 {
		if ct, err := c.Store.Contact(ctx, t.ContactID); err == nil {
			view.Lang = ct.Lang
		}
	}
	if l := r.FormValue("lang"); helpdesk.OneOf(l, helpdesk.Languages) {
		view.Lang = l
	}
	loc, err := c.deskLocation(ctx)
	if err != nil {
		return err
	}
	view.DateTimeFmt = func(at time.Time) string { return at.In(loc).Format("02/01/2006 15:04") }
	lang := i18n.Lang(view.Lang)
	if found {
		view.Text = c.approvalText(lang, t, e)
		if a := answerOf(e); a != nil { // what was answered, not today's wording
			view.Text = a.Text
		}
	}
	tmpl, err := estimateTemplate.Clone()
	if err != nil {
		return err
	}
	tmpl.Funcs(template.FuncMap{"t": c.translator(lang)})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !found {
		w.WriteHeader(http.StatusNotFound)
	}
	return tmpl.Execute(w, view)
}

// approveByLink records the approval posted from the page: the text of
// the language and version the page showed, by the ticket's contact.
func (c *console) approveByLink(r *http.Request, e store.Estimate, t store.Ticket) error {
	// A form of another site must not approve for the customer. Browsers
	// say where a request comes from in Sec-Fetch-Site; under our
	// no-referrer policy a same-origin form's Origin is "null", so Origin
	// is checked only when it names a site.
	site := r.Header.Get("Sec-Fetch-Site")
	o := r.Header.Get("Origin")
	u, err := url.Parse(o)
	if (site != "" && site != "same-origin" && site != "none") || (o != "" && o != "null" && (err != nil || u.Host != r.Host)) {
		return httpx.Errorf(http.StatusForbidden, "bad_origin", "cross-site request refused")
	}
	if err := r.ParseForm(); err != nil {
		return httpx.FieldError("form", "the form cannot be read")
	}
	lang := r.PostForm.Get("lang")
	switch {
	case r.PostForm.Get("accept") != "yes":
		return httpx.FieldError("accept", "tick the box to approve")
	case !helpdesk.OneOf(lang, helpdesk.Languages):
		return httpx.FieldError("lang", "unknown language")
	case r.PostForm.Get("version") != approvalVersion(e.Kind):
		return httpx.Errorf(http.StatusConflict, "text_changed", "the text changed: reload the page")
	case e.Approval != nil || e.Refusal != nil:
		return nil // answered before: the page shows it
	}
	return c.answerEstimate(r, e, t, t.ContactID, lang, true)
}

// answerEstimate records a customer person's answer to the estimate's
// (or announced out-of-contract work's) text in lang, an approval when
// accept is set, else a refusal: the one path of the mailed link and of
// the portal, so the technician and the session's control see the same
// record either way. The mailed link's page only approves; a refusal
// comes from the portal.
func (c *console) answerEstimate(r *http.Request, e store.Estimate, t store.Ticket, contactID int64, lang string, accept bool) error {
	by := "contact:" + strconv.FormatInt(contactID, 10)
	ctx := store.WithActor(r.Context(), store.Actor{Name: by, IP: httpx.ClientIP(r)})
	_, err := c.Store.AnswerEstimate(ctx, e.ID, by, c.approvalText(i18n.Lang(lang), t, e), lang, approvalVersion(e.Kind), accept)
	return err
}

// answerOf is the customer's answer to an estimate, approval or refusal;
// nil while it is open.
func answerOf(e store.Estimate) *store.Approved {
	if e.Approval != nil {
		return e.Approval
	}
	return e.Refusal
}
