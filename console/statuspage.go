package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/safetext"
	"github.com/meekijk/meekijk/internal/store"
)

//go:embed statuspage.html pagetop.html
var statusTemplate embed.FS

// statusPages renders the customer's ticket status page, server-side: the
// customer needs no script and no login, only the link.
type statusPages struct {
	tmpl    *template.Template
	catalog i18n.Catalog
}

func newStatusPages() (*statusPages, error) {
	cat, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("statuspage.html").Funcs(template.FuncMap{
		// Replaced per request by the page's language.
		"t": func(string, ...string) string { return "" },
	}).ParseFS(statusTemplate, "statuspage.html", "pagetop.html")
	if err != nil {
		return nil, err
	}
	return &statusPages{tmpl: tmpl, catalog: cat}, nil
}

// statusPath is the link to send the customer.
func statusPath(t store.Ticket) string {
	return "/status/" + t.Reference + "/" + t.StatusSecret
}

// statusSession is one remote session as the customer sees it: its worked
// time and billing, and once it is over, its receipt.
type statusSession struct {
	ID      int64
	When    time.Time // its first worked moment, else when it was opened
	Seconds int64     // worked
	Minutes int64     // worked, rounded up
	Running bool
	// Billing is false when the session cannot be billed yet (the desk
	// lacks a rate): the page then leaves billing out rather than fail.
	Billing bool
	Covered bool
	Reasons string
	Receipt *receipt
}

// receipt is what the customer can check after a session: who worked,
// when, what they were allowed to do, what moved, what is billed and why.
type receipt struct {
	Technicians []string
	Start, End  time.Time
	Levels      []billing.LevelMinutes
	Consents    []consentGiven
	Files       []fileMoved
	// BilledMinutes of the intervention the session is billed in; Merged
	// when that holds other sessions of the ticket that day.
	BilledMinutes   int64
	BillableMinutes int64
	Merged          bool
	// Covered: the contract covered the intervention's time, which is why
	// nothing is billed; nothing billed and not covered means no billable
	// time was worked (a session of less than a second).
	Covered   bool
	Reasons   string // why the intervention is billable
	Increment int64
	Minimum   int64
}

type consentGiven struct {
	At    time.Time
	Level string
}

type fileMoved struct {
	Direction string // to_customer, from_customer
	Name      string
	Size      string
}

type statusView struct {
	Title       string // its catalog key
	Lang        string
	Langs       []string
	Path        string
	Found       bool
	Ticket      store.Ticket
	TakenUpAt   time.Time
	Notes       []store.Note
	Sessions    []statusSession
	DateTimeFmt func(time.Time) string
	// Prepaid is the customer's balance of prepaid hours, nil without
	// blocks (prepaid.go); PrepaidLeft and PrepaidExpired are its figures
	// as the page's language writes hours.
	Prepaid                     *billing.PrepaidSummary
	PrepaidLeft, PrepaidExpired string
}

