// Package billing turns the worked time of remote sessions into what the
// desk bills afterwards ("nacalculatie", shared/DOMAIN.md): per intervention,
// which time the customer's maintenance contract covered, which time is
// billable and why, how many minutes are billed after rounding up and the
// one-hour minimum, and what that costs at the hourly rate of the day.
//
// Compute is a pure function: no database, no clock, no I/O. The caller
// gathers the facts (Input) and gets a Statement back; Decode reads an Input
// from the JSON of a quote request (relay quote, POST /api/v1/quote). The
// rules are written out with worked examples in docs/billing.md.
//
// Coverage is decided by helpdesk.Entitlement, the same rule the console
// shows on a ticket, so a quote can never disagree with the ticket page.
package billing

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/protocol"
)

// Level is what the technician could do during a segment: the consent level
// the customer granted, the protocol's own type.
type Level = protocol.Level

// The levels, in the order a customer grants them. Only a data intervention
// is billable on its own (helpdesk.DataIntervention): it is never included
// in a maintenance contract.
const (
	LevelView             = protocol.LevelView
	LevelControl          = protocol.LevelControl
	LevelDataIntervention = protocol.LevelDataIntervention
)

// Levels lists the valid levels.
var Levels = []Level{LevelView, LevelControl, LevelDataIntervention}

// Technician is who worked during a segment.
type Technician struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Segment is one stretch of uninterrupted work at one level by one
// technician, with start and end from the relay's clock. A hand-over or a
// level change starts a new segment; time while the customer paused sharing
// or the agent was disconnected lies in no segment, so it is never billed.
type Segment struct {
	Start      time.Time  `json:"start"`
	End        time.Time  `json:"end"`
	Level      Level      `json:"level"`
	Technician Technician `json:"technician"`
	// CategoryCovered, when set, overrides Input.CategoryCovered for this
	// segment: the ticket's work category changed during the session, and
	// the customer was told the work is billable from the change on.
	CategoryCovered *bool `json:"categoryCovered,omitempty"`
}

// Seconds is the segment's duration in whole seconds. Fractions are dropped
// per segment: the relay's clock has milliseconds, a bill does not.
func (s Segment) Seconds() int64 { return int64(s.End.Sub(s.Start) / time.Second) }

// Session is one remote session of a ticket with its worked segments.
type Session struct {
	ID        int64  `json:"id"`
	TicketID  int64  `json:"ticketId,omitempty"`
	TicketRef string `json:"ticketRef,omitempty"`
	// OutsideHours: the session ran outside support hours by override;
	// all its time is billable and carries the out-of-hours surcharge.
	OutsideHours bool      `json:"outsideHours"`
	Segments     []Segment `json:"segments"`
}

// StatusChange is a contract status in force from a date (YYYY-MM-DD in the
// desk's time zone), as in store.StatusChange.
type StatusChange struct {
	Status      string `json:"status"`
	EffectiveOn string `json:"effectiveOn"`
}

// Rate is an hourly rate in euro cents, exclusive of VAT, in force from a
// date, as in store.Rate.
type Rate struct {
	CentsPerHour  int64  `json:"centsPerHour"`
	EffectiveFrom string `json:"effectiveFrom"`
}

// Contract is the customer's maintenance contract with its status and rate
// history; the JSON matches the contract of GET /api/v1/customers/{id}
// (docs/api.md). It mirrors store.Contract, whose methods live next to the
// database: billing must not depend on it.
type Contract struct {
	StartsOn string `json:"startsOn"`
	EndsOn   string `json:"endsOn,omitempty"` // "" for open-ended
	// Statuses: an empty history means active from StartsOn, which is how
	// the store creates every contract.
	Statuses []StatusChange `json:"statuses,omitempty"`
	Rates    []Rate         `json:"rates"`
}

// InForce reports whether date falls within the contract's term.
func (c Contract) InForce(date string) bool {
	return c.StartsOn <= date && (c.EndsOn == "" || date <= c.EndsOn)
}

