package billing_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/helpdesk"
)

var brussels = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		panic(err)
	}
	return loc
}()

// tm reads "2026-03-02 09:00" as Brussels time.
func tm(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, brussels)
	if err != nil {
		panic(err)
	}
	return t
}

var (
	tina = billing.Technician{ID: 1, Name: "Tina Peeters"}
	jan  = billing.Technician{ID: 2, Name: "Jan Claes"}
)

// seg is a segment by Tina at control level unless changed; times are
// "2026-03-02 09:00", or "09:00" on 2 March 2026.
func seg(start, end string, edits ...func(*billing.Segment)) billing.Segment {
	day := func(s string) string {
		if len(s) == 5 {
			return "2026-03-02 " + s
		}
		return s
	}
	s := billing.Segment{Start: tm(day(start)), End: tm(day(end)), Level: billing.LevelControl, Technician: tina}
	for _, e := range edits {
		e(&s)
	}
	return s
}

func level(l billing.Level) func(*billing.Segment) { return func(s *billing.Segment) { s.Level = l } }
func by(t billing.Technician) func(*billing.Segment) {
	return func(s *billing.Segment) { s.Technician = t }
}
func session(id int64, segs ...billing.Segment) billing.Session {
	return billing.Session{ID: id, TicketID: 7, TicketRef: "T-7", Segments: segs}
}

// settings are the defaults in Brussels with a default rate of €80.
func settings() billing.Settings {
	s := billing.Defaults()
	s.Location = brussels
	s.DefaultRates = []billing.Rate{{CentsPerHour: 8000, EffectiveFrom: "2025-01-01"}}
	return s
}

// contract is active from 1 January 2026 at €85 an hour.
func contract() *billing.Contract {
	return &billing.Contract{StartsOn: "2026-01-01",
		Statuses: []billing.StatusChange{{Status: "active", EffectiveOn: "2026-01-01"}},
		Rates:    []billing.Rate{{CentsPerHour: 8500, EffectiveFrom: "2026-01-01"}}}
}

// covered is a customer whose work is covered: active contract, reference
// person, covered category.
func covered(sessions ...billing.Session) billing.Input {
	return billing.Input{Customer: "Bakkerij", Contract: contract(), ReferencePerson: true, CategoryCovered: true,
		Sessions: sessions, Settings: settings()}
}

// billable is the same customer asking about a category the contract
// does not cover.
func billable(sessions ...billing.Session) billing.Input {
	in := covered(sessions...)
	in.CategoryCovered = false
	return in
}

func compute(t *testing.T, in billing.Input) billing.Statement {
	t.Helper()
	st, err := billing.Compute(in)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	checkConsistent(t, st)
	return st
}

// checkConsistent checks what every statement must satisfy: lines add up
// to their intervention, interventions to the totals, covered is free.
func checkConsistent(t *testing.T, st billing.Statement) {
	t.Helper()
	var tot billing.Totals
	for _, iv := range st.Interventions {
		var amount, work, adj, billableSec int64
		adjustments := 0
		for _, l := range st.Lines {
			if l.Intervention != iv.Number {
				continue
			}
			amount += l.AmountCents
			if l.AmountCents < 0 || l.BilledMinutes < 0 {
				t.Errorf("negative line %+v", l)
			}
			if l.Covered && (l.AmountCents != 0 || l.BilledMinutes != 0 || len(l.Reasons) != 0) {
				t.Errorf("covered line costs something: %+v", l)
			}
			if !l.Covered && len(l.Reasons) == 0 {
				t.Errorf("billable line without a reason: %+v", l)
			}
			switch l.Kind {
			case billing.KindWork:
				if !l.Covered {
					work += l.BilledMinutes
					billableSec += l.WorkedSeconds
				}
			case billing.KindAdjustment:
				adjustments++
				adj += l.BilledMinutes
				if l.BilledMinutes != l.RoundingMinutes+l.MinimumMinutes {
					t.Errorf("adjustment %+v: billed is not rounding + minimum", l)
				}
			}
		}
		if iv.BillableSeconds != billableSec || iv.BillableMinutes != work || work != (billableSec+59)/60 {
			t.Errorf("intervention %d: billable %ds/%dmin, lines %ds/%dmin", iv.Number, iv.BillableSeconds, iv.BillableMinutes, billableSec, work)
		}
		if want := min(iv.BillableSeconds, 1); adjustments != int(want) {
			t.Errorf("intervention %d: %d adjustment lines, want %d", iv.Number, adjustments, want)
		}
		if iv.BilledMinutes != work+adj || iv.AmountCents != amount {
			t.Errorf("intervention %d: billed %d amount %d, lines %d+%d minutes %d cents", iv.Number, iv.BilledMinutes, iv.AmountCents, work, adj, amount)
		}
		if iv.BilledMinutes < iv.BillableMinutes || (iv.BillableSeconds == 0) != (iv.BilledMinutes == 0) {
			t.Errorf("intervention %d: billed %d for %d billable minutes", iv.Number, iv.BilledMinutes, iv.BillableMinutes)
		}
		if iv.WorkedSeconds != iv.CoveredSeconds+iv.BillableSeconds {
			t.Errorf("intervention %d: worked %d != covered %d + billable %d", iv.Number, iv.WorkedSeconds, iv.CoveredSeconds, iv.BillableSeconds)
		}
		tot.WorkedSeconds += iv.WorkedSeconds
		tot.BilledMinutes += iv.BilledMinutes
		tot.AmountCents += iv.AmountCents
	}
	got := st.Totals
	if got.WorkedSeconds != tot.WorkedSeconds || got.BilledMinutes != tot.BilledMinutes || got.AmountCents != tot.AmountCents ||
		got.TotalCents != got.AmountCents+got.VATCents || got.AmountCents < 0 || got.VATCents < 0 {
		t.Errorf("totals %+v, interventions sum to %+v", got, tot)
	}
}

