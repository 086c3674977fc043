package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/store"
)

//go:embed statuspage.html
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
	}).ParseFS(statusTemplate, "statuspage.html")
	if err != nil {
		return nil, err
	}
	return &statusPages{tmpl: tmpl, catalog: cat}, nil
}

// statusPath is the link to send the customer.
func statusPath(t store.Ticket) string {
	return "/status/" + t.Reference + "/" + t.StatusSecret
}

type statusSession struct {
	When     time.Time
	Minutes  int
	Covered  bool
	Reasons  string
	Status   string
	HadMedia bool
}

type statusView struct {
	Lang        string
	Langs       []string
	Path        string
	Found       bool
	Ticket      store.Ticket
	TakenUpAt   time.Time
	Notes       []store.Note
	Sessions    []statusSession
	DateTimeFmt func(time.Time) string
}

// statusPage answers the same "not found" for a wrong reference and a wrong
// secret, so the page reveals nothing about which tickets exist.
func (c *console) statusPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	view := statusView{Lang: "nl", Langs: []string{"nl", "fr", "en"}, Path: r.URL.Path}
	t, err := c.Store.TicketByReference(ctx, r.PathValue("ref"))
	if err == nil && subtle.ConstantTimeCompare([]byte(t.StatusSecret), []byte(r.PathValue("secret"))) == 1 && t.StatusSecret != "" {
		view.Found, view.Ticket = true, t
		if cu, err := c.Store.Customer(ctx, t.CustomerID); err == nil {
			view.Lang = cu.Lang
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
		if err := c.fillStatus(ctx, &view, cal.TimeZone); err != nil {
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
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !view.Found {
		w.WriteHeader(http.StatusNotFound)
	}
	if err := tmpl.Execute(w, view); err != nil {
		// Headers are sent: the page can only be cut short, and logged.
		c.log.Error("render status page", "err", err)
	}
	return nil
}

// fillStatus adds the notes the customer may see and each session with its
// worked minutes and whether it was covered by the contract.
func (c *console) fillStatus(ctx context.Context, v *statusView, tz string) error {
	notes, err := c.Store.Notes(ctx, v.Ticket.ID, true)
	if err != nil {
		return err
	}
	v.Notes = notes
	sessions, err := c.Store.SessionsForTicket(ctx, v.Ticket.ID)
	if err != nil {
		return err
	}
	lang := i18n.Lang(v.Lang)
	for _, s := range sessions {
		events, err := c.Store.Events(ctx, s.ID)
		if err != nil {
			return err
		}
		ss := statusSession{When: s.CreatedAt, Status: s.Status}
		for _, e := range events {
			if e.Kind == store.EventConsentGranted {
				ss.HadMedia = true
				end := s.EndedAt
				if end.IsZero() {
					end = c.Now()
				}
				ss.When = e.At
				ss.Minutes = int((end.Sub(e.At) + time.Minute - 1) / time.Minute)
			}
		}
		verdict, err := c.entitlement(ctx, v.Ticket, s.CreatedAt, s.OutsideHours, tz)
		if err != nil {
			return err
		}
		ss.Covered = verdict.Covered
		var reasons []string
		for _, r := range verdict.Reasons {
			reasons = append(reasons, c.status.catalog.T(lang, "reason."+string(r)))
		}
		ss.Reasons = strings.Join(reasons, "; ")
		v.Sessions = append(v.Sessions, ss)
	}
	return nil
}
