package billing_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/billing"
)

// TestComputeAll bills two tickets with different facts as one statement:
// interventions interleaved by start and numbered across the parts, VAT
// once on the total.
func TestComputeAll(t *testing.T) {
	s := settings()
	// The reference person's ticket: covered at 09:00, and the same
	// person's second ticket at 14:00 with a data intervention.
	ref := covered(session(1, seg("09:00", "09:30")), session(3, seg("14:00", "15:01", level(billing.LevelDataIntervention))))
	// A contact who is not a reference person, at 11:00: billable.
	other := covered(session(2, seg("11:00", "12:01")))
	other.ReferencePerson = false
	st, err := billing.ComputeAll("Bakkerij", s, []billing.Input{ref, other})
	if err != nil {
		t.Fatal(err)
	}
	var order [][]int64
	for _, iv := range st.Interventions {
		order = append(order, iv.SessionIDs)
	}
	if !slices.EqualFunc(order, [][]int64{{1}, {2}, {3}}, slices.Equal) {
		t.Fatalf("interventions %v, want sessions 1, 2, 3 in order of start", order)
	}
	for _, l := range st.Lines {
		if want := int(l.SessionIDs[0]); l.Intervention != want {
			t.Errorf("line of session %v numbered %d, want %d", l.SessionIDs, l.Intervention, want)
		}
	}
	if !slices.IsSortedFunc(st.Lines, func(a, b billing.Line) int { return a.Intervention - b.Intervention }) {
		t.Error("lines are not in the order of their interventions")
	}
	// 75 minutes at €85 twice: 2 × 10625 cents. VAT on the total is
	// 4462.5 → 4463, where two statements would each round 2231.25 down.
	tot := st.Totals
	if tot.CoveredSeconds != 1800 || tot.BilledMinutes != 150 || tot.AmountCents != 21250 || tot.VATCents != 4463 || tot.TotalCents != 25713 {
		t.Errorf("totals %+v", tot)
	}
	if st.Customer != "Bakkerij" {
		t.Errorf("customer %q", st.Customer)
	}

	// One part gives what Compute gives.
	one, err := billing.ComputeAll(ref.Customer, ref.Settings, []billing.Input{ref})
	if err != nil {
		t.Fatal(err)
	}
	want, err := billing.Compute(ref)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(one)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Errorf("ComputeAll of one part\n%s\nCompute\n%s", a, b)
	}

	// No parts: an empty statement, with the settings.
	empty, err := billing.ComputeAll("Bakkerij", s, nil)
	if err != nil || len(empty.Lines) != 0 || empty.Totals != (billing.Totals{VATPercent: 21}) {
		t.Errorf("no parts: %+v, %v", empty, err)
	}

	// A part at fault is named.
	bad := covered(session(4, seg("10:00", "09:00")))
	_, err = billing.ComputeAll("Bakkerij", s, []billing.Input{ref, bad})
	var fe *billing.FieldError
	if !errors.As(err, &fe) || fe.Field != "parts[1].sessions[0].segments[0].end" {
		t.Errorf("bad part: %v", err)
	}
}

// TestEarlierRules: work is billed by the rules in force when its
// intervention began. A desk that lowered its minimum from 60 to 30
// minutes, raised its surcharge and began merging a ticket's day at noon
// bills the morning's work as before and the afternoon's by the new rules,
// and does not merge a day across the change.
func TestEarlierRules(t *testing.T) {
	s := settings()
	s.MinimumMinutes, s.OutOfHoursSurchargePercent, s.MergeTicketDay = 30, 50, true
	s.EarlierRules = []billing.EarlierRules{
		{Until: tm("2026-03-01 00:00"), IncrementMinutes: 10, MinimumMinutes: 90},
		{Until: tm("2026-03-02 12:00"), IncrementMinutes: 15, MinimumMinutes: 60},
	}
	out := session(5, seg("2026-02-27 20:00", "2026-02-27 20:05"))
	out.OutsideHours = true
	in := billable(
		out,                               // before both changes
		session(1, seg("09:00", "09:07")), // morning: minimum 60, no merging
		session(2, seg("10:00", "10:07")), // its own intervention
		session(3, seg("12:30", "12:37")), // afternoon: merged with 4, minimum 30
		session(4, seg("14:00", "14:07")))
	in.Settings = s
	st := compute(t, in)
	type got struct {
		sessions string
		billed   int64
	}
	var ivs []got
	for _, iv := range st.Interventions {
		ivs = append(ivs, got{fmt.Sprint(iv.SessionIDs), iv.BilledMinutes})
	}
	want := []got{{"[5]", 90}, {"[1]", 60}, {"[2]", 60}, {"[3 4]", 30}}
	if !slices.Equal(ivs, want) {
		t.Fatalf("interventions %v, want %v", ivs, want)
	}
	for _, l := range st.Lines {
		if l.Kind == billing.KindWork && slices.Contains(l.SessionIDs, 5) && l.SurchargePercent != 0 {
			t.Errorf("out-of-hours work of February carries a %d%% surcharge; none was in force", l.SurchargePercent)
		}
	}
	if !strings.Contains(st.Lines[1].Note, "10-minute increments") || !strings.Contains(st.Lines[1].Note, "90-minute minimum") {
		t.Errorf("February's adjustment note %q does not name February's rules", st.Lines[1].Note)
	}
	if len(st.Settings.EarlierRules) != 2 {
		t.Errorf("the statement's settings lost the earlier rules: %+v", st.Settings.EarlierRules)
	}

	// Without earlier rules, the rules of today bill everything.
	s.EarlierRules = nil
	in.Settings = s
	st = compute(t, in)
	if n := len(st.Interventions); n != 2 || st.Totals.BilledMinutes != 60 {
		t.Errorf("today's rules: %d interventions, %d minutes; want 2 (one per day and ticket) of 30", n, st.Totals.BilledMinutes)
	}
}