// adjustment returns the adjustment line of an intervention, if any.
func adjustment(st billing.Statement, number int) (billing.Line, bool) {
	for _, l := range st.Lines {
		if l.Intervention == number && l.Kind == billing.KindAdjustment {
			return l, true
		}
	}
	return billing.Line{}, false
}

func workLines(st billing.Statement) []billing.Line {
	var out []billing.Line
	for _, l := range st.Lines {
		if l.Kind == billing.KindWork {
			out = append(out, l)
		}
	}
	return out
}

// TestEveryRule lists each rule of coverage on its own and in company:
// the reasons, the rate they bill at, and what a 30-minute session costs.
func TestEveryRule(t *testing.T) {
	ended := contract()
	ended.EndsOn = "2026-02-28"
	cancelled := contract()
	cancelled.Statuses = append(cancelled.Statuses, billing.StatusChange{Status: "cancelled", EffectiveOn: "2026-03-01"})
	suspended := contract()
	suspended.Statuses = append(suspended.Statuses, billing.StatusChange{Status: "suspended", EffectiveOn: "2026-03-01"})
	noHistory := contract()
	noHistory.Statuses = nil
	notYet := contract()
	notYet.StartsOn = "2026-04-01"

	R := func(r ...helpdesk.Reason) []helpdesk.Reason { return append([]helpdesk.Reason{}, r...) }
	cases := []struct {
		name    string
		edit    func(*billing.Input)
		reasons []helpdesk.Reason
		cents   int64 // hourly rate billed
		amount  int64
	}{
		{"covered", func(*billing.Input) {}, R(), 8500, 0},
		{"contract without status history is active", func(in *billing.Input) { in.Contract = noHistory }, R(), 8500, 0},
		{"no contract", func(in *billing.Input) { in.Contract = nil }, R(helpdesk.NoContract), 8000, 8000},
		{"contract ended", func(in *billing.Input) { in.Contract = ended }, R(helpdesk.NoContract), 8000, 8000},
		{"contract not started", func(in *billing.Input) { in.Contract = notYet }, R(helpdesk.NoContract), 8000, 8000},
		{"contract cancelled", func(in *billing.Input) { in.Contract = cancelled }, R(helpdesk.NoContract), 8000, 8000},
		{"contract suspended", func(in *billing.Input) { in.Contract = suspended }, R(helpdesk.ContractSuspended), 8500, 8500},
		{"not a reference person", func(in *billing.Input) { in.ReferencePerson = false }, R(helpdesk.NotReferencePerson), 8500, 8500},
		{"category not covered", func(in *billing.Input) { in.CategoryCovered = false }, R(helpdesk.CategoryNotCovered), 8500, 8500},
		{"data intervention", func(in *billing.Input) { in.Sessions[0].Segments[0].Level = billing.LevelDataIntervention },
			R(helpdesk.DataIntervention), 8500, 8500},
		{"outside hours", func(in *billing.Input) { in.Sessions[0].OutsideHours = true }, R(helpdesk.OutsideHours), 8500, 8500},
		{"outside hours with a surcharge", func(in *billing.Input) {
			in.Sessions[0].OutsideHours, in.Settings.OutOfHoursSurchargePercent = true, 50
		}, R(helpdesk.OutsideHours), 8500, 12750},
		{"view level is covered like control", func(in *billing.Input) { in.Sessions[0].Segments[0].Level = billing.LevelView }, R(), 8500, 0},
		{"no contract and not a reference person", func(in *billing.Input) { in.Contract, in.ReferencePerson = nil, false },
			R(helpdesk.NoContract, helpdesk.NotReferencePerson), 8000, 8000},
		{"no contract makes the category moot", func(in *billing.Input) { in.Contract, in.CategoryCovered = nil, false },
			R(helpdesk.NoContract), 8000, 8000},
		{"suspended, uncovered category", func(in *billing.Input) { in.Contract, in.CategoryCovered = suspended, false },
			R(helpdesk.ContractSuspended, helpdesk.CategoryNotCovered), 8500, 8500},
		{"everything wrong", func(in *billing.Input) {
			in.Contract, in.ReferencePerson, in.CategoryCovered = suspended, false, false
			in.Sessions[0].OutsideHours = true
			in.Sessions[0].Segments[0].Level = billing.LevelDataIntervention
		}, R(helpdesk.ContractSuspended, helpdesk.NotReferencePerson, helpdesk.CategoryNotCovered,
			helpdesk.DataIntervention, helpdesk.OutsideHours), 8500, 8500},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := covered(session(1, seg("09:00", "09:30")))
			c.edit(&in)
			st := compute(t, in)
			lines := workLines(st)
			if len(lines) != 1 {
				t.Fatalf("%d work lines, want 1: %+v", len(lines), st.Lines)
			}
			l := lines[0]
			if !slices.Equal(l.Reasons, c.reasons) || l.Covered != (len(c.reasons) == 0) {
				t.Errorf("covered %v reasons %v, want %v", l.Covered, l.Reasons, c.reasons)
			}
			if l.CentsPerHour != c.cents || st.Totals.AmountCents != c.amount {
				t.Errorf("rate %d amount %d, want %d and %d", l.CentsPerHour, st.Totals.AmountCents, c.cents, c.amount)
			}
		})
	}
}

