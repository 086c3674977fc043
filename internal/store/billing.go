package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
)

// Session events of estimates and of billable work announced again
// (docs/billing.md, "Estimates and overruns").
const (
	// estimate_overrun {"level", "estimateMinutes", "billableMinutes",
	// "limitMinutes", "amountCents", "deadlineSeconds"}: billable time
	// passed the approved estimate by its margin; the customer is asked
	// whether the work may go on.
	EventEstimateOverrun = "estimate_overrun"
	// estimate_continued {"level", "estimateMinutes", "limitMinutes",
	// "text", "lang", "textSha256"}: the customer let the work go on up
	// to the next limit.
	EventEstimateContinued = "estimate_continued"
	// category_changed {"categoryId", "from", "code"}: the technician set
	// the ticket's work category during the session (the ticket's own
	// history has it too).
	EventCategoryChanged = "category_changed"
)

// settingBilling holds the desk's billing rules an admin changed, as the
// JSON of billing.Settings; rules left out keep their default.
const settingBilling = "billing"

// BillingSettings returns the desk's billing rules: billing.Defaults with
// what is saved under the "billing" setting, the rules each change
// replaced (EarlierRules, from the setting's history), the desk's default
// rates, and the time zone tz (the support calendar's, so a session's date
// is the same day everywhere in the product).
func (s *Store) BillingSettings(ctx context.Context, tz string) (billing.Settings, error) {
	set := billing.Defaults()
	raw, ok, err := s.Setting(ctx, settingBilling)
	if err != nil {
		return set, err
	}
	if ok {
		if err := json.Unmarshal([]byte(raw), &set); err != nil {
			return set, fmt.Errorf("store: billing setting: %w", err)
		}
	}
	if set.EarlierRules, err = s.earlierBillingRules(ctx); err != nil {
		return set, err
	}
	if set.Location, err = time.LoadLocation(tz); err != nil || tz == "" {
		return set, fmt.Errorf("store: billing time zone %q: %w", tz, err)
	}
	set.TimeZone = tz
	rates, err := s.DefaultRates(ctx)
	if err != nil {
		return set, err
	}
	set.DefaultRates = []billing.Rate{}
	for _, r := range rates {
		set.DefaultRates = append(set.DefaultRates, billing.Rate{CentsPerHour: r.CentsPerHour, EffectiveFrom: r.EffectiveFrom})
	}
	return set, nil
}

// earlierBillingRules turns the billing setting's history into the rules
// each change replaced, in force until that change: the defaults before
// the first.
func (s *Store) earlierBillingRules(ctx context.Context) ([]billing.EarlierRules, error) {
	changes, err := s.settingChanges(ctx, math.MaxInt64, settingBilling)
	if err != nil {
		return nil, err
	}
	out := make([]billing.EarlierRules, 0, len(changes))
	before := RulesOf(billing.Defaults())
	for i := len(changes) - 1; i >= 0; i-- { // oldest first
		out = append(out, billing.EarlierRules{Until: changes[i].At, MergeTicketDay: before.MergeTicketDay,
			IncrementMinutes: before.IncrementMinutes, MinimumMinutes: before.MinimumMinutes,
			OutOfHoursSurchargePercent: before.OutOfHoursSurchargePercent})
		next := RulesOf(billing.Defaults())
		if err := json.Unmarshal([]byte(changes[i].Value), &next); err != nil {
			return nil, fmt.Errorf("store: billing rules saved at %v: %w", changes[i].At, err)
		}
		before = next
	}
	return out, nil
}

// BillingFilter selects the sessions to bill; zero fields select all.
type BillingFilter struct {
	// From and To bound the period: a session belongs to it when its
	// worked time begins in [From, To), the moment that dates it on a
	// statement. With a period, sessions without worked time are left out.
	From, To   time.Time
	CustomerID int64
	TicketID   int64
	SessionID  int64
}

// sessionLead is how long before its first worked moment a session may
// have been created: codes live minutes and a customer decides within the
// hour. It bounds the sessions read for a period, which are then kept or
// left by the date of their worked time.
const sessionLead = 48 * time.Hour