// StatusOn is the status on date, or "" before the first one. Changes of
// one day apply in their order, the last one winning, as in the store.
func (c Contract) StatusOn(date string) string {
	if len(c.Statuses) == 0 {
		if c.StartsOn <= date {
			return "active"
		}
		return ""
	}
	status := ""
	for _, st := range sortedStatuses(c.Statuses) {
		if st.EffectiveOn <= date {
			status = st.Status
		}
	}
	return status
}

// RateOn is the hourly rate in force on date.
func (c Contract) RateOn(date string) (int64, bool) { return rateOn(c.Rates, date) }

func rateOn(rates []Rate, date string) (int64, bool) {
	var cents int64
	found := false
	for _, r := range sortedRates(rates) {
		if r.EffectiveFrom <= date {
			cents, found = r.CentsPerHour, true
		}
	}
	return cents, found
}

// sortedStatuses and sortedRates order a history by date without touching
// the caller's slice; the sort is stable so same-day entries keep their
// order (the store's ORDER BY date, id).
func sortedStatuses(s []StatusChange) []StatusChange {
	return slices.SortedStableFunc(slices.Values(s), func(a, b StatusChange) int {
		return strings.Compare(a.EffectiveOn, b.EffectiveOn)
	})
}

func sortedRates(r []Rate) []Rate {
	return slices.SortedStableFunc(slices.Values(r), func(a, b Rate) int {
		return strings.Compare(a.EffectiveFrom, b.EffectiveFrom)
	})
}

// Settings are the desk's billing rules that may differ per desk. Defaults
// gives the usual ones; a quote request overrides any of them.
type Settings struct {
	// TimeZone is the desk's IANA time zone: a session's date, and so its
	// contract status and rate, is the date there. Location is TimeZone
	// loaded; Decode fills it, Compute needs it (loading reads files, and
	// Compute does no I/O).
	TimeZone string         `json:"timeZone"`
	Location *time.Location `json:"-"`
	// MergeTicketDay makes all sessions of one ticket on one date one
	// intervention, rounded and charged the minimum once. Off, every
	// session is an intervention of its own.
	MergeTicketDay bool `json:"mergeTicketDay"`
	// IncrementMinutes: billable time is rounded up to a multiple of it.
	IncrementMinutes int64 `json:"incrementMinutes"`
	// MinimumMinutes: an intervention with billable time bills at least
	// this much ("a minimum of one hour per intervention").
	MinimumMinutes int64 `json:"minimumMinutes"`
	// OutOfHoursSurchargePercent is added to the amount of sessions held
	// outside support hours by override.
	OutOfHoursSurchargePercent int64 `json:"outOfHoursSurchargePercent"`
	// VATPercent is shown apart in the totals, never folded into amounts.
	VATPercent int64 `json:"vatPercent"`
	// DefaultRates is the desk's rate history for customers without a
	// contract in force (GET /api/v1/rates/default).
	DefaultRates []Rate `json:"defaultRates"`
	// EarlierRules are the rounding, minimum, merging and surcharge rules
	// an admin has since changed, oldest first. Work is billed by the
	// rules in force when its intervention began, so a month already
	// invoiced bills the same after a change; the fields above are the
	// rules of work begun after the last Until. VAT is not among them: it
	// is charged once, on the statement's total.
	EarlierRules []EarlierRules `json:"earlierRules,omitempty"`
}

// EarlierRules are rules that applied to the work begun before Until.
type EarlierRules struct {
	Until                      time.Time `json:"until"`
	MergeTicketDay             bool      `json:"mergeTicketDay"`
	IncrementMinutes           int64     `json:"incrementMinutes"`
	MinimumMinutes             int64     `json:"minimumMinutes"`
	OutOfHoursSurchargePercent int64     `json:"outOfHoursSurchargePercent"`
}