// TestEveryCombination goes through every combination of the facts and
// checks each line against helpdesk.Entitlement, the one rule of coverage.
func TestEveryCombination(t *testing.T) {
	statuses := []string{"", "active", "suspended", "cancelled"}
	for mask := range 1 << 4 {
		for _, status := range statuses {
			ref, cat, data, outside := mask&1 != 0, mask&2 != 0, mask&4 != 0, mask&8 != 0
			name := fmt.Sprintf("status=%q ref=%v cat=%v data=%v outside=%v", status, ref, cat, data, outside)
			in := covered(session(1, seg("09:00", "09:10"), seg("09:10", "09:30", level(billing.LevelDataIntervention))))
			if !data {
				in.Sessions[0].Segments[1].Level = billing.LevelControl
			}
			in.ReferencePerson, in.CategoryCovered, in.Sessions[0].OutsideHours = ref, cat, outside
			in.Settings.OutOfHoursSurchargePercent = 25
			switch status {
			case "":
				in.Contract = nil
			default:
				in.Contract.Statuses = []billing.StatusChange{{Status: status, EffectiveOn: "2026-01-01"}}
			}
			st, err := billing.Compute(in)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			checkConsistent(t, st)
			for _, l := range workLines(st) {
				want := helpdesk.Entitlement(helpdesk.Facts{ContractStatus: status, ReferencePerson: ref, CategoryCovered: cat,
					DataIntervention: l.Level == billing.LevelDataIntervention, OutsideHours: outside})
				if l.Covered != want.Covered || !slices.Equal(l.Reasons, want.Reasons) {
					t.Errorf("%s, %s line: %v %v, want %+v", name, l.Level, l.Covered, l.Reasons, want)
				}
				wantRate := int64(8000)
				if status == "active" || status == "suspended" {
					wantRate = 8500
				}
				if l.CentsPerHour != wantRate {
					t.Errorf("%s: rate %d, want %d", name, l.CentsPerHour, wantRate)
				}
				if wantSur := map[bool]int64{true: 25}[outside]; l.SurchargePercent != wantSur && !l.Covered {
					t.Errorf("%s: surcharge %d, want %d", name, l.SurchargePercent, wantSur)
				}
			}
		}
	}
}

