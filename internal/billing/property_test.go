package billing_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/store"
)

// randomInput makes a plausible month of sessions: up to six sessions on
// two tickets, each of up to five segments with gaps, by three technicians,
// under random facts and settings. Every date has a rate.
func randomInput(r *rand.Rand) billing.Input {
	techs := []billing.Technician{tina, jan, {ID: 3, Name: "An Maes"}}
	in := billing.Input{ReferencePerson: r.IntN(2) == 0, CategoryCovered: r.IntN(2) == 0, Settings: settings()}
	if r.IntN(4) > 0 {
		in.Contract = contract()
		for range r.IntN(3) {
			in.Contract.Statuses = append(in.Contract.Statuses, billing.StatusChange{
				Status: []string{"active", "suspended", "cancelled"}[r.IntN(3)], EffectiveOn: fmt.Sprintf("2026-03-%02d", 1+r.IntN(28))})
		}
		in.Contract.Rates = append(in.Contract.Rates, billing.Rate{CentsPerHour: int64(r.IntN(20000)), EffectiveFrom: fmt.Sprintf("2026-03-%02d", 1+r.IntN(28))})
	}
	in.Settings.MergeTicketDay = r.IntN(2) == 0
	in.Settings.OutOfHoursSurchargePercent = int64(r.IntN(3) * 25)
	in.Settings.IncrementMinutes = []int64{1, 5, 15, 30}[r.IntN(4)]
	in.Settings.MinimumMinutes = []int64{0, 30, 60}[r.IntN(3)]
	in.Settings.VATPercent = []int64{0, 6, 21}[r.IntN(3)]
	for id := range int64(1 + r.IntN(6)) {
		se := billing.Session{ID: id + 1, TicketID: int64(1 + r.IntN(2)), OutsideHours: r.IntN(4) == 0}
		at := time.Date(2026, 3, 1+r.IntN(28), 8+r.IntN(10), r.IntN(60), r.IntN(60), 0, brussels)
		for range r.IntN(6) {
			at = at.Add(time.Duration(r.IntN(3)*r.IntN(1200)) * time.Second) // a gap, often none
			end := at.Add(time.Duration(r.IntN(2400)) * time.Second)
			se.Segments = append(se.Segments, billing.Segment{Start: at, End: end,
				Level: billing.Levels[r.IntN(len(billing.Levels))], Technician: techs[r.IntN(len(techs))]})
			at = end
		}
		in.Sessions = append(in.Sessions, se)
	}
	return in
}

// TestProperties: for random inputs, billed minutes are never negative and
// never below the billable minutes, covered time costs nothing, amounts are
// never negative, and everything adds up (checkConsistent).
func TestProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		in := randomInput(r)
		st, err := billing.Compute(in)
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		checkConsistent(t, st)
		for _, iv := range st.Interventions {
			s := in.Settings
			if iv.BilledMinutes < 0 || iv.AmountCents < 0 {
				t.Fatalf("input %d: negative %+v", i, iv)
			}
			if iv.BillableMinutes > 0 && (iv.BilledMinutes < iv.BillableMinutes || iv.BilledMinutes < s.MinimumMinutes ||
				(iv.BilledMinutes%s.IncrementMinutes != 0 && iv.BilledMinutes != s.MinimumMinutes)) {
				t.Fatalf("input %d: billed %d for %d billable minutes under %+v", i, iv.BilledMinutes, iv.BillableMinutes, s)
			}
		}
		for _, l := range st.Lines {
			if l.Covered && l.AmountCents != 0 {
				t.Fatalf("input %d: covered line costs %d", i, l.AmountCents)
			}
		}
		if t.Failed() {
			t.Fatalf("input %d: %+v", i, in)
		}
	}
}

// TestCoveredCostsNothing: dropping the covered segments from a statement
// changes neither its billed minutes nor its amount.
func TestCoveredCostsNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 1000 {
		in := randomInput(r)
		in.Contract, in.ReferencePerson, in.CategoryCovered = contract(), true, true
		all := compute(t, in)
		var billableOnly []billing.Session
		for _, se := range in.Sessions {
			kept := se
			kept.Segments = nil
			for _, seg := range se.Segments {
				if se.OutsideHours || seg.Level == billing.LevelDataIntervention {
					kept.Segments = append(kept.Segments, seg)
				}
			}
			billableOnly = append(billableOnly, kept)
		}
		in.Sessions = billableOnly
		some := compute(t, in)
		if all.Totals.AmountCents != some.Totals.AmountCents || all.Totals.BilledMinutes != some.Totals.BilledMinutes {
			t.Fatalf("input %d: with covered time %+v, without %+v", i, all.Totals, some.Totals)
		}
	}
}