// statusPage answers the same "not found" for a wrong reference and a wrong
// secret, so the page reveals nothing about which tickets exist.
func (c *console) statusPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	view := statusView{Title: "status.title", Lang: "nl", Langs: []string{"nl", "fr", "en"}, Path: r.URL.Path}
	t, err := c.Store.TicketByReference(ctx, r.PathValue("ref"))
	if err == nil && subtle.ConstantTimeCompare([]byte(t.StatusSecret), []byte(r.PathValue("secret"))) == 1 && t.StatusSecret != "" {
		view.Found, view.Ticket = true, t
		// The page is for the person the ticket is for: their language,
		// else their company's.
		if cu, err := c.Store.Customer(ctx, t.CustomerID); err == nil {
			view.Lang = cu.Lang
		}
		if cts, err := c.Store.Contacts(ctx, t.CustomerID); err == nil {
			if i := slices.IndexFunc(cts, func(ct store.Contact) bool { return ct.ID == t.ContactID }); i >= 0 {
				view.Lang = cts[i].Lang
			}
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if l := r.URL.Query().Get("lang"); helpdesk.OneOf(l, helpdesk.Languages) {
		view.Lang = l
	}
	cal, err := c.calendarOf(ctx)
	if err != nil {
		return err
	}
	loc, _ := time.LoadLocation(cal.TimeZone)
	view.DateTimeFmt = func(at time.Time) string {
		if loc != nil {
			at = at.In(loc)
		}
		return at.Format("02/01/2006 15:04")
	}
	if view.Found {
		if err := c.fillStatus(ctx, &view); err != nil {
			return err
		}
		if err := c.statusPrepaid(ctx, &view); err != nil { // prepaid.go
			return err
		}
		now := c.Now()
		if t.Status == "new" && !cal.IsOpen(now) {
			view.TakenUpAt, _ = cal.NextOpening(now)
		}
	}
	lang := i18n.Lang(view.Lang)
	tmpl, err := c.status.tmpl.Clone()
	if err != nil {
		return err
	}
	tmpl.Funcs(template.FuncMap{"t": func(key string, params ...string) string {
		return c.status.catalog.T(lang, key, params...)
	}})
	// Rendered whole, then cleaned by safetext as it leaves: text typed
	// before cleaning existed, or written into the database by other
	// means, reaches the customer without bidi or format characters too.
	// The page's own markup and catalogue hold none.
	var page strings.Builder
	if err := tmpl.Execute(&page, view); err != nil {
		return fmt.Errorf("render status page: %w", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !view.Found {
		w.WriteHeader(http.StatusNotFound)
	}
	_, _ = io.WriteString(w, safetext.Lines(page.String()))
	return nil
}

// fillStatus adds the notes the customer may see and the ticket's
// sessions.
func (c *console) fillStatus(ctx context.Context, v *statusView) error {
	notes, err := c.Store.Notes(ctx, v.Ticket.ID, true)
	if err != nil {
		return err
	}
	v.Notes = notes
	v.Sessions, err = c.ticketSessions(ctx, v.Ticket, i18n.Lang(v.Lang))
	return err
}

// ticketSessions lists a ticket's sessions, newest first, each with its
// worked time and billing as the desk's statement bills it, and the
// receipt of each session that is over, worded in lang: what the status
// page and the portal's ticket show.
func (c *console) ticketSessions(ctx context.Context, t store.Ticket, lang i18n.Lang) ([]statusSession, error) {
	set, cbs, err := c.billingOf(ctx, store.BillingFilter{TicketID: t.ID})
	if err != nil || len(cbs) == 0 {
		return nil, err
	}
	cb := cbs[0]
	st, err := statementOf(cb, set)
	billed := err == nil
	if !billed {
		c.log.Warn("sessions without billing", "ticket", t.Reference, "err", err)
	}
	tr := c.translator(lang)
	var out []statusSession
	// Newest first, as the desk lists them.
	for _, b := range slices.Backward(cb.Sessions) {
		ss := statusSession{ID: b.Session.ID, When: b.Session.CreatedAt, Running: b.Live, Billing: billed, Covered: true}
		for _, seg := range b.Segments {
			ss.Seconds += seg.Seconds()
		}
		// The same sum as the receipt's parts below it.
		_, ss.Minutes = billing.WorkedByLevel(b.Segments)
		if len(b.Segments) > 0 {
			ss.When = b.Segments[0].Start
		}
		var reasons []helpdesk.Reason
		for _, l := range st.Lines {
			if slices.Contains(l.SessionIDs, b.Session.ID) && !l.Covered {
				ss.Covered = false
				reasons = appendNew(reasons, l.Reasons...)
			}
		}
		ss.Reasons = reasonsText(tr, reasons, "; ")
		if !b.Live && len(b.Segments) > 0 {
			ss.Receipt = receiptOf(b, st, set, tr, lang != i18n.EN)
		}
		out = append(out, ss)
	}
	return out, nil
}

// receiptOf sums up a session that is over from its worked segments, its
// events and its intervention on the statement.
func receiptOf(b store.BillingSession, st billing.Statement, set billing.Settings, tr translate, comma bool) *receipt {
	rc := &receipt{Start: b.Segments[0].Start, End: b.Segments[len(b.Segments)-1].End,
		Increment: set.IncrementMinutes, Minimum: set.MinimumMinutes}
	for _, seg := range b.Segments {
		if !slices.Contains(rc.Technicians, seg.Technician.Name) {
			rc.Technicians = append(rc.Technicians, seg.Technician.Name)
		}
	}
	rc.Levels, _ = billing.WorkedByLevel(b.Segments)
	for _, e := range b.Events {
		var d struct {
			Level     string `json:"level"`
			Direction string `json:"direction"`
			Name      string `json:"name"`
			Size      int64  `json:"size"`
			Outcome   string `json:"outcome"`
		}
		_ = json.Unmarshal(e.Detail, &d) // a broken detail shows as nothing
		switch {
		case e.Kind == store.EventConsentGranted && slices.Contains(billing.Levels, billing.Level(d.Level)):
			rc.Consents = append(rc.Consents, consentGiven{At: e.At, Level: d.Level})
		case e.Kind == store.EventFile && d.Outcome == "done" && (d.Direction == "to_customer" || d.Direction == "from_customer"):
			rc.Files = append(rc.Files, fileMoved{Direction: d.Direction, Name: d.Name, Size: byteSize(d.Size, comma)})
		}
	}
	number := 0
	for _, iv := range st.Interventions {
		if slices.Contains(iv.SessionIDs, b.Session.ID) {
			number = iv.Number
			rc.BilledMinutes, rc.BillableMinutes, rc.Merged = iv.BilledMinutes, iv.BillableMinutes, len(iv.SessionIDs) > 1
			rc.Covered = iv.CoveredSeconds > 0 && iv.BillableSeconds == 0
		}
	}
	var reasons []helpdesk.Reason
	for _, l := range st.Lines {
		if l.Intervention == number && l.Kind == billing.KindWork && !l.Covered {
			reasons = appendNew(reasons, l.Reasons...)
		}
	}
	rc.Reasons = reasonsText(tr, reasons, "; ")
	return rc
}

// byteSize is a file size for reading: "820 B", "3,4 MB".
func byteSize(n int64, comma bool) string {
	v, unit := float64(n), "B"
	for _, u := range []string{"kB", "MB", "GB"} {
		if v < 1000 {
			break
		}
		v, unit = v/1000, u
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if unit == "B" {
		s = strconv.FormatInt(n, 10)
	}
	if comma {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " " + unit
}