func TestRounding(t *testing.T) {
	cases := []struct{ worked, billed, rounding, minimum int64 }{
		{0, 0, 0, 0},
		{1, 60, 14, 45},
		{14, 60, 1, 45},
		{15, 60, 0, 45},
		{16, 60, 14, 30},
		{59, 60, 1, 0},
		{60, 60, 0, 0},
		{61, 75, 14, 0},
		{75, 75, 0, 0},
		{76, 90, 14, 0},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d minutes", c.worked), func(t *testing.T) {
			start := tm("2026-03-02 09:00")
			s := billing.Segment{Start: start, End: start.Add(time.Duration(c.worked) * time.Minute), Level: billing.LevelControl, Technician: tina}
			st := compute(t, billable(session(1, s)))
			iv := st.Interventions[0]
			if iv.BillableMinutes != c.worked || iv.BilledMinutes != c.billed || iv.RoundingMinutes != c.rounding || iv.MinimumMinutes != c.minimum {
				t.Errorf("billable %d billed %d (rounding %d, minimum %d), want %d %d (%d, %d)", iv.BillableMinutes,
					iv.BilledMinutes, iv.RoundingMinutes, iv.MinimumMinutes, c.worked, c.billed, c.rounding, c.minimum)
			}
			if want := c.billed * 8500 / 60; iv.AmountCents != want {
				t.Errorf("amount %d, want %d", iv.AmountCents, want)
			}
			// The work line keeps its own minutes: the rounding is on the
			// adjustment line, never hidden in the work.
			if w := workLines(st)[0]; w.BilledMinutes != c.worked || w.WorkedMinutes != c.worked {
				t.Errorf("work line billed %d worked %d, want %d", w.BilledMinutes, w.WorkedMinutes, c.worked)
			}
			adj, ok := adjustment(st, 1)
			if ok != (c.worked > 0) || adj.BilledMinutes != c.billed-c.worked {
				t.Errorf("adjustment %v %+v, want %d minutes", ok, adj, c.billed-c.worked)
			}
			if ok && !strings.Contains(adj.Note, fmt.Sprintf("%d minutes billed", c.billed)) {
				t.Errorf("note %q", adj.Note)
			}
			if r, m, b := billing.RoundUp(c.worked, billing.Defaults()); r != c.rounding || m != c.minimum || b != c.billed {
				t.Errorf("RoundUp(%d) = %d, %d, %d", c.worked, r, m, b)
			}
		})
	}
}

// TestSeconds: time is counted in whole seconds and rounded up to minutes
// once, on the intervention's sum.
func TestSeconds(t *testing.T) {
	start := tm("2026-03-02 09:00")
	segment := func(from, secs int, who billing.Technician) billing.Segment {
		s := start.Add(time.Duration(from) * time.Second)
		return billing.Segment{Start: s, End: s.Add(time.Duration(secs) * time.Second), Level: billing.LevelControl, Technician: who}
	}
	cases := []struct {
		name        string
		segs        []billing.Segment
		billable    int64
		lineMinutes []int64
		billed      int64
	}{
		{"one second bills the minimum", []billing.Segment{segment(0, 1, tina)}, 1, []int64{1}, 60},
		{"60 minutes and a second", []billing.Segment{segment(0, 3601, tina)}, 61, []int64{61}, 75},
		// 60m30s + 14m30s is 75 minutes: the shares add up to 75, not
		// 61 + 15, so no minute is billed twice.
		{"shares add up to the rounded sum", []billing.Segment{segment(0, 3630, tina), segment(3630, 870, jan)}, 75, []int64{61, 14}, 75},
	}
	// The relay's milliseconds are dropped per segment.
	fraction := segment(0, 59, tina)
	fraction.End = fraction.End.Add(999 * time.Millisecond)
	if l := workLines(compute(t, billable(session(1, fraction))))[0]; l.WorkedSeconds != 59 || l.WorkedMinutes != 1 {
		t.Errorf("59.999 s: %d seconds, %d minutes; want 59 and 1", l.WorkedSeconds, l.WorkedMinutes)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := compute(t, billable(session(1, c.segs...)))
			iv := st.Interventions[0]
			var got []int64
			for _, l := range workLines(st) {
				got = append(got, l.BilledMinutes)
			}
			if iv.BillableMinutes != c.billable || iv.BilledMinutes != c.billed || !slices.Equal(got, c.lineMinutes) {
				t.Errorf("billable %d billed %d lines %v, want %d %d %v", iv.BillableMinutes, iv.BilledMinutes, got, c.billable, c.billed, c.lineMinutes)
			}
		})
	}
}