// rulesAt returns s with the rules in force at t, and which rules those
// are: the index in EarlierRules, or len(EarlierRules) for the rules of
// s itself. Validation keeps EarlierRules in order of Until.
func (s Settings) rulesAt(t time.Time) (Settings, int) {
	for i, r := range s.EarlierRules {
		if t.Before(r.Until) {
			return r.over(s), i
		}
	}
	return s, len(s.EarlierRules)
}

// over returns s with the rules r in place of its own.
func (r EarlierRules) over(s Settings) Settings {
	s.MergeTicketDay, s.IncrementMinutes, s.MinimumMinutes = r.MergeTicketDay, r.IncrementMinutes, r.MinimumMinutes
	s.OutOfHoursSurchargePercent = r.OutOfHoursSurchargePercent
	return s
}

// mergesEver reports whether any rules of s merge a ticket's day.
func (s Settings) mergesEver() bool {
	return s.MergeTicketDay || slices.ContainsFunc(s.EarlierRules, func(r EarlierRules) bool { return r.MergeTicketDay })
}

// Defaults are the rules of shared/DOMAIN.md: Brussels time, a quarter-hour
// increment, one hour minimum, no out-of-hours surcharge, 21% VAT. There is
// no default hourly rate: a price is the desk's to set.
func Defaults() Settings {
	return Settings{
		TimeZone:         "Europe/Brussels",
		IncrementMinutes: 15,
		MinimumMinutes:   60,
		VATPercent:       21,
		DefaultRates:     []Rate{},
	}
}

// Input is everything a statement depends on, as it stood when the work was
// done. ReferencePerson and CategoryCovered are facts of the tickets the
// sessions belong to; quote one ticket's contact and category at a time
// when they differ.
type Input struct {
	Customer string `json:"customer,omitempty"`
	// Contract is the customer's contract, nil for none. Outside its term,
	// or cancelled, the customer has no contract in force on that date.
	Contract *Contract `json:"contract"`
	// ReferencePerson: the contact who asked is a designated reference
	// person of the customer.
	ReferencePerson bool `json:"referencePerson"`
	// CategoryCovered: the ticket's work category is covered by Contract.
	CategoryCovered bool      `json:"categoryCovered"`
	Sessions        []Session `json:"sessions"`
	Settings        Settings  `json:"settings"`
	// Prepaid is the customer's prepaid blocks, nil for none; Compute
	// deducts from them (DeductPrepaid).
	Prepaid *Prepaid `json:"prepaid,omitempty"`
}

// Line kinds.
const (
	KindWork       = "work"
	KindAdjustment = "adjustment"
)

