package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/meekijk/meekijk/internal/codeguard"
	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/sessioncode"
	"github.com/meekijk/meekijk/internal/store"
)

type ticketJSON struct {
	ID                int64      `json:"id"`
	Reference         string     `json:"reference"`
	Title             string     `json:"title"`
	CustomerID        int64      `json:"customerId"`
	CustomerName      string     `json:"customerName"`
	ContactID         int64      `json:"contactId,omitempty"`
	ContactName       string     `json:"contactName,omitempty"`
	Kind              string     `json:"kind"`
	CategoryID        int64      `json:"categoryId"`
	CategoryCode      string     `json:"categoryCode"`
	RequestedPriority string     `json:"requestedPriority"`
	Priority          string     `json:"priority"`
	Impact            string     `json:"impact"`
	Status            string     `json:"status"`
	AppointmentAt     *time.Time `json:"appointmentAt"`
	AssignedTo        int64      `json:"assignedTo,omitempty"`
	AssigneeName      string     `json:"assigneeName,omitempty"`
	CreatedAt         time.Time  `json:"createdAt"`
	UpdatedAt         time.Time  `json:"updatedAt"`
}

func ticketOf(t store.Ticket) ticketJSON {
	out := ticketJSON{ID: t.ID, Reference: t.Reference, Title: t.Title, CustomerID: t.CustomerID, CustomerName: t.CustomerName,
		ContactID: t.ContactID, ContactName: t.ContactName, Kind: t.Kind, CategoryID: t.CategoryID, CategoryCode: t.CategoryCode,
		RequestedPriority: t.RequestedPriority, Priority: t.Priority, Impact: t.Impact, Status: t.Status,
		AssignedTo: t.AssignedTo, AssigneeName: t.AssigneeName, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if !t.AppointmentAt.IsZero() {
		at := t.AppointmentAt
		out.AppointmentAt = &at
	}
	return out
}

func (c *console) listTickets(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.TicketFilter{Query: q.Get("q"), Status: q.Get("status"), Kind: q.Get("kind")}
	var err error
	if f.CustomerID, err = queryID(r, "customerId"); err == nil {
		f.AssignedTo, err = queryID(r, "assignedTo")
	}
	if err == nil && f.Status != "" {
		err = oneOf("status", f.Status, helpdesk.Statuses)
	}
	if err == nil && f.Kind != "" {
		err = oneOf("kind", f.Kind, helpdesk.Kinds)
	}
	if err != nil {
		return err
	}
	ts, err := c.Store.Tickets(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]ticketJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, ticketOf(t))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

type ticketIn struct {
	Title             *string          `json:"title"`
	CustomerID        int64            `json:"customerId"`
	ContactID         *int64           `json:"contactId"`
	Kind              *string          `json:"kind"`
	CategoryID        *int64           `json:"categoryId"`
	RequestedPriority string           `json:"requestedPriority"`
	Priority          *string          `json:"priority"`
	Impact            *string          `json:"impact"`
	Status            *string          `json:"status"`
	AppointmentAt     *json.RawMessage `json:"appointmentAt"`
	AssignedTo        *int64           `json:"assignedTo"`
}

func strOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

func idOr(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// categoryByCode finds a catalogue category.
func (c *console) categoryByCode(ctx context.Context, code string) (int64, error) {
	cats, err := c.Store.Categories(ctx)
	if err != nil {
		return 0, err
	}
	for _, cat := range cats {
		if cat.Code == code {
			return cat.ID, nil
		}
	}
	return 0, errors.New("console: category " + code + " missing from the catalogue")
}

func (c *console) createTicket(w http.ResponseWriter, r *http.Request) error {
	var in ticketIn
	if err := httpx.DecodeJSON(w, r, &in, 16<<10); err != nil {
		return err
	}
	title, err := text("title", strOr(in.Title, ""), 200, false)
	kind := strOr(in.Kind, "question")
	nt := store.NewTicket{Title: title, CustomerID: in.CustomerID, ContactID: idOr(in.ContactID), Kind: kind,
		CategoryID: idOr(in.CategoryID), RequestedPriority: in.RequestedPriority, Priority: strOr(in.Priority, "normal"),
		Impact: strOr(in.Impact, "medium"), AssignedTo: idOr(in.AssignedTo)}
	err = firstErr(err,
		func() error {
			if in.CustomerID <= 0 {
				return httpx.FieldError("customerId", "customerId is required")
			}
			return nil
		}(),
		oneOf("kind", nt.Kind, helpdesk.Kinds),
		oneOf("requestedPriority", nt.RequestedPriority, append([]string{""}, helpdesk.Priorities...)),
		oneOf("priority", nt.Priority, helpdesk.Priorities),
		oneOf("impact", nt.Impact, helpdesk.Impacts))
	if err == nil && nt.CategoryID == 0 {
		nt.CategoryID, err = c.categoryByCode(r.Context(), helpdesk.DefaultCategory(kind))
	}
	if err != nil {
		return err
	}
	t, err := c.Store.CreateTicket(r.Context(), nt, login(r).User.ID)
	if err != nil {
		return err
	}
	c.log.Info("ticket created", "ticket", t.Reference, "user", login(r).User.ID)
	// The confirmation mail (mail.go): the ticket exists whatever becomes
	// of it, so a failure to queue is logged, not the request's failure.
	if err := c.mailTicketCreated(r.Context(), t); err != nil {
		c.log.Error("ticket confirmation mail not queued", "ticket", t.Reference, "err", err)
	}
	return c.respondTicket(w, r, http.StatusCreated, t)
}

// respondTicket answers with the ticket and everything its page shows.
func (c *console) respondTicket(w http.ResponseWriter, r *http.Request, status int, t store.Ticket) error {
	detail, err := c.ticketDetail(r.Context(), t)
	if err != nil {
		return err
	}
	httpx.JSON(w, status, detail)
	return nil
}

func (c *console) updateTicket(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in ticketIn
	if err := httpx.DecodeJSON(w, r, &in, 16<<10); err != nil {
		return err
	}
	if in.CustomerID != 0 || in.RequestedPriority != "" {
		return httpx.FieldError("customerId", "the customer and the priority they asked for are fixed at creation")
	}
	ch := store.TicketChanges{ContactID: in.ContactID, Kind: in.Kind, CategoryID: in.CategoryID, Priority: in.Priority,
		Impact: in.Impact, Status: in.Status, AssignedTo: in.AssignedTo}
	var errs []error
	if in.Title != nil {
		title, err := text("title", *in.Title, 200, false)
		ch.Title = &title
		errs = append(errs, err)
	}
	check := func(field string, v *string, allowed []string) {
		if v != nil {
			errs = append(errs, oneOf(field, *v, allowed))
		}
	}
	check("kind", in.Kind, helpdesk.Kinds)
	check("priority", in.Priority, helpdesk.Priorities)
	check("impact", in.Impact, helpdesk.Impacts)
	check("status", in.Status, helpdesk.Statuses)
	if in.AppointmentAt != nil {
		var at *time.Time
		if err := json.Unmarshal(*in.AppointmentAt, &at); err != nil {
			errs = append(errs, httpx.FieldError("appointmentAt", "appointmentAt must be an RFC 3339 time or null"))
		} else {
			if at == nil {
				at = &time.Time{}
			}
			ch.AppointmentAt = at
		}
	}
	if err := firstErr(errs...); err != nil {
		return err
	}
	t, err := c.Store.UpdateTicket(r.Context(), id, ch, login(r).User.ID)
	if err != nil {
		return err
	}
	return c.respondTicket(w, r, http.StatusOK, t)
}

type noteJSON struct {
	ID                int64     `json:"id"`
	Author            string    `json:"author"`
	VisibleToCustomer bool      `json:"visibleToCustomer"`
	Body              string    `json:"body"`
	CreatedAt         time.Time `json:"createdAt"`
}

type historyJSON struct {
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Field    string    `json:"field"`
	OldValue string    `json:"oldValue"`
	NewValue string    `json:"newValue"`
}

type ticketDetailJSON struct {
	ticketJSON
	StatusURL   string           `json:"statusUrl"`
	Entitlement helpdesk.Verdict `json:"entitlement"`
	// OpenNow: the desk is within support hours now. TakenUpAt is when
	// the desk takes the ticket up: now when open, else the next opening
	// moment (absent when the calendar never opens).
	OpenNow   bool          `json:"openNow"`
	TakenUpAt time.Time     `json:"takenUpAt,omitzero"`
	Sessions  []sessionJSON `json:"sessions"`
	Notes     []noteJSON    `json:"notes"`
	History   []historyJSON `json:"history"`
}

// ticketDetail is a ticket with everything its page shows.
func (c *console) ticketDetail(ctx context.Context, t store.Ticket) (ticketDetailJSON, error) {
	out := ticketDetailJSON{ticketJSON: ticketOf(t), StatusURL: statusPath(t),
		Sessions: []sessionJSON{}, Notes: []noteJSON{}, History: []historyJSON{}}
	cal, err := c.calendarOf(ctx)
	if err != nil {
		return out, err
	}
	now := c.Now()
	out.OpenNow = cal.IsOpen(now)
	if next, ok := cal.NextOpening(now); ok {
		out.TakenUpAt = next
	}
	out.Entitlement, err = c.entitlement(ctx, t, now, !out.OpenNow, cal.TimeZone)
	if err != nil {
		return out, err
	}
	sessions, err := c.Store.SessionsForTicket(ctx, t.ID)
	if err != nil {
		return out, err
	}
	for _, s := range sessions {
		out.Sessions = append(out.Sessions, c.sessionOf(s))
	}
	notes, err := c.Store.Notes(ctx, t.ID, false)
	if err != nil {
		return out, err
	}
	for _, n := range notes {
		out.Notes = append(out.Notes, noteJSON{ID: n.ID, Author: n.AuthorName, VisibleToCustomer: n.VisibleToCustomer, Body: n.Body, CreatedAt: n.CreatedAt})
	}
	history, err := c.Store.TicketHistory(ctx, t.ID)
	if err != nil {
		return out, err
	}
	for _, h := range history {
		out.History = append(out.History, historyJSON{At: h.At, Actor: h.ActorName, Field: h.Field, OldValue: h.OldValue, NewValue: h.NewValue})
	}
	return out, nil
}

// entitlement says whether work on the ticket at `at` is covered by the
// customer's contract, from the contract, contact and category as they
// stand (contract status and term as of that day, in the desk's time zone
// tz, which callers have from the calendar they already loaded).
func (c *console) entitlement(ctx context.Context, t store.Ticket, at time.Time, outsideHours bool, tz string) (helpdesk.Verdict, error) {
	day := localDate(tz, at)
	f := helpdesk.Facts{OutsideHours: outsideHours}
	if t.CustomerID != 0 {
		contract, ok, err := c.Store.ContractOn(ctx, t.CustomerID, day)
		if err != nil {
			return helpdesk.Verdict{}, err
		}
		if ok {
			f.ContractStatus = contract.StatusOn(day)
			if f.CategoryCovered, err = c.Store.CategoryCovered(ctx, contract.ID, t.CategoryID); err != nil {
				return helpdesk.Verdict{}, err
			}
		}
	}
	if t.ContactID != 0 {
		contact, err := c.Store.Contact(ctx, t.ContactID)
		if err != nil {
			return helpdesk.Verdict{}, err
		}
		f.ReferencePerson = contact.ReferenceRole != ""
	}
	return helpdesk.Entitlement(f), nil
}

// localDate is at's calendar date in the desk's time zone.
func localDate(tz string, at time.Time) string {
	if loc, err := time.LoadLocation(tz); err == nil {
		at = at.In(loc)
	}
	return at.Format(time.DateOnly)
}

func (c *console) ticket(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := c.Store.Ticket(r.Context(), id)
	if err != nil {
		return err
	}
	return c.respondTicket(w, r, http.StatusOK, t)
}

func (c *console) addNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Body              string `json:"body"`
		VisibleToCustomer bool   `json:"visibleToCustomer"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 32<<10); err != nil {
		return err
	}
	body, err := text("body", in.Body, 10000, false)
	if err != nil {
		return err
	}
	n, err := c.Store.AddNote(r.Context(), store.Note{TicketID: id, AuthorID: login(r).User.ID, VisibleToCustomer: in.VisibleToCustomer, Body: body})
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusCreated, noteJSON{ID: n.ID, Author: login(r).User.Name, VisibleToCustomer: n.VisibleToCustomer, Body: n.Body, CreatedAt: n.CreatedAt})
	return nil
}

type sessionJSON struct {
	ID            int64     `json:"id"`
	TicketID      int64     `json:"ticketId"`
	TicketRef     string    `json:"ticketRef"`
	TicketTitle   string    `json:"ticketTitle"`
	CustomerName  string    `json:"customerName"`
	Technician    string    `json:"technician"`
	Status        string    `json:"status"`
	CodeExpired   bool      `json:"codeExpired"`
	CreatedAt     time.Time `json:"createdAt"`
	CodeExpiresAt time.Time `json:"codeExpiresAt"`
	// CodeValidForMs is the code's remaining life by the relay's clock, so
	// pages need not trust their own.
	CodeValidForMs int64     `json:"codeValidForMs"`
	EndedAt        time.Time `json:"endedAt,omitzero"`
	EndedBy        string    `json:"endedBy,omitempty"`
	EndReason      string    `json:"endReason,omitempty"`
	OutsideHours   bool      `json:"outsideHours"`
	OverrideReason string    `json:"overrideReason,omitempty"`
}

func (c *console) sessionOf(s store.Session) sessionJSON {
	return sessionJSON{ID: s.ID, TicketID: s.TicketID, TicketRef: s.TicketRef, TicketTitle: s.TicketTitle,
		CustomerName: s.CustomerName, Technician: s.TechnicianName, Status: s.Status,
		CodeExpired: s.CodeExpired(c.Now()), CreatedAt: s.CreatedAt, CodeExpiresAt: s.CodeExpiresAt,
		CodeValidForMs: max(0, s.CodeExpiresAt.Sub(c.Now()).Milliseconds()),
		EndedAt:        s.EndedAt, EndedBy: s.EndedBy, EndReason: s.EndReason,
		OutsideHours: s.OutsideHours, OverrideReason: s.OverrideReason}
}

// startSession opens a remote session on a ticket and returns its code: the
// only time the code is ever shown, since the store keeps only its hash.
// Outside support hours it needs an override with a reason, which is
// recorded on the session.
func (c *console) startSession(w http.ResponseWriter, r *http.Request) error {
	ticketID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		OverrideReason string `json:"overrideReason"`
	}
	if r.ContentLength != 0 {
		if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
			return err
		}
	}
	reason, err := text("overrideReason", in.OverrideReason, 500, true)
	if err != nil {
		return err
	}
	cal, err := c.calendarOf(r.Context())
	if err != nil {
		return err
	}
	now := c.Now()
	outside := !cal.IsOpen(now)
	if outside && reason == "" {
		p := &httpx.Problem{Status: http.StatusConflict, Code: "outside_hours", Field: "overrideReason",
			Message: "outside support hours: give a reason to override"}
		if next, ok := cal.NextOpening(now); ok {
			p.Message += "; the desk opens at " + next.Format(time.RFC3339)
		}
		return p
	}
	if !outside {
		reason = ""
	}
	code, hash, err := c.freshCode(r.Context())
	if err != nil {
		return err
	}
	// One live code per ticket: the relay keeps only a code's hash, so a
	// technician who asks again has lost the old one, and two codes
	// waiting on one ticket leave the customer's way in ambiguous. Codes
	// still waiting end; a session with its customer in refuses.
	s, replaced, err := c.Store.CreateSessionReplacing(r.Context(), store.NewSession{TicketID: ticketID, TechnicianID: login(r).User.ID,
		CodeHash: hash, CodeExpires: now.Add(c.CodeTTL), OutsideHours: outside, OverrideReason: reason,
		MaxLiveCodes: codeguard.LiveCodesPerTechnician, MaxPerHour: c.SessionsPerHour},
		protocol.ByTechnician, protocol.ReasonCodeReplaced)
	if re := (*store.RunningError)(nil); errors.As(err, &re) {
		return &httpx.Problem{Status: http.StatusConflict, Code: "session_running",
			Message: fmt.Sprintf("session %d of this ticket is running: open it, or end it before asking for a new code", re.SessionID)}
	}
	if err != nil {
		return err
	}
	if c.Ended != nil {
		for _, id := range replaced {
			c.Ended(id, protocol.ByTechnician, protocol.ReasonCodeReplaced)
		}
	}
	c.log.Info("session created", "session", s.ID, "ticket", s.TicketRef, "user", login(r).User.ID, "outside_hours", outside, "replaced", replaced)
	httpx.JSON(w, http.StatusCreated, struct {
		Session  sessionJSON `json:"session"`
		Code     string      `json:"code"`
		Replaced []int64     `json:"replaced,omitempty"`
	}{c.sessionOf(s), sessioncode.Format(code), replaced})
	return nil
}

// freshCode draws a code no waiting session uses. With a billion codes and a
// handful live, the first draw almost always wins; the bound stops a broken
// random source from looping forever.
func (c *console) freshCode(ctx context.Context) (string, []byte, error) {
	for range 10 {
		code, err := sessioncode.New()
		if err != nil {
			return "", nil, err
		}
		hash := c.Codes.Hash(code)
		inUse, err := c.Store.CodeInUse(ctx, hash)
		if err != nil {
			return "", nil, err
		}
		if !inUse {
			return code, hash, nil
		}
	}
	return "", nil, errors.New("console: no free session code after 10 draws")
}

func (c *console) session(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	s, err := c.Store.Session(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, c.sessionOf(s))
	return nil
}

type eventJSON struct {
	At     time.Time       `json:"at"`
	Kind   string          `json:"kind"`
	Actor  string          `json:"actor"`
	Detail json.RawMessage `json:"detail"`
}

func (c *console) events(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := c.Store.Session(r.Context(), id); err != nil {
		return err
	}
	evs, err := c.Store.Events(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]eventJSON, 0, len(evs))
	for _, e := range evs {
		out = append(out, eventJSON{At: e.At, Kind: e.Kind, Actor: e.Actor, Detail: e.Detail})
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (c *console) socket(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c.Socket(w, r, login(r).User, id)
	return nil
}