func TestContractSuspendedMidMonth(t *testing.T) {
	in := covered(
		session(1, seg("2026-03-10 10:00", "2026-03-10 10:30")),
		session(2, seg("2026-03-20 10:00", "2026-03-20 10:30")),
		session(3, seg("2026-03-27 10:00", "2026-03-27 10:30")),
	)
	in.Contract.Statuses = append(in.Contract.Statuses,
		billing.StatusChange{Status: "suspended", EffectiveOn: "2026-03-15"},
		billing.StatusChange{Status: "active", EffectiveOn: "2026-03-25"})
	st := compute(t, in)
	want := []struct {
		status string
		billed int64
		amount int64
	}{{"active", 0, 0}, {"suspended", 60, 8500}, {"active", 0, 0}}
	for i, w := range want {
		iv := st.Interventions[i]
		if iv.ContractStatus != w.status || iv.BilledMinutes != w.billed || iv.AmountCents != w.amount {
			t.Errorf("session %d: %s billed %d amount %d, want %+v", i+1, iv.ContractStatus, iv.BilledMinutes, iv.AmountCents, w)
		}
	}
	if l := workLines(st)[1]; !slices.Equal(l.Reasons, []helpdesk.Reason{helpdesk.ContractSuspended}) {
		t.Errorf("suspended reasons %v", l.Reasons)
	}
}

func TestRateChangeBetweenSessions(t *testing.T) {
	in := billable(
		session(1, seg("2026-03-10 10:00", "2026-03-10 11:00")),
		session(2, seg("2026-03-20 10:00", "2026-03-20 11:00")),
	)
	// Given newest first on purpose: the history is sorted by date.
	in.Contract.Rates = []billing.Rate{{CentsPerHour: 9000, EffectiveFrom: "2026-03-15"}, {CentsPerHour: 8500, EffectiveFrom: "2026-01-01"}}
	st := compute(t, in)
	if a, b := st.Interventions[0], st.Interventions[1]; a.CentsPerHour != 8500 || a.AmountCents != 8500 || b.CentsPerHour != 9000 || b.AmountCents != 9000 {
		t.Errorf("rates %d/%d amounts %d/%d, want 8500/9000", a.CentsPerHour, b.CentsPerHour, a.AmountCents, b.AmountCents)
	}
	if in.Contract.Rates[0].CentsPerHour != 9000 {
		t.Error("Compute reordered the caller's rate history")
	}

	// The desk's default rate changes the same way for a customer without
	// a contract.
	in.Contract = nil
	in.Settings.DefaultRates = append(in.Settings.DefaultRates, billing.Rate{CentsPerHour: 9500, EffectiveFrom: "2026-03-15"})
	st = compute(t, in)
	if a, b := st.Interventions[0], st.Interventions[1]; a.AmountCents != 8000 || b.AmountCents != 9500 {
		t.Errorf("default rate amounts %d/%d, want 8000/9500", a.AmountCents, b.AmountCents)
	}
}

func TestMergeTicketDay(t *testing.T) {
	other := session(4, seg("2026-03-02 15:00", "2026-03-02 15:10"))
	other.TicketID, other.TicketRef = 8, "T-8"
	in := billable(
		session(1, seg("2026-03-02 09:00", "2026-03-02 09:20")),
		session(2, seg("2026-03-02 14:00", "2026-03-02 14:25")),
		// 00:30 in Brussels is still 23:30 UTC the day before: the desk's
		// date counts, so this is the next day's intervention.
		session(3, billing.Segment{Start: time.Date(2026, 3, 2, 23, 30, 0, 0, time.UTC),
			End: time.Date(2026, 3, 2, 23, 40, 0, 0, time.UTC), Level: billing.LevelControl, Technician: tina}),
		other,
	)
	cases := []struct {
		merge    bool
		sessions [][]int64
		billed   []int64
	}{
		{false, [][]int64{{1}, {2}, {4}, {3}}, []int64{60, 60, 60, 60}},
		{true, [][]int64{{1, 2}, {4}, {3}}, []int64{60, 60, 60}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("merge=%v", c.merge), func(t *testing.T) {
			in.Settings.MergeTicketDay = c.merge
			st := compute(t, in)
			if len(st.Interventions) != len(c.sessions) {
				t.Fatalf("%d interventions, want %d: %+v", len(st.Interventions), len(c.sessions), st.Interventions)
			}
			for i, iv := range st.Interventions {
				if !slices.Equal(iv.SessionIDs, c.sessions[i]) || iv.BilledMinutes != c.billed[i] {
					t.Errorf("intervention %d: sessions %v billed %d, want %v %d", i+1, iv.SessionIDs, iv.BilledMinutes, c.sessions[i], c.billed[i])
				}
			}
			if last := st.Interventions[len(st.Interventions)-1]; last.Date != "2026-03-03" {
				t.Errorf("late session dated %s, want 2026-03-03 (Brussels)", last.Date)
			}
			wantTotal := int64(len(c.billed)) * 8500
			if st.Totals.AmountCents != wantTotal {
				t.Errorf("total %d, want %d", st.Totals.AmountCents, wantTotal)
			}
		})
	}
	in.Settings.MergeTicketDay = true
	st := compute(t, in)
	if iv := st.Interventions[0]; iv.BillableMinutes != 45 || iv.RoundingMinutes != 0 || iv.MinimumMinutes != 15 {
		t.Errorf("merged day %+v, want 45 billable + 15 minimum", iv)
	}
}