// TestMonotone: more worked time never bills fewer minutes, and at one
// rate never costs less.
func TestMonotone(t *testing.T) {
	for _, inc := range []int64{1, 5, 15, 30, 60} {
		for _, minimum := range []int64{0, 30, 60, 90} {
			s := billing.Settings{IncrementMinutes: inc, MinimumMinutes: minimum}
			prev := int64(0)
			for w := range int64(3000) {
				rounding, raised, billed := billing.RoundUp(w, s)
				if billed < prev || billed < w || rounding < 0 || raised < 0 || (w == 0) != (billed == 0) {
					t.Fatalf("increment %d minimum %d: RoundUp(%d) = %d, %d, %d after %d", inc, minimum, w, rounding, raised, billed, prev)
				}
				prev = billed
			}
		}
	}

	r := rand.New(rand.NewPCG(5, 6))
	for i := range 1000 {
		in := randomInput(r)
		in.Settings.OutOfHoursSurchargePercent = 0 // one price per minute
		before := compute(t, in)
		// Lengthen the last segment of a session: nothing can overlap it.
		se := &in.Sessions[r.IntN(len(in.Sessions))]
		if len(se.Segments) == 0 {
			continue
		}
		last := &se.Segments[len(se.Segments)-1]
		last.End = last.End.Add(time.Duration(1+r.IntN(1800)) * time.Second)
		after := compute(t, in)
		if after.Totals.BilledMinutes < before.Totals.BilledMinutes || after.Totals.AmountCents < before.Totals.AmountCents {
			t.Fatalf("input %d: more time billed %+v, before %+v", i, after.Totals, before.Totals)
		}
	}
}

// TestLimitsDoNotOverflow: the largest input Validate accepts still prices
// without overflowing.
func TestLimitsDoNotOverflow(t *testing.T) {
	in := billable()
	in.Contract.Rates[0].CentsPerHour = billing.MaxCentsPerHour
	in.Settings.OutOfHoursSurchargePercent = billing.MaxSurchargePercent
	in.Settings.VATPercent = 100
	start := tm("2026-03-02 00:00")
	for id := range int64(billing.MaxSessions) {
		se := billing.Session{ID: id + 1, OutsideHours: true, Segments: make([]billing.Segment, 0, 20)}
		// Not the full 1000 segments per session: the arithmetic is the
		// same, and the test stays quick.
		for range 20 {
			se.Segments = append(se.Segments, billing.Segment{Start: start, End: start.Add(billing.MaxSegment),
				Level: billing.LevelControl, Technician: tina})
			start = start.Add(billing.MaxSegment)
		}
		in.Sessions = append(in.Sessions, se)
	}
	st := compute(t, in)
	// 1000 × 20 days, at €10,000 an hour plus 1000%.
	want := int64(1000*20*24) * billing.MaxCentsPerHour * 11
	if st.Totals.AmountCents != want || st.Totals.TotalCents != 2*want {
		t.Errorf("amount %d, want %d", st.Totals.AmountCents, want)
	}
}

// TestContractMatchesStore: billing's copy of the contract history rules
// answers as store.Contract does, for histories as the store keeps them.
func TestContractMatchesStore(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	day := func(d int) string { return time.Date(2026, 1, 1+d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly) }
	for range 500 {
		var b billing.Contract
		var s store.Contract
		b.StartsOn = day(r.IntN(30))
		s.StartsOn = b.StartsOn
		if r.IntN(2) == 0 {
			b.EndsOn = day(30 + r.IntN(30))
			s.EndsOn = b.EndsOn
		}
		d := 0
		for range 1 + r.IntN(4) {
			d += r.IntN(10)
			status := []string{"active", "suspended", "cancelled"}[r.IntN(3)]
			b.Statuses = append(b.Statuses, billing.StatusChange{Status: status, EffectiveOn: day(d)})
			s.Statuses = append(s.Statuses, store.StatusChange{Status: status, EffectiveOn: day(d)})
			cents := int64(r.IntN(10000))
			b.Rates = append(b.Rates, billing.Rate{CentsPerHour: cents, EffectiveFrom: day(d)})
			s.Rates = append(s.Rates, store.Rate{CentsPerHour: cents, EffectiveFrom: day(d)})
		}
		for d := -5; d < 70; d++ {
			date := day(d)
			bc, bok := b.RateOn(date)
			sc, sok := s.RateOn(date)
			if b.StatusOn(date) != s.StatusOn(date) || b.InForce(date) != s.InForce(date) || bc != sc || bok != sok {
				t.Fatalf("%s: billing %q %v %d %v, store %q %v %d %v (%+v)", date, b.StatusOn(date), b.InForce(date), bc, bok,
					s.StatusOn(date), s.InForce(date), sc, sok, b)
			}
		}
	}
}

