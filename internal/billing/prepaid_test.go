package billing_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/meekijk/meekijk/internal/billing"
)

// randomPrepaid gives up to four blocks bought around the month of
// randomInput, some expiring in it, some partly used before.
func randomPrepaid(r *rand.Rand) *billing.Prepaid {
	p := &billing.Prepaid{WarnMinutes: int64(r.IntN(4) * 60)}
	for id := range int64(r.IntN(5)) {
		b := billing.PrepaidBlock{ID: id + 1, PurchasedOn: fmt.Sprintf("2026-%02d-%02d", 1+r.IntN(3), 1+r.IntN(28)),
			Minutes: int64(1 + r.IntN(600)), PriceCents: int64(r.IntN(100000))}
		b.UsedMinutes = int64(r.IntN(int(b.Minutes) + 1))
		if r.IntN(2) == 0 {
			b.ExpiresOn = fmt.Sprintf("2026-03-%02d", 1+r.IntN(28))
			if b.ExpiresOn < b.PurchasedOn {
				b.ExpiresOn = b.PurchasedOn
			}
		}
		p.Blocks = append(p.Blocks, b)
	}
	return p
}

// TestPrepaidProperties: for random inputs with random blocks, no block
// gives more than it had left, no block pays for work outside its
// validity, deducted + regie time is the billed time of every line,
// intervention and total, and the amounts are the regie minutes priced,
// exactly what the same work costs without blocks when nothing was
// deducted.
func TestPrepaidProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		in := randomInput(r)
		plain, err := billing.Compute(in)
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		in.Prepaid = randomPrepaid(r)
		st, err := billing.Compute(in)
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		blocks := map[int64]billing.PrepaidBlock{}
		for _, b := range in.Prepaid.Blocks {
			blocks[b.ID] = b
		}
		given := map[int64]int64{}
		var prepaid, amount int64
		for _, iv := range st.Interventions {
			var fromBlocks int64
			for _, d := range iv.Deductions {
				b := blocks[d.Block]
				if d.Minutes <= 0 || iv.Date < b.PurchasedOn || (b.ExpiresOn != "" && iv.Date > b.ExpiresOn) {
					t.Fatalf("input %d: intervention on %s took %d from block %+v", i, iv.Date, d.Minutes, b)
				}
				given[d.Block] += d.Minutes
				fromBlocks += d.Minutes
			}
			if fromBlocks != iv.PrepaidMinutes || iv.PrepaidMinutes+iv.RegieMinutes != iv.BilledMinutes || iv.RegieMinutes < 0 {
				t.Fatalf("input %d: intervention %+v: deducted %d + regie %d != billed %d", i, iv, fromBlocks, iv.RegieMinutes, iv.BilledMinutes)
			}
			prepaid += iv.PrepaidMinutes
			amount += iv.AmountCents
			var lines, lineAmount int64
			for _, l := range st.Lines {
				if l.Intervention != iv.Number || l.Covered {
					continue
				}
				if l.PrepaidMinutes+l.RegieMinutes != l.BilledMinutes || l.AmountCents < 0 || (l.RegieMinutes == 0 && l.AmountCents != 0) {
					t.Fatalf("input %d: line %+v", i, l)
				}
				lines += l.PrepaidMinutes
				lineAmount += l.AmountCents
			}
			if lines != iv.PrepaidMinutes || lineAmount != iv.AmountCents {
				t.Fatalf("input %d: lines give %d prepaid minutes and %d cents, intervention %+v", i, lines, lineAmount, iv)
			}
		}
		for id, n := range given {
			if b := blocks[id]; n > b.Minutes-b.UsedMinutes {
				t.Fatalf("input %d: block %+v gave %d minutes", i, b, n)
			}
		}
		tot := st.Totals
		if tot.PrepaidMinutes != prepaid || tot.PrepaidMinutes+tot.RegieMinutes != tot.BilledMinutes || tot.AmountCents != amount ||
			tot.BilledMinutes != plain.Totals.BilledMinutes || st.Prepaid.DeductedMinutes != prepaid {
			t.Fatalf("input %d: totals %+v (prepaid %d, amount %d), without blocks %+v", i, tot, prepaid, amount, plain.Totals)
		}
		if prepaid == 0 && tot.AmountCents != plain.Totals.AmountCents {
			t.Fatalf("input %d: nothing deducted but %d cents instead of %d", i, tot.AmountCents, plain.Totals.AmountCents)
		}
		if prepaid > 0 && tot.AmountCents > plain.Totals.AmountCents {
			t.Fatalf("input %d: blocks made it dearer: %d > %d", i, tot.AmountCents, plain.Totals.AmountCents)
		}
	}
}

// TestPrepaidRejected: a bad block is an error naming it.
func TestPrepaidRejected(t *testing.T) {
	good := billing.PrepaidBlock{ID: 1, PurchasedOn: "2026-01-01", Minutes: 600}
	for _, c := range []struct {
		field string
		p     billing.Prepaid
	}{
		{"prepaid.blocks[0].purchasedOn", billing.Prepaid{Blocks: []billing.PrepaidBlock{{ID: 1, PurchasedOn: "1-1-2026", Minutes: 60}}}},
		{"prepaid.blocks[1].id", billing.Prepaid{Blocks: []billing.PrepaidBlock{good, good}}},
		{"prepaid.blocks[0].usedMinutes", billing.Prepaid{Blocks: []billing.PrepaidBlock{{ID: 1, PurchasedOn: "2026-01-01", Minutes: 60, UsedMinutes: 61}}}},
		{"prepaid.blocks[0].expiresOn", billing.Prepaid{Blocks: []billing.PrepaidBlock{{ID: 1, PurchasedOn: "2026-01-01", Minutes: 60, ExpiresOn: "2025-12-31"}}}},
		{"prepaid.warnMinutes", billing.Prepaid{WarnMinutes: -1}},
	} {
		in := billing.Input{Settings: settings(), Prepaid: &c.p}
		_, err := billing.Compute(in)
		var fe *billing.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%+v: got %v, want an error naming %s", c.p, err, c.field)
		}
	}
}

func TestFormatHours(t *testing.T) {
	for m, want := range map[int64]string{435: "7 u 15", 420: "7 u", 5: "0 u 05"} {
		if got := billing.FormatHours(m, "u"); got != want {
			t.Errorf("FormatHours(%d) = %q, want %q", m, got, want)
		}
	}
}