func TestHandOver(t *testing.T) {
	st := compute(t, billable(session(1, seg("09:00", "09:20"), seg("09:20", "09:50", by(jan)))))
	if len(st.Interventions) != 1 || len(st.Lines) != 3 {
		t.Fatalf("%d interventions %d lines, want 1 and 3 (two technicians, one adjustment)", len(st.Interventions), len(st.Lines))
	}
	want := []struct {
		kind          string
		tech          string
		billed, cents int64
	}{
		{billing.KindWork, "Tina Peeters", 20, 2833},
		{billing.KindWork, "Jan Claes", 30, 4250},
		{billing.KindAdjustment, "", 10, 1417},
	}
	for i, w := range want {
		l := st.Lines[i]
		name := ""
		if l.Technician != nil {
			name = l.Technician.Name
		}
		if l.Kind != w.kind || name != w.tech || l.BilledMinutes != w.billed || l.AmountCents != w.cents {
			t.Errorf("line %d: %s %q %d min %d cents, want %+v", i, l.Kind, name, l.BilledMinutes, l.AmountCents, w)
		}
	}
	if adj := st.Lines[2]; adj.RoundingMinutes != 10 || adj.MinimumMinutes != 0 {
		t.Errorf("adjustment %+v, want 10 rounding minutes", adj)
	}
	if st.Totals.AmountCents != 8500 {
		t.Errorf("amount %d, want 8500 (one hour, rounded once)", st.Totals.AmountCents)
	}
}

func TestDisconnectExcluded(t *testing.T) {
	// 40 minutes, a 20-minute disconnect, 25 minutes: 65 worked (75
	// billed), not 85 on the wall clock (90 billed).
	st := compute(t, billable(session(1, seg("09:00", "09:40"), seg("10:00", "10:25"))))
	lines := workLines(st)
	if len(lines) != 1 {
		t.Fatalf("%d work lines, want 1", len(lines))
	}
	if l := lines[0]; l.WorkedSeconds != 65*60 || !l.Start.Equal(tm("2026-03-02 09:00")) || !l.End.Equal(tm("2026-03-02 10:25")) {
		t.Errorf("line %+v, want 65 worked minutes from 09:00 to 10:25", l)
	}
	if iv := st.Interventions[0]; iv.BilledMinutes != 75 {
		t.Errorf("billed %d, want 75", iv.BilledMinutes)
	}
}

func TestDataInterventionInCoveredSession(t *testing.T) {
	st := compute(t, covered(session(1,
		seg("09:00", "09:25"), seg("09:25", "09:45", level(billing.LevelDataIntervention)), seg("09:45", "09:50"))))
	lines := workLines(st)
	if len(lines) != 2 {
		t.Fatalf("%d work lines, want control and data_intervention", len(lines))
	}
	if c := lines[0]; c.Level != billing.LevelControl || !c.Covered || c.WorkedSeconds != 30*60 {
		t.Errorf("control line %+v, want 30 covered minutes", c)
	}
	if d := lines[1]; d.Level != billing.LevelDataIntervention || d.Covered ||
		!slices.Equal(d.Reasons, []helpdesk.Reason{helpdesk.DataIntervention}) || d.BilledMinutes != 20 {
		t.Errorf("data line %+v, want 20 billable minutes", d)
	}
	iv := st.Interventions[0]
	if iv.CoveredSeconds != 1800 || iv.BillableSeconds != 1200 || iv.BilledMinutes != 60 || iv.AmountCents != 8500 {
		t.Errorf("intervention %+v, want 30 covered, 20 billable, 60 billed, 8500", iv)
	}
}