// BillingSession is one session with what its bill and its receipt are
// made of.
type BillingSession struct {
	Session Session
	Ticket  Ticket // as it stands now
	Events  []Event
	// Segments are the worked time (billing.Timeline), up to now for a
	// live session.
	Segments []billing.Segment
	// Live: the session still runs (joined or live).
	Live bool
	// End is where its worked time stops: now when live, else its last
	// event.
	End time.Time
	// Part is the index in CustomerBilling.Parts of the Input that bills it.
	Part int
}

// CustomerBilling is one customer's sessions and the parts of its
// statement: one billing.Input per set of facts (contract in force,
// reference person, category covered) and month, ready for
// billing.ComputeAll. Months are parts of their own so that no Input
// exceeds billing.MaxSessions over a long period; a ticket's day never
// spans two months, so merging is unaffected.
type CustomerBilling struct {
	Customer Customer // ID 0 for a ticket from before customers existed
	Sessions []BillingSession
	Parts    []billing.Input
}

// Billing gathers the sessions f selects with everything billing them
// takes, grouped by customer (by name). The contract, contact and category
// are those in force when the session's work stopped: the ticket's
// history undoes later changes, so a month already invoiced does not
// change when a ticket is recategorised afterwards. The Inputs have
// set as their settings.
func (s *Store) Billing(ctx context.Context, f BillingFilter, set billing.Settings, now time.Time) ([]CustomerBilling, error) {
	if set.Location == nil {
		return nil, errors.New("store: billing without a time zone: use BillingSettings")
	}
	sessions, err := s.billedSessions(ctx, f)
	if err != nil {
		return nil, err
	}
	g := gatherer{s: s, set: set, tickets: map[int64]Ticket{}, history: map[int64][]HistoryEntry{},
		customers: map[int64]int{}, contracts: map[int64][]Contract{}, covered: map[[2]int64]bool{},
		reference: map[int64]bool{}}
	for _, sess := range sessions {
		if err := g.add(ctx, f, sess, now); err != nil {
			return nil, fmt.Errorf("store: billing of session %d: %w", sess.ID, err)
		}
	}
	slices.SortStableFunc(g.out, func(a, b CustomerBilling) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Customer.Name), strings.ToLower(b.Customer.Name)),
			cmp.Compare(a.Customer.ID, b.Customer.ID))
	})
	return g.out, nil
}

func (s *Store) billedSessions(ctx context.Context, f BillingFilter) ([]Session, error) {
	clause, args := where(
		when(!f.From.IsZero(), "s.created_at >= ?", f.From.Add(-sessionLead).UnixMilli()),
		when(!f.To.IsZero(), "s.created_at < ?", f.To.UnixMilli()),
		when(f.CustomerID != 0, "t.customer_id = ?", f.CustomerID),
		when(f.TicketID != 0, "s.ticket_id = ?", f.TicketID),
		when(f.SessionID != 0, "s.id = ?", f.SessionID))
	rows, err := s.db.QueryContext(ctx, sessionSelect+clause+" ORDER BY s.id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: billed sessions: %w", err)
	}
	return collect(rows, scanSession)
}

// gatherer reads each ticket, customer, contract and coverage once however
// many sessions share it.
type gatherer struct {
	s         *Store
	set       billing.Settings
	out       []CustomerBilling
	customers map[int64]int     // customer id -> index in out
	parts     []map[partKey]int // per customer in out: its parts by key
	tickets   map[int64]Ticket
	history   map[int64][]HistoryEntry
	contracts map[int64][]Contract // by customer, newest first
	covered   map[[2]int64]bool    // contract, category
	reference map[int64]bool       // by contact
}

// partKey is what makes two sessions billable in one Input.
type partKey struct {
	contract        int64
	referencePerson bool
	categoryCovered bool
	month           string
}