// Line is one line of a statement. A work line is the time of one
// technician at one level in one intervention, covered or billable for the
// same reasons. Each intervention with billable time ends with an
// adjustment line holding its rounding and minimum, so a reader sees why 7
// worked minutes became 60 billed: work lines never hide rounding.
type Line struct {
	Intervention int               `json:"intervention"` // Intervention.Number
	Kind         string            `json:"kind"`         // KindWork or KindAdjustment
	Date         string            `json:"date"`
	TicketID     int64             `json:"ticketId,omitempty"`
	TicketRef    string            `json:"ticketRef,omitempty"`
	SessionIDs   []int64           `json:"sessionIds"`
	Technician   *Technician       `json:"technician,omitempty"` // work lines only
	Level        Level             `json:"level,omitempty"`      // work lines only
	Start        time.Time         `json:"start"`                // in the desk's time zone
	End          time.Time         `json:"end"`
	Covered      bool              `json:"covered"`
	Reasons      []helpdesk.Reason `json:"reasons"`
	// WorkedSeconds is the line's time; WorkedMinutes the same rounded up
	// to whole minutes, for reading. Both are 0 on an adjustment line.
	WorkedSeconds int64 `json:"workedSeconds"`
	WorkedMinutes int64 `json:"workedMinutes"`
	// BilledMinutes of a billable work line is its share of the
	// intervention's billable minutes: counted on the running total of
	// seconds, so the shares add up to the rounded-up total and never to
	// more. 0 when covered. On an adjustment line: Rounding + Minimum.
	BilledMinutes int64 `json:"billedMinutes"`
	// RoundingMinutes (up to the next increment) and MinimumMinutes (up to
	// the minimum) are set on adjustment lines only.
	RoundingMinutes  int64 `json:"roundingMinutes,omitempty"`
	MinimumMinutes   int64 `json:"minimumMinutes,omitempty"`
	CentsPerHour     int64 `json:"centsPerHour"`
	SurchargePercent int64 `json:"surchargePercent"`
	// AmountCents excludes VAT. Lines are priced on the running total of
	// their minutes, so an intervention's lines add up to exactly
	// round-half-up(billed minutes × rate × (100+surcharge)% / 60).
	AmountCents int64 `json:"amountCents"`
	// Note explains an adjustment line in words.
	Note string `json:"note,omitempty"`
	// With prepaid blocks (DeductPrepaid), a billable line's billed
	// minutes split into those paid from a block and those billed as
	// regie; AmountCents is then the regie minutes' price, and PaidBy
	// labels the line (PaidPrepaid, PaidRegie or PaidPrepaidRegie).
	PrepaidMinutes int64  `json:"prepaidMinutes,omitempty"`
	RegieMinutes   int64  `json:"regieMinutes,omitempty"`
	PaidBy         string `json:"paidBy,omitempty"`
}