func TestOutOfHoursSurcharge(t *testing.T) {
	late := session(1, seg("2026-03-02 19:00", "2026-03-02 19:40"))
	late.OutsideHours = true
	day := session(2, seg("2026-03-02 10:00", "2026-03-02 10:30"))
	in := covered(late, day)
	in.Settings.OutOfHoursSurchargePercent = 50
	st := compute(t, in)
	// The day session is covered; the late one bills 60 minutes at €85
	// plus 50%.
	if st.Totals.AmountCents != 12750 || st.Totals.VATCents != 2678 || st.Totals.TotalCents != 15428 {
		t.Errorf("totals %+v, want 12750 + 2678 VAT", st.Totals)
	}
	if adj, _ := adjustment(st, 2); adj.SurchargePercent != 50 {
		t.Errorf("adjustment of an out-of-hours session: surcharge %d, want 50", adj.SurchargePercent)
	}

	// A merged day mixing both: the work carries its own surcharge, the
	// rounding the lower one.
	in.CategoryCovered = false
	in.Settings.MergeTicketDay = true
	st = compute(t, in)
	if len(st.Interventions) != 1 {
		t.Fatalf("%d interventions, want 1", len(st.Interventions))
	}
	var got []string
	for _, l := range st.Lines {
		got = append(got, fmt.Sprintf("%s %dmin +%d%% %d", l.Kind, l.BilledMinutes, l.SurchargePercent, l.AmountCents))
	}
	want := []string{"work 30min +0% 4250", "work 40min +50% 8500", "adjustment 5min +0% 708"}
	if !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
}

func TestDefaultRate(t *testing.T) {
	in := billable(session(1, seg("09:00", "09:10")))
	in.Contract = nil
	st := compute(t, in)
	if st.Totals.AmountCents != 8000 || st.Interventions[0].ContractStatus != "" {
		t.Errorf("no contract: %+v, want 8000 at the default rate", st.Totals)
	}

	in.Settings.DefaultRates = nil
	_, err := billing.Compute(in)
	if fe := (*billing.FieldError)(nil); !errors.As(err, &fe) || fe.Field != "settings.defaultRates" {
		t.Errorf("no default rate: %v, want an error on settings.defaultRates", err)
	}

	in = billable(session(1, seg("09:00", "09:10")))
	in.Contract.Rates[0].EffectiveFrom = "2026-04-01"
	_, err = billing.Compute(in)
	if fe := (*billing.FieldError)(nil); !errors.As(err, &fe) || fe.Field != "contract.rates" || !strings.Contains(err.Error(), "2026-03-02") {
		t.Errorf("no contract rate on the day: %v", err)
	}

	// Covered work needs no rate: nothing is priced.
	in = covered(session(1, seg("09:00", "09:10")))
	in.Contract.Rates, in.Settings.DefaultRates = nil, nil
	if st := compute(t, in); st.Totals.AmountCents != 0 {
		t.Errorf("covered without rates: %+v", st.Totals)
	}
}

func TestVAT(t *testing.T) {
	cases := []struct{ rate, vatPercent, vat int64 }{
		{8500, 21, 1785},
		{50, 21, 11}, // 10.5 cents rounds up
		{8500, 6, 510},
		{8500, 0, 0},
	}
	for _, c := range cases {
		in := billable(session(1, seg("09:00", "09:10")))
		in.Contract.Rates[0].CentsPerHour = c.rate
		in.Settings.VATPercent = c.vatPercent
		st := compute(t, in)
		if st.Totals.AmountCents != c.rate || st.Totals.VATCents != c.vat || st.Totals.TotalCents != c.rate+c.vat {
			t.Errorf("rate %d at %d%%: %+v, want VAT %d", c.rate, c.vatPercent, st.Totals, c.vat)
		}
	}
}

// TestAmountFormula: the lines of an intervention add up to the formula
// applied to its billed minutes, even where each line alone rounds half a
// cent up.
func TestAmountFormula(t *testing.T) {
	// €85.50 an hour is 142.5 cents a minute.
	in := billable(session(1, seg("09:00", "09:01"), seg("09:01", "09:20", by(jan)), seg("09:20", "09:21", by(billing.Technician{ID: 3, Name: "An"}))))
	in.Contract.Rates[0].CentsPerHour = 8550
	st := compute(t, in)
	if st.Totals.AmountCents != 8550 {
		t.Errorf("amount %d, want 8550 for one hour; lines %+v", st.Totals.AmountCents, st.Lines)
	}
}