func (g *gatherer) add(ctx context.Context, f BillingFilter, sess Session, now time.Time) error {
	events, err := g.s.Events(ctx, sess.ID)
	if err != nil {
		return err
	}
	b := BillingSession{Session: sess, Events: events, Live: sess.Status == StatusJoined || sess.Status == StatusLive, End: now}
	if !b.Live && len(events) > 0 {
		b.End = events[len(events)-1].At
	}
	evs := make([]billing.Event, 0, len(events))
	for _, e := range events {
		evs = append(evs, billing.Event{At: e.At, Kind: e.Kind, Detail: e.Detail})
	}
	b.Segments = billing.Timeline(evs, billing.Technician{ID: sess.TechnicianID, Name: sess.TechnicianName}, b.End)
	// The session's date, as Compute dates it; a session without worked
	// time is dated by where it stopped.
	dated := b.End
	if len(b.Segments) > 0 {
		dated = b.Segments[0].Start
	}
	if (!f.From.IsZero() || !f.To.IsZero()) &&
		(len(b.Segments) == 0 || dated.Before(f.From) || (!f.To.IsZero() && !dated.Before(f.To))) {
		return nil
	}
	day := dated.In(g.set.Location).Format(time.DateOnly)

	if b.Ticket, err = g.ticket(ctx, sess.TicketID); err != nil {
		return err
	}
	category, contact, err := g.factsAt(ctx, b.Ticket, b.End)
	if err != nil {
		return err
	}
	cb, parts, err := g.customer(ctx, b.Ticket)
	if err != nil {
		return err
	}
	in := billing.Input{Customer: cb.Customer.Name, Settings: g.set}
	key := partKey{month: day[:7]}
	if key.referencePerson, err = g.referencePerson(ctx, contact); err != nil {
		return err
	}
	in.ReferencePerson = key.referencePerson
	contract, ok, err := g.contractOn(ctx, cb.Customer.ID, day)
	if err != nil {
		return err
	}
	if ok {
		key.contract = contract.ID
		if key.categoryCovered, err = g.categoryCovered(ctx, contract.ID, category); err != nil {
			return err
		}
		in.Contract, in.CategoryCovered = billingContract(contract), key.categoryCovered
		if b.Segments, err = g.splitByCategory(ctx, b.Ticket, contract.ID, b.Segments); err != nil {
			return err
		}
	}

	part, ok := parts[key]
	if !ok {
		part = len(cb.Parts)
		parts[key] = part
		cb.Parts = append(cb.Parts, in)
	}
	cb.Parts[part].Sessions = append(cb.Parts[part].Sessions, billing.Session{ID: sess.ID, TicketID: sess.TicketID,
		TicketRef: sess.TicketRef, OutsideHours: sess.OutsideHours, Segments: b.Segments})
	b.Part = part
	cb.Sessions = append(cb.Sessions, b)
	return nil
}

func (g *gatherer) ticket(ctx context.Context, id int64) (Ticket, error) {
	if t, ok := g.tickets[id]; ok {
		return t, nil
	}
	t, err := g.s.Ticket(ctx, id)
	if err != nil {
		return Ticket{}, err
	}
	g.tickets[id] = t
	return t, nil
}

// factsAt returns the ticket's category and contact as they stood at `at`:
// the ticket now, with every change recorded after `at` undone.
func (g *gatherer) factsAt(ctx context.Context, t Ticket, at time.Time) (category, contact int64, err error) {
	h, ok := g.history[t.ID]
	if !ok {
		if h, err = g.s.TicketHistory(ctx, t.ID); err != nil {
			return 0, 0, err
		}
		g.history[t.ID] = h
	}
	category, contact = t.CategoryID, t.ContactID
	for i := len(h) - 1; i >= 0 && h[i].At.After(at); i-- {
		old, _ := strconv.ParseInt(h[i].OldValue, 10, 64) // "" or "0": none
		switch h[i].Field {
		case "categoryId":
			category = old
		case "contactId":
			contact = old
		}
	}
	return category, contact, nil
}