// Intervention sums up one intervention: one session, or with
// Settings.MergeTicketDay all sessions of one ticket on one date.
type Intervention struct {
	Number     int       `json:"number"` // 1-based, in order of start
	Date       string    `json:"date"`
	TicketID   int64     `json:"ticketId,omitempty"`
	TicketRef  string    `json:"ticketRef,omitempty"`
	SessionIDs []int64   `json:"sessionIds"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	// ContractStatus is the status of the contract in force on Date, ""
	// for none.
	ContractStatus  string `json:"contractStatus"`
	WorkedSeconds   int64  `json:"workedSeconds"`
	CoveredSeconds  int64  `json:"coveredSeconds"`
	BillableSeconds int64  `json:"billableSeconds"`
	// BillableMinutes is BillableSeconds rounded up to whole minutes;
	// BilledMinutes = BillableMinutes + RoundingMinutes + MinimumMinutes,
	// or 0 when nothing was billable.
	BillableMinutes int64 `json:"billableMinutes"`
	RoundingMinutes int64 `json:"roundingMinutes"`
	MinimumMinutes  int64 `json:"minimumMinutes"`
	BilledMinutes   int64 `json:"billedMinutes"`
	CentsPerHour    int64 `json:"centsPerHour"`
	AmountCents     int64 `json:"amountCents"`
	// With prepaid blocks: the billed minutes paid from blocks (which,
	// how many) and those billed as regie.
	PrepaidMinutes int64       `json:"prepaidMinutes,omitempty"`
	RegieMinutes   int64       `json:"regieMinutes,omitempty"`
	Deductions     []Deduction `json:"deductions,omitempty"`
}

// Totals sum a statement. Amounts are euro cents; VAT is computed once on
// the total exclusive of VAT, rounded half up.
type Totals struct {
	WorkedSeconds int64 `json:"workedSeconds"`
	// WorkedMinutes and CoveredMinutes are the sums of the work lines'
	// WorkedMinutes (all, and the covered ones): a total shown beside its
	// lines must add up to them, so it is summed from the rounded lines,
	// never rounded again from the seconds.
	WorkedMinutes     int64 `json:"workedMinutes"`
	CoveredMinutes    int64 `json:"coveredMinutes"`
	CoveredSeconds    int64 `json:"coveredSeconds"`
	BillableSeconds   int64 `json:"billableSeconds"`
	BillableMinutes   int64 `json:"billableMinutes"` // sum over interventions
	AdjustmentMinutes int64 `json:"adjustmentMinutes"`
	BilledMinutes     int64 `json:"billedMinutes"`
	AmountCents       int64 `json:"amountCents"` // exclusive of VAT
	VATPercent        int64 `json:"vatPercent"`
	VATCents          int64 `json:"vatCents"`
	TotalCents        int64 `json:"totalCents"` // inclusive of VAT
	// With prepaid blocks: billed minutes paid from blocks, and billed as
	// regie (BilledMinutes = PrepaidMinutes + RegieMinutes).
	PrepaidMinutes int64 `json:"prepaidMinutes,omitempty"`
	RegieMinutes   int64 `json:"regieMinutes,omitempty"`
}

// Statement is what Compute returns: the interventions, their lines (each
// intervention's work lines in order of start, then its adjustment line),
// and the totals, with the settings that were applied.
type Statement struct {
	Customer      string         `json:"customer,omitempty"`
	Currency      string         `json:"currency"`
	TimeZone      string         `json:"timeZone"`
	Interventions []Intervention `json:"interventions"`
	Lines         []Line         `json:"lines"`
	Totals        Totals         `json:"totals"`
	Settings      Settings       `json:"settings"`
	// Prepaid is set when the customer's prepaid blocks were applied.
	Prepaid *PrepaidSummary `json:"prepaid,omitempty"`
}

// Compute bills the sessions of in. It rejects input it cannot bill
// faithfully (a segment ending before it starts, overlapping segments in a
// session, a billable day without an hourly rate) with a *FieldError naming
// the field at fault.
func Compute(in Input) (Statement, error) {
	if err := Validate(in); err != nil {
		return Statement{}, err
	}
	st, err := compute(in.Customer, in.Settings, []Input{in})
	if err != nil || in.Prepaid == nil {
		return st, err
	}
	return DeductPrepaid(st, *in.Prepaid)
}

// ComputeAll bills one customer's sessions whose facts differ (tickets of
// other contacts or categories, a new contract) as one statement: each
// part is an Input with the facts of its sessions, billed under the same
// settings s; the interventions are numbered across parts in order of
// start and VAT is charged once, on the total. Sessions merge into one
// intervention per ticket and day only within a part. An error names the
// part at fault ("parts[1].sessions[0]...").
func ComputeAll(customer string, s Settings, parts []Input) (Statement, error) {
	if err := validateSettings(s); err != nil {
		return Statement{}, within("settings", err)
	}
	parts = slices.Clone(parts)
	for i := range parts {
		parts[i].Customer, parts[i].Settings = customer, s
		if err := Validate(parts[i]); err != nil {
			return Statement{}, within(fmt.Sprintf("parts[%d]", i), err)
		}
	}
	return compute(customer, s, parts)
}

// compute bills the valid parts of one statement: their interventions in
// order of start, numbered across parts, and one VAT on the total.
func compute(customer string, s Settings, parts []Input) (Statement, error) {
	st := Statement{Customer: customer, Currency: "EUR", TimeZone: s.Location.String(),
		Interventions: []Intervention{}, Lines: []Line{}, Settings: s}
	st.Settings.DefaultRates = sortedRates(s.DefaultRates)

	type job struct {
		in Input
		iv intervention
	}
	var jobs []job
	for _, in := range parts {
		for _, iv := range group(in.Sessions, s) {
			jobs = append(jobs, job{in, iv})
		}
	}
	// Within one part group already has this order; the sort interleaves
	// the parts by the same rule.
	slices.SortStableFunc(jobs, func(a, b job) int {
		x, y := a.iv.sessions[0], b.iv.sessions[0]
		return cmp.Or(x.Segments[0].Start.Compare(y.Segments[0].Start), cmp.Compare(x.ID, y.ID))
	})
	for n, j := range jobs {
		if err := bill(&st, j.in, j.iv, n+1); err != nil {
			return Statement{}, err
		}
	}
	t := &st.Totals
	for _, iv := range st.Interventions {
		t.WorkedSeconds += iv.WorkedSeconds
		t.CoveredSeconds += iv.CoveredSeconds
		t.BillableSeconds += iv.BillableSeconds
		t.BillableMinutes += iv.BillableMinutes
		t.AdjustmentMinutes += iv.RoundingMinutes + iv.MinimumMinutes
		t.BilledMinutes += iv.BilledMinutes
		t.AmountCents += iv.AmountCents
	}
	for _, l := range st.Lines {
		if l.Kind != KindWork {
			continue
		}
		t.WorkedMinutes += l.WorkedMinutes
		if l.Covered {
			t.CoveredMinutes += l.WorkedMinutes
		}
	}
	t.VATPercent = s.VATPercent
	t.VATCents = roundHalfUp(t.AmountCents*s.VATPercent, 100)
	t.TotalCents = t.AmountCents + t.VATCents
	return st, nil
}

// intervention is the sessions billed as one, before billing.
type intervention struct {
	date     string
	sessions []Session // segments sorted by start
}

// group sorts the sessions by their first segment and makes interventions
// of them: one per session, or one per ticket and date when merging.
// Sessions without segments have no worked time and are left out.
func group(sessions []Session, s Settings) []intervention {
	var worked []Session
	for _, se := range sessions {
		if len(se.Segments) == 0 {
			continue
		}
		se.Segments = slices.SortedStableFunc(slices.Values(se.Segments), func(a, b Segment) int {
			return a.Start.Compare(b.Start)
		})
		worked = append(worked, se)
	}
	slices.SortStableFunc(worked, func(a, b Session) int {
		return cmp.Or(a.Segments[0].Start.Compare(b.Segments[0].Start), cmp.Compare(a.ID, b.ID))
	})
	type key struct {
		session   int64
		ticketID  int64
		ticketRef string
		date      string
		rules     int
	}
	var out []intervention
	index := map[key]int{}
	for _, se := range worked {
		date := se.Segments[0].Start.In(s.Location).Format(time.DateOnly)
		k := key{session: se.ID}
		// A day merges only under one set of rules: a change of rules
		// during the day starts a new intervention.
		if r, version := s.rulesAt(se.Segments[0].Start); r.MergeTicketDay {
			k = key{ticketID: se.TicketID, ticketRef: se.TicketRef, date: date, rules: version}
		}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, intervention{date: date})
		}
		out[i].sessions = append(out[i].sessions, se)
	}
	return out
}

// bill prices one intervention and appends it and its lines to st.
func bill(st *Statement, in Input, g intervention, number int) error {
	first := g.sessions[0]
	s, _ := in.Settings.rulesAt(first.Segments[0].Start)
	loc := s.Location
	iv := Intervention{Number: number, Date: g.date, TicketID: first.TicketID, TicketRef: first.TicketRef,
		SessionIDs: []int64{}, Start: first.Segments[0].Start.In(loc)}
	for _, se := range g.sessions {
		iv.SessionIDs = append(iv.SessionIDs, se.ID)
		for _, seg := range se.Segments {
			if seg.End.After(iv.End) {
				iv.End = seg.End.In(loc)
			}
		}
	}

	// The contract in force on the date decides coverage and the rate; a
	// cancelled contract counts as none, as helpdesk.Entitlement has it.
	rates, rateField := s.DefaultRates, "settings.defaultRates"
	if c := in.Contract; c != nil && c.InForce(g.date) {
		iv.ContractStatus = c.StatusOn(g.date)
		if iv.ContractStatus == "active" || iv.ContractStatus == "suspended" {
			rates, rateField = c.Rates, "contract.rates"
		}
	}
	cph, haveRate := rateOn(rates, g.date)

	lines := workLines(in, s, g, iv)
	for _, l := range lines {
		iv.WorkedSeconds += l.WorkedSeconds
		if l.Covered {
			iv.CoveredSeconds += l.WorkedSeconds
		} else {
			iv.BillableSeconds += l.WorkedSeconds
		}
	}
	iv.BillableMinutes = ceilDiv(iv.BillableSeconds, 60)
	iv.RoundingMinutes, iv.MinimumMinutes, iv.BilledMinutes = RoundUp(iv.BillableMinutes, s)
	if iv.BillableSeconds > 0 && !haveRate {
		// Asking for a rate only when something is billable lets a quote of
		// covered work leave rates out.
		return fieldErr(rateField, "no hourly rate in force on %s (session %d)", g.date, first.ID)
	}
	if haveRate {
		iv.CentsPerHour = cph
	}
	lines = price(iv, lines, s)
	for _, l := range lines {
		iv.AmountCents += l.AmountCents
	}
	st.Lines = append(st.Lines, lines...)
	st.Interventions = append(st.Interventions, iv)
	return nil
}

// workLines groups an intervention's segments into work lines: one per
// technician, level and verdict, in order of start, with the surcharge of
// the rules s. Minutes and amounts are left to price.
func workLines(in Input, s Settings, g intervention, iv Intervention) []Line {
	loc := s.Location
	type lineKey struct {
		tech    Technician
		level   Level
		reasons string // the verdict; outside_hours among them decides the surcharge
	}
	var lines []Line
	index := map[lineKey]int{}
	for _, se := range g.sessions {
		for _, seg := range se.Segments {
			covered := in.CategoryCovered
			if seg.CategoryCovered != nil {
				covered = *seg.CategoryCovered
			}
			v := helpdesk.Entitlement(helpdesk.Facts{
				ContractStatus:   iv.ContractStatus,
				ReferencePerson:  in.ReferencePerson,
				CategoryCovered:  covered,
				DataIntervention: seg.Level == LevelDataIntervention,
				OutsideHours:     se.OutsideHours,
			})
			k := lineKey{seg.Technician, seg.Level, fmt.Sprint(v.Reasons)}
			i, ok := index[k]
			if !ok {
				i = len(lines)
				index[k] = i
				tech := seg.Technician
				l := Line{Intervention: iv.Number, Kind: KindWork, Date: iv.Date, TicketID: se.TicketID,
					TicketRef: se.TicketRef, SessionIDs: []int64{}, Technician: &tech, Level: seg.Level,
					Start: seg.Start.In(loc), End: seg.End.In(loc), Covered: v.Covered, Reasons: v.Reasons}
				if se.OutsideHours {
					l.SurchargePercent = s.OutOfHoursSurchargePercent
				}
				lines = append(lines, l)
			}
			l := &lines[i]
			if !slices.Contains(l.SessionIDs, se.ID) {
				l.SessionIDs = append(l.SessionIDs, se.ID)
			}
			if seg.End.After(l.End) {
				l.End = seg.End.In(loc)
			}
			l.WorkedSeconds += seg.Seconds()
			l.WorkedMinutes = ceilDiv(l.WorkedSeconds, 60)
		}
	}
	slices.SortStableFunc(lines, func(a, b Line) int { return a.Start.Compare(b.Start) })
	return lines
}

// price hands out the intervention's billable minutes over its billable
// lines, adds the adjustment line when anything is billable, and prices
// them. Minutes and amounts are both handed out on running totals, so the
// lines add up exactly to the intervention's billed minutes and to the
// formula applied to them, where rounding each line alone could be off by
// a cent or a minute.
func price(iv Intervention, lines []Line, s Settings) []Line {
	adj := Line{Intervention: iv.Number, Kind: KindAdjustment, Date: iv.Date, TicketID: iv.TicketID,
		TicketRef: iv.TicketRef, SessionIDs: slices.Clone(iv.SessionIDs), Start: iv.Start, End: iv.End,
		Reasons: []helpdesk.Reason{}, CentsPerHour: iv.CentsPerHour}
	var cumSeconds, cumMinutes int64
	first := true
	for i := range lines {
		l := &lines[i]
		l.CentsPerHour = iv.CentsPerHour
		if l.Covered {
			continue
		}
		cumSeconds += l.WorkedSeconds
		l.BilledMinutes = ceilDiv(cumSeconds, 60) - cumMinutes
		cumMinutes += l.BilledMinutes
		for _, r := range l.Reasons {
			if !slices.Contains(adj.Reasons, r) {
				adj.Reasons = append(adj.Reasons, r)
			}
		}
		// Rounding is not out-of-hours work: when a merged day mixes
		// sessions in and out of hours, it is priced at the lower rate.
		if first || l.SurchargePercent < adj.SurchargePercent {
			adj.SurchargePercent, first = l.SurchargePercent, false
		}
	}
	if iv.BillableSeconds > 0 {
		adj.RoundingMinutes, adj.MinimumMinutes = iv.RoundingMinutes, iv.MinimumMinutes
		adj.BilledMinutes = iv.RoundingMinutes + iv.MinimumMinutes
		adj.Note = adjustmentNote(iv, s)
		lines = append(lines, adj)
	}

	priceLines(lines)
	return lines
}

// priceLines prices one intervention's billable lines on the running total
// of the minutes they charge for per surcharge: their billed minutes less
// those a prepaid block paid.
func priceLines(lines []Line) {
	priced := map[int64]int64{} // surcharge -> minutes priced so far
	for i := range lines {
		l := &lines[i]
		if l.Covered {
			continue
		}
		k := l.CentsPerHour * (100 + l.SurchargePercent)
		before := priced[l.SurchargePercent]
		charged := l.BilledMinutes - l.PrepaidMinutes
		priced[l.SurchargePercent] = before + charged
		l.AmountCents = roundHalfUp((before+charged)*k, 6000) - roundHalfUp(before*k, 6000)
	}
}

// RoundUp gives the minutes added to billable minutes: up to the next
// increment, then up to the minimum; billed is their sum with billable.
// Nothing billable stays nothing: the minimum is per intervention with
// billable time, not per session a contract covered.
func RoundUp(billable int64, s Settings) (rounding, minimum, billed int64) {
	if billable <= 0 {
		return 0, 0, 0
	}
	rounded := ceilDiv(billable, s.IncrementMinutes) * s.IncrementMinutes
	billed = max(rounded, s.MinimumMinutes)
	return rounded - billable, billed - rounded, billed
}

func adjustmentNote(iv Intervention, s Settings) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d billable minutes", iv.BillableMinutes)
	switch {
	case iv.RoundingMinutes == 0 && iv.MinimumMinutes == 0:
		fmt.Fprintf(&b, ": a multiple of %d and at least the %d-minute minimum, nothing added", s.IncrementMinutes, s.MinimumMinutes)
	default:
		if iv.RoundingMinutes > 0 {
			fmt.Fprintf(&b, " rounded up to %d (+%d, %d-minute increments)", iv.BillableMinutes+iv.RoundingMinutes,
				iv.RoundingMinutes, s.IncrementMinutes)
		}
		if iv.MinimumMinutes > 0 {
			fmt.Fprintf(&b, ", raised to the %d-minute minimum (+%d)", s.MinimumMinutes, iv.MinimumMinutes)
		}
	}
	fmt.Fprintf(&b, "; %d minutes billed", iv.BilledMinutes)
	return b.String()
}

// ceilDiv is a/b rounded up, for a >= 0 and b > 0.
func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// roundHalfUp is n/d rounded half up, for n >= 0 and d > 0.
func roundHalfUp(n, d int64) int64 { return (2*n + d) / (2 * d) }
