package billing

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Prepaid hours ("strippenkaart", docs/billing.md "Prepaid hours"): a
// customer buys blocks of time in advance; billable minutes, after the
// rounding and minimum of regie, are deducted from the oldest block valid
// on the intervention's date before anything is billed as regie.

// PrepaidBlock is one block of hours a customer bought.
type PrepaidBlock struct {
	ID          int64  `json:"id"`
	PurchasedOn string `json:"purchasedOn"`         // YYYY-MM-DD, first day it may be used
	Minutes     int64  `json:"minutes"`             // bought
	PriceCents  int64  `json:"priceCents"`          // paid, excl. VAT; for the reader and the statement
	ExpiresOn   string `json:"expiresOn,omitempty"` // last day it may be used; "" never expires
	// UsedMinutes were deducted before the work of this statement (earlier
	// periods), so a month's statement continues where the last one ended.
	UsedMinutes int64 `json:"usedMinutes"`
}

// validOn reports whether the block may pay for work on date.
func (b PrepaidBlock) validOn(date string) bool {
	return b.PurchasedOn <= date && (b.ExpiresOn == "" || date <= b.ExpiresOn)
}

// Prepaid is a customer's blocks with the desk's warning threshold.
type Prepaid struct {
	Blocks []PrepaidBlock `json:"blocks"`
	// WarnMinutes: when what is left on valid blocks falls to this or
	// below, the statement (and the console, and the customer's next cost
	// notice) says so. 0 warns only when nothing is left.
	WarnMinutes int64 `json:"warnMinutes"`
	// AsOf is the date the balance and expiry are reported for (the end
	// of the statement's period); "" is the last intervention's date.
	AsOf string `json:"asOf,omitempty"`
}

// Deduction is minutes of one intervention paid from one block.
type Deduction struct {
	Block   int64 `json:"block"`
	Minutes int64 `json:"minutes"`
}

// PrepaidBalance is one block after the statement.
type PrepaidBalance struct {
	PrepaidBlock
	DeductedMinutes  int64 `json:"deductedMinutes"`  // by this statement
	RemainingMinutes int64 `json:"remainingMinutes"` // still usable on AsOf
	// ExpiredMinutes were left when the block expired on or before AsOf:
	// reported so that hours never vanish unnoticed.
	ExpiredMinutes int64 `json:"expiredMinutes"`
}

// PrepaidSummary is what a statement with prepaid blocks adds.
type PrepaidSummary struct {
	AsOf             string           `json:"asOf"`
	Blocks           []PrepaidBalance `json:"blocks"`
	DeductedMinutes  int64            `json:"deductedMinutes"`
	RemainingMinutes int64            `json:"remainingMinutes"`
	ExpiredMinutes   int64            `json:"expiredMinutes"`
	WarnMinutes      int64            `json:"warnMinutes"`
	// Warning: RemainingMinutes is at or below WarnMinutes.
	Warning bool `json:"warning"`
}

// Paid-by labels of a billable line once prepaid blocks are applied.
const (
	PaidPrepaid      = "prepaid"
	PaidRegie        = "regie"
	PaidPrepaidRegie = "prepaid+regie"
)

// DeductPrepaid applies p to a statement Compute or ComputeAll made: each
// intervention, in order of start, pays its billed minutes from the oldest
// block valid on its date (by purchase date, then id), and what no block
// covers stays billed as regie. Lines carry their prepaid and regie
// minutes and are priced again on the regie minutes only, on running
// totals as always, so the amounts still add up to the cent.
func DeductPrepaid(st Statement, p Prepaid) (Statement, error) {
	if err := ValidatePrepaid(p); err != nil {
		return Statement{}, within("prepaid", err)
	}
	blocks := slices.SortedStableFunc(slices.Values(p.Blocks), func(a, b PrepaidBlock) int {
		return cmp.Or(strings.Compare(a.PurchasedOn, b.PurchasedOn), cmp.Compare(a.ID, b.ID))
	})
	sum := &PrepaidSummary{AsOf: p.AsOf, WarnMinutes: p.WarnMinutes, Blocks: make([]PrepaidBalance, len(blocks))}
	for i, b := range blocks {
		sum.Blocks[i] = PrepaidBalance{PrepaidBlock: b}
	}
	st.Interventions = slices.Clone(st.Interventions)
	st.Lines = slices.Clone(st.Lines)
	for i := range st.Interventions {
		iv := &st.Interventions[i]
		need := iv.BilledMinutes
		for j := range sum.Blocks {
			b := &sum.Blocks[j]
			left := b.Minutes - b.UsedMinutes - b.DeductedMinutes
			if need == 0 || left <= 0 || !b.validOn(iv.Date) {
				continue
			}
			take := min(need, left)
			b.DeductedMinutes += take
			need -= take
			iv.PrepaidMinutes += take
			iv.Deductions = append(iv.Deductions, Deduction{Block: b.ID, Minutes: take})
		}
		iv.RegieMinutes = iv.BilledMinutes - iv.PrepaidMinutes
		if sum.AsOf < iv.Date {
			sum.AsOf = iv.Date
		}
	}
	for n := range st.Interventions {
		iv := &st.Interventions[n]
		var lines []int // the intervention's lines, in their order
		for i := range st.Lines {
			if st.Lines[i].Intervention == iv.Number {
				lines = append(lines, i)
			}
		}
		left := iv.PrepaidMinutes
		for _, i := range lines {
			l := &st.Lines[i]
			if l.Covered {
				continue
			}
			l.PrepaidMinutes = min(left, l.BilledMinutes)
			left -= l.PrepaidMinutes
			l.RegieMinutes = l.BilledMinutes - l.PrepaidMinutes
			l.PaidBy = paidBy(l.PrepaidMinutes, l.RegieMinutes)
		}
		part := make([]Line, len(lines))
		for k, i := range lines {
			part[k] = st.Lines[i]
		}
		priceLines(part)
		iv.AmountCents = 0
		for k, i := range lines {
			st.Lines[i].AmountCents = part[k].AmountCents
			iv.AmountCents += part[k].AmountCents
		}
	}
	t := &st.Totals
	t.AmountCents, t.PrepaidMinutes = 0, 0
	for _, iv := range st.Interventions {
		t.AmountCents += iv.AmountCents
		t.PrepaidMinutes += iv.PrepaidMinutes
	}
	t.RegieMinutes = t.BilledMinutes - t.PrepaidMinutes
	t.VATCents = roundHalfUp(t.AmountCents*t.VATPercent, 100)
	t.TotalCents = t.AmountCents + t.VATCents
	for i := range sum.Blocks {
		b := &sum.Blocks[i]
		left := b.Minutes - b.UsedMinutes - b.DeductedMinutes
		sum.DeductedMinutes += b.DeductedMinutes
		switch {
		case b.ExpiresOn != "" && b.ExpiresOn < sum.AsOf:
			b.ExpiredMinutes = left
			sum.ExpiredMinutes += left
		case b.PurchasedOn <= sum.AsOf:
			b.RemainingMinutes = left
			sum.RemainingMinutes += left
		}
	}
	sum.Warning = sum.RemainingMinutes <= sum.WarnMinutes
	st.Prepaid = sum
	return st, nil
}