func TestInvalidInput(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*billing.Input)
		field string
	}{
		{"end before start", func(in *billing.Input) { in.Sessions[0].Segments[1] = seg("10:00", "09:59") }, "sessions[0].segments[1].end"},
		{"overlap", func(in *billing.Input) { in.Sessions[0].Segments[1] = seg("09:09", "09:30") }, "sessions[0].segments[1].start"},
		{"overlap given out of order", func(in *billing.Input) {
			in.Sessions[0].Segments = []billing.Segment{seg("09:20", "09:40"), seg("09:00", "09:21")}
		}, "sessions[0].segments[0].start"},
		{"segment inside another", func(in *billing.Input) { in.Sessions[0].Segments[1] = seg("09:02", "09:03") }, "sessions[0].segments[1].start"},
		{"over a day", func(in *billing.Input) { in.Sessions[0].Segments[1] = seg("2026-03-02 10:00", "2026-03-03 10:01") }, "sessions[0].segments[1].end"},
		{"no start", func(in *billing.Input) { in.Sessions[0].Segments[0].Start = time.Time{} }, "sessions[0].segments[0].start"},
		{"unknown level", func(in *billing.Input) { in.Sessions[0].Segments[0].Level = "admin" }, "sessions[0].segments[0].level"},
		{"no technician", func(in *billing.Input) { in.Sessions[0].Segments[0].Technician = billing.Technician{ID: 1} }, "sessions[0].segments[0].technician.name"},
		{"session id", func(in *billing.Input) { in.Sessions[0].ID = 0 }, "sessions[0].id"},
		{"session twice", func(in *billing.Input) { in.Sessions = append(in.Sessions, in.Sessions[0]) }, "sessions[1].id"},
		{"merge without ticket", func(in *billing.Input) {
			in.Settings.MergeTicketDay = true
			in.Sessions[0].TicketID, in.Sessions[0].TicketRef = 0, ""
		}, "sessions[0].ticketId"},
		{"time zone not loaded", func(in *billing.Input) { in.Settings.Location = nil }, "settings.timeZone"},
		{"increment", func(in *billing.Input) { in.Settings.IncrementMinutes = 0 }, "settings.incrementMinutes"},
		{"minimum", func(in *billing.Input) { in.Settings.MinimumMinutes = -1 }, "settings.minimumMinutes"},
		{"surcharge", func(in *billing.Input) { in.Settings.OutOfHoursSurchargePercent = -5 }, "settings.outOfHoursSurchargePercent"},
		{"VAT", func(in *billing.Input) { in.Settings.VATPercent = 121 }, "settings.vatPercent"},
		{"default rate date", func(in *billing.Input) { in.Settings.DefaultRates[0].EffectiveFrom = "1/1/2026" }, "settings.defaultRates[0].effectiveFrom"},
		{"contract start", func(in *billing.Input) { in.Contract.StartsOn = "" }, "contract.startsOn"},
		{"contract ends before it starts", func(in *billing.Input) { in.Contract.EndsOn = "2025-12-31" }, "contract.endsOn"},
		{"contract status", func(in *billing.Input) { in.Contract.Statuses[0].Status = "paused" }, "contract.statuses[0].status"},
		{"negative rate", func(in *billing.Input) { in.Contract.Rates[0].CentsPerHour = -1 }, "contract.rates[0].centsPerHour"},
		{"absurd rate", func(in *billing.Input) { in.Contract.Rates[0].CentsPerHour = billing.MaxCentsPerHour + 1 }, "contract.rates[0].centsPerHour"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := billable(session(1, seg("09:00", "09:10"), seg("09:10", "09:20")))
			c.edit(&in)
			_, err := billing.Compute(in)
			var fe *billing.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("error %v, want one on %s", err, c.field)
			}
		})
	}
}

// TestSegmentsTouching: a segment may start when the previous ends (a
// hand-over), and segments may come in any order.
func TestSegmentsTouching(t *testing.T) {
	in := billable(session(1, seg("09:20", "09:30", by(jan)), seg("09:00", "09:20")))
	st := compute(t, in)
	if l := workLines(st); len(l) != 2 || l[0].Technician.Name != "Tina Peeters" {
		t.Errorf("lines %+v, want Tina first", l)
	}
	if in.Sessions[0].Segments[0].Technician != jan {
		t.Error("Compute reordered the caller's segments")
	}
}

func TestEmpty(t *testing.T) {
	in := billable(session(1))
	st := compute(t, in)
	if len(st.Lines) != 0 || len(st.Interventions) != 0 || st.Totals != (billing.Totals{VATPercent: 21}) {
		t.Errorf("a session without segments: %+v", st)
	}
}