// FuzzQuoteJSON: any bytes either decode into an input Compute bills
// consistently, or are refused with a FieldError; nothing panics.
func FuzzQuoteJSON(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 8 {
		b, err := json.Marshal(randomInput(r))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if doc, err := os.ReadFile(docPath); err == nil {
		for _, ex := range docExamples(doc) {
			f.Add([]byte(ex.request))
		}
	}
	f.Add([]byte(`{"referencePerson":true,"sessions":[{"id":1,"segments":[{"start":"2026-03-02T09:00:00+01:00","end":"2026-03-02T08:00:00+01:00","level":"view","technician":{"name":"x"}}]}]}`))
	f.Add([]byte(`{"sessions":[null],"settings":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := billing.Decode(bytes.NewReader(data))
		var fe *billing.FieldError
		if err != nil {
			if !errors.As(err, &fe) {
				t.Fatalf("Decode error %T %v is not a FieldError", err, err)
			}
			return
		}
		st, err := billing.Compute(in)
		if err != nil {
			if !errors.As(err, &fe) {
				t.Fatalf("Compute error %T %v is not a FieldError", err, err)
			}
			return
		}
		checkConsistent(t, st)
	})
}

// TestShownTotalsAddUp: the statement's summary ("6 min worked, of which
// 2 min covered; 60 min billed") equals the sum of the lines shown above
// it, for random months of sessions: the totals are summed from the
// rounded lines, never rounded again on their own.
func TestShownTotalsAddUp(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 2))
	for i := range 2000 {
		in := randomInput(r)
		st, err := billing.Compute(in)
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		var worked, covered, billed int64
		for _, l := range st.Lines {
			billed += l.BilledMinutes
			if l.Kind != billing.KindWork {
				continue
			}
			worked += l.WorkedMinutes
			if l.Covered {
				covered += l.WorkedMinutes
			}
		}
		tot := st.Totals
		if tot.WorkedMinutes != worked || tot.CoveredMinutes != covered || tot.BilledMinutes != billed {
			t.Fatalf("input %d: totals say %d min worked, %d covered, %d billed; the lines add up to %d, %d, %d",
				i, tot.WorkedMinutes, tot.CoveredMinutes, tot.BilledMinutes, worked, covered, billed)
		}
	}
}

// TestWorkedByLevelAddsUp: over random sessions, the duration a customer's
// status page shows equals the sum of its parts per level, each part is
// its own seconds rounded up once, and the total never hides time.
func TestWorkedByLevelAddsUp(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 4))
	for i := range 5000 {
		var segs []billing.Segment
		at := time.Date(2026, 3, 2, 9, 0, 0, 0, brussels)
		seconds := map[billing.Level]int64{}
		var all int64
		for range r.IntN(8) {
			at = at.Add(time.Duration(r.IntN(300)) * time.Second)
			end := at.Add(time.Duration(r.IntN(400)) * time.Second)
			seg := billing.Segment{Start: at, End: end, Level: billing.Levels[r.IntN(len(billing.Levels))], Technician: tina}
			segs = append(segs, seg)
			seconds[seg.Level] += seg.Seconds()
			all += seg.Seconds()
			at = end
		}
		parts, total := billing.WorkedByLevel(segs)
		var sum int64
		for _, p := range parts {
			sum += p.Minutes
			if p.Minutes != (seconds[p.Level]+59)/60 {
				t.Fatalf("input %d: %s shown as %d min for %d s", i, p.Level, p.Minutes, seconds[p.Level])
			}
		}
		if total != sum || total < (all+59)/60 {
			t.Fatalf("input %d: duration %d min, parts add up to %d, worked %d s", i, total, sum, all)
		}
	}
}
