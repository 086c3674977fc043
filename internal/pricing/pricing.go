// Package pricing prices a desk's work as its statements bill it: the
// console's billing pages and the relay's cost notices and estimate
// watches share it, so the customer is told what they will be billed.
package pricing

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/calendar"
	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
)

// SettingCalendar is the setting holding the desk's calendar, as JSON.
const SettingCalendar = "calendar"

// LoadCalendar returns the desk's support calendar: the admin's, or the
// default (Mon-Fri 09:00-12:00 and 13:30-18:00, Belgian holidays, closed
// 24 Dec to 1 Jan, Europe/Brussels) until an admin saves one.
func LoadCalendar(ctx context.Context, st *store.Store) (calendar.Calendar, error) {
	cal, _, err := LoadCalendarSaved(ctx, st)
	return cal, err
}

// LoadCalendarSaved is LoadCalendar also telling whether an admin saved the
// calendar (false: the default is in force).
func LoadCalendarSaved(ctx context.Context, st *store.Store) (cal calendar.Calendar, saved bool, err error) {
	raw, ok, err := st.Setting(ctx, SettingCalendar)
	if err != nil || !ok {
		return calendar.Default(), false, err
	}
	if err := json.Unmarshal([]byte(raw), &cal); err != nil {
		return calendar.Calendar{}, false, fmt.Errorf("pricing: stored calendar: %w", err)
	}
	return cal, true, nil
}

// Pricer prices with the desk's data in a store, by one clock.
type Pricer struct {
	store *store.Store
	now   func() time.Time
}

// New prices with the desk's data in st; now is the clock live sessions
// are billed to (nil: time.Now).
func New(st *store.Store, now func() time.Time) *Pricer {
	if now == nil {
		now = time.Now
	}
	return &Pricer{store: st, now: now}
}

// Billing gathers what f selects, with the desk's rules in its
// calendar's time zone, and the pricer's clock for live sessions.
func (p *Pricer) Billing(ctx context.Context, f store.BillingFilter) (billing.Settings, []store.CustomerBilling, error) {
	cal, err := LoadCalendar(ctx, p.store)
	if err != nil {
		return billing.Settings{}, nil, err
	}
	set, err := p.store.BillingSettings(ctx, cal.TimeZone)
	if err != nil {
		return set, nil, err
	}
	cbs, err := p.store.Billing(ctx, f, set, p.now())
	return set, cbs, err
}

// Statement bills one customer's parts. What the engine refuses (no
// hourly rate on a day with billable work) comes back as its
// *billing.FieldError.
func Statement(cb store.CustomerBilling, set billing.Settings) (billing.Statement, error) {
	return billing.ComputeAll(cb.Customer.Name, set, cb.Parts)
}

// Verdict bills a moment of work at level at the session's end (now, when
// live) with the facts of its part: coverage decided by the engine itself.
// A customer without any billing part has nothing to go on: billable, for
// no reason the engine can name.
func Verdict(cb store.CustomerBilling, b store.BillingSession, set billing.Settings, level billing.Level) (billing.Line, error) {
	if len(cb.Parts) == 0 {
		return billing.Line{Reasons: []helpdesk.Reason{}}, nil
	}
	in := cb.Parts[b.Part]
	tech := billing.Technician{ID: b.Session.TechnicianID, Name: b.Session.TechnicianName}
	in.Sessions = []billing.Session{{ID: b.Session.ID, TicketID: b.Session.TicketID, OutsideHours: b.Session.OutsideHours,
		Segments: []billing.Segment{{Start: b.End, End: b.End, Level: level, Technician: tech}}}}
	st, err := Statement(store.CustomerBilling{Customer: cb.Customer, Parts: []billing.Input{in}}, set)
	if err != nil || len(st.Lines) == 0 {
		return billing.Line{Reasons: []helpdesk.Reason{}}, err
	}
	return st.Lines[0], nil
}

// CostNotice returns the notice for work at level on the session, or nil
// when it is covered, so the customer can be shown it before the work
// starts. An error means it cannot be priced (no hourly rate for the day,
// say): the work must not start unannounced.
func (p *Pricer) CostNotice(ctx context.Context, sessionID int64, level protocol.Level) (*protocol.CostNotice, error) {
	sess, err := p.store.Session(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	set, cbs, err := p.Billing(ctx, store.BillingFilter{TicketID: sess.TicketID})
	if err != nil {
		return nil, err
	}
	for _, cb := range cbs {
		i := slices.IndexFunc(cb.Sessions, func(b store.BillingSession) bool { return b.Session.ID == sessionID })
		if i < 0 {
			continue
		}
		line, err := Verdict(cb, cb.Sessions[i], set, level)
		if err != nil {
			return nil, err
		}
		if line.Covered {
			return nil, nil
		}
		n := &protocol.CostNotice{CentsPerHour: line.CentsPerHour, IncrementMinutes: set.IncrementMinutes,
			MinimumMinutes: set.MinimumMinutes, SurchargePercent: line.SurchargePercent, VATPercent: set.VATPercent,
			Reasons: []string{}}
		for _, r := range line.Reasons {
			n.Reasons = append(n.Reasons, string(r))
		}
		if n.CentsPerHour == 0 {
			return nil, fmt.Errorf("pricing: session %d: billable work without an hourly rate", sessionID)
		}
		if n.Prepaid, err = p.prepaidNotice(ctx, cb.Customer.ID); err != nil { // prepaid.go
			return nil, err
		}
		n.ApprovedEstimate, err = p.approvedEstimate(ctx, sess.TicketID)
		return n, err
	}
	return nil, fmt.Errorf("pricing: session %d: nothing to price it by", sessionID)
}

// BillableTime is the session's billable time so far by the pricer's
// clock, as its statement would bill it: what the hub watches an approved
// estimate against. It is the session's own time, merged or not.
func (p *Pricer) BillableTime(ctx context.Context, sessionID int64) (time.Duration, error) {
	sess, err := p.store.Session(ctx, sessionID)
	if err != nil {
		return 0, err
	}
	set, cbs, err := p.Billing(ctx, store.BillingFilter{SessionID: sess.ID})
	if err != nil || len(cbs) == 0 || len(cbs[0].Sessions) == 0 {
		return 0, err
	}
	st, err := Statement(cbs[0], set)
	if err != nil {
		return 0, err
	}
	return time.Duration(st.Totals.BillableSeconds) * time.Second, nil
}

// approvedEstimate is the ticket's latest estimate (or announced
// out-of-contract work) the customer approved before the session, in the
// portal or through the mailed link; nil when there is none. The hub lets
// it stand for the in-session question, so the customer is not asked twice.
func (p *Pricer) approvedEstimate(ctx context.Context, ticketID int64) (*protocol.PriorApproval, error) {
	es, err := p.store.Estimates(ctx, ticketID)
	if err != nil {
		return nil, err
	}
	var last *protocol.PriorApproval
	for _, e := range es {
		if a := e.Approval; a != nil && (last == nil || !a.At.Before(last.At)) {
			last = &protocol.PriorApproval{EstimateID: e.ID, Minutes: int(e.Minutes), At: a.At, By: a.By, TextSHA256: a.TextSHA256}
		}
	}
	return last, nil
}