func paidBy(prepaid, regie int64) string {
	switch {
	case prepaid > 0 && regie > 0:
		return PaidPrepaidRegie
	case prepaid > 0:
		return PaidPrepaid
	}
	return PaidRegie
}

// Balance is what is left of blocks on date: the minutes still usable,
// and those lost to expiry before it. It is the figure the technician and
// the customer see before work starts.
func Balance(blocks []PrepaidBlock, date string) (remaining, expired int64) {
	for _, b := range blocks {
		left := b.Minutes - b.UsedMinutes
		switch {
		case b.ExpiresOn != "" && b.ExpiresOn < date:
			expired += left
		case b.PurchasedOn <= date:
			remaining += left
		}
	}
	return remaining, expired
}

// FormatHours writes minutes as the balance is spoken: "7 u 15", "7 h 15".
// unit is the language's hour abbreviation.
func FormatHours(minutes int64, unit string) string {
	if minutes%60 == 0 {
		return fmt.Sprintf("%d %s", minutes/60, unit)
	}
	return fmt.Sprintf("%d %s %02d", minutes/60, unit, minutes%60)
}

// maxPrepaidBlocks bounds a request like the sessions are bounded.
const maxPrepaidBlocks = 1000

// ValidatePrepaid checks blocks and threshold, naming the field at fault.
func ValidatePrepaid(p Prepaid) error {
	if len(p.Blocks) > maxPrepaidBlocks {
		return fieldErr("blocks", "more than %d blocks", maxPrepaidBlocks)
	}
	if p.WarnMinutes < 0 || p.WarnMinutes > maxPrepaidMinutes {
		return fieldErr("warnMinutes", "must be 0 to %d", maxPrepaidMinutes)
	}
	if p.AsOf != "" && !isDate(p.AsOf) {
		return fieldErr("asOf", "%q is not a date (YYYY-MM-DD)", p.AsOf)
	}
	seen := map[int64]bool{}
	for i, b := range p.Blocks {
		path := fmt.Sprintf("blocks[%d]", i)
		switch {
		case b.ID <= 0 || seen[b.ID]:
			return fieldErr(path+".id", "must be a positive number, once")
		case !isDate(b.PurchasedOn):
			return fieldErr(path+".purchasedOn", "%q is not a date (YYYY-MM-DD)", b.PurchasedOn)
		case b.ExpiresOn != "" && (!isDate(b.ExpiresOn) || b.ExpiresOn < b.PurchasedOn):
			return fieldErr(path+".expiresOn", "%q is not a date on or after purchasedOn", b.ExpiresOn)
		case b.Minutes <= 0 || b.Minutes > maxPrepaidMinutes:
			return fieldErr(path+".minutes", "must be 1 to %d", maxPrepaidMinutes)
		case b.UsedMinutes < 0 || b.UsedMinutes > b.Minutes:
			return fieldErr(path+".usedMinutes", "must be 0 to the block's minutes")
		case b.PriceCents < 0 || b.PriceCents > MaxCentsPerHour*maxPrepaidMinutes/60:
			return fieldErr(path+".priceCents", "must be 0 or more, within reason")
		}
		seen[b.ID] = true
	}
	return nil
}

// maxPrepaidMinutes is 10,000 hours: more than any block a desk sells.
const maxPrepaidMinutes = 600_000