// splitByCategory cuts segments where the ticket's work category changed
// and marks each piece with whether its category was covered then. A
// session is billed by the category at its end, except for the time before
// a change: the customer was told the work is billable from the change on,
// never an unforeseen bill for what came before.
func (g *gatherer) splitByCategory(ctx context.Context, t Ticket, contract int64, segs []billing.Segment) ([]billing.Segment, error) {
	var cuts []time.Time
	for _, h := range g.history[t.ID] { // loaded by factsAt
		if h.Field == "categoryId" {
			cuts = append(cuts, h.At)
		}
	}
	if len(cuts) == 0 || len(segs) == 0 || !cuts[len(cuts)-1].After(segs[0].Start) {
		return segs, nil
	}
	var out []billing.Segment
	for _, seg := range segs {
		for _, c := range cuts {
			if c.After(seg.Start) && c.Before(seg.End) {
				piece := seg
				piece.End = c
				out = append(out, piece)
				seg.Start = c
			}
		}
		out = append(out, seg)
	}
	for i := range out {
		category, _, err := g.factsAt(ctx, t, out[i].Start)
		if err != nil {
			return nil, err
		}
		covered, err := g.categoryCovered(ctx, contract, category)
		if err != nil {
			return nil, err
		}
		out[i].CategoryCovered = &covered
	}
	return out, nil
}

// customer returns the customer's entry in the result, adding it at the
// first of its sessions.
func (g *gatherer) customer(ctx context.Context, t Ticket) (*CustomerBilling, map[partKey]int, error) {
	if i, ok := g.customers[t.CustomerID]; ok {
		return &g.out[i], g.parts[i], nil
	}
	cu := Customer{Name: t.CustomerName}
	if t.CustomerID != 0 {
		var err error
		if cu, err = g.s.Customer(ctx, t.CustomerID); err != nil {
			return nil, nil, err
		}
	}
	g.customers[t.CustomerID] = len(g.out)
	g.out = append(g.out, CustomerBilling{Customer: cu})
	g.parts = append(g.parts, map[partKey]int{})
	return &g.out[len(g.out)-1], g.parts[len(g.parts)-1], nil
}

func (g *gatherer) referencePerson(ctx context.Context, contact int64) (bool, error) {
	if contact == 0 {
		return false, nil
	}
	ref, ok := g.reference[contact]
	if !ok {
		c, err := g.s.Contact(ctx, contact)
		if err != nil {
			return false, err
		}
		ref = c.ReferenceRole != ""
		g.reference[contact] = ref
	}
	return ref, nil
}

// contractOn is ContractOn over contracts read once per customer.
func (g *gatherer) contractOn(ctx context.Context, customer int64, day string) (Contract, bool, error) {
	if customer == 0 {
		return Contract{}, false, nil
	}
	cs, ok := g.contracts[customer]
	if !ok {
		var err error
		if cs, err = g.s.Contracts(ctx, customer); err != nil {
			return Contract{}, false, err
		}
		g.contracts[customer] = cs
	}
	for _, c := range cs {
		if c.InForce(day) {
			return c, true, nil
		}
	}
	return Contract{}, false, nil
}

func (g *gatherer) categoryCovered(ctx context.Context, contract, category int64) (bool, error) {
	if category == 0 {
		return false, nil // no category: nothing says the contract covers it
	}
	k := [2]int64{contract, category}
	covered, ok := g.covered[k]
	if !ok {
		var err error
		if covered, err = g.s.CategoryCovered(ctx, contract, category); err != nil {
			return false, err
		}
		g.covered[k] = covered
	}
	return covered, nil
}

func billingContract(c Contract) *billing.Contract {
	out := &billing.Contract{StartsOn: c.StartsOn, EndsOn: c.EndsOn, Statuses: []billing.StatusChange{}, Rates: []billing.Rate{}}
	for _, st := range c.Statuses {
		out.Statuses = append(out.Statuses, billing.StatusChange{Status: st.Status, EffectiveOn: st.EffectiveOn})
	}
	for _, r := range c.Rates {
		out.Rates = append(out.Rates, billing.Rate{CentsPerHour: r.CentsPerHour, EffectiveFrom: r.EffectiveFrom})
	}
	return out
}
