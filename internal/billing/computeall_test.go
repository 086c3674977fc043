package billing_test

import (
	"encoding/json"
	"errors"
	"slices"
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
