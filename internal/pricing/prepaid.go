package pricing

import (
	"context"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
)

// Prepaid hours (docs/billing.md, "Prepaid hours"). What a block has left
// is never stored: it is computed from the work billed since the block was
// bought, by the same engine as the statements, so the balance the
// technician, the customer's cost notice and the statement show is one
// figure.

// location is the desk's time zone, in which blocks are bought and expire.
func (p *Pricer) location(ctx context.Context) (*time.Location, error) {
	cal, err := LoadCalendar(ctx, p.store)
	if err != nil {
		return nil, err
	}
	return time.LoadLocation(cal.TimeZone)
}

// PrepaidOf returns the customer's blocks for billing the work in
// [from, to): each with what the work before from used, the desk's
// threshold, and to's eve as the date of the balance. nil when the
// customer has no blocks.
func (p *Pricer) PrepaidOf(ctx context.Context, cu store.Customer, from, to time.Time) (*billing.Prepaid, error) {
	blocks, err := p.store.PrepaidBlocks(ctx, cu.ID)
	if err != nil || len(blocks) == 0 {
		return nil, err
	}
	warn, err := p.store.PrepaidWarnMinutes(ctx)
	if err != nil {
		return nil, err
	}
	loc, err := p.location(ctx)
	if err != nil {
		return nil, err
	}
	pre := &billing.Prepaid{WarnMinutes: warn, AsOf: to.In(loc).AddDate(0, 0, -1).Format(time.DateOnly)}
	for _, b := range blocks {
		pre.Blocks = append(pre.Blocks, b.Billing())
	}
	first, err := time.ParseInLocation(time.DateOnly, blocks[0].PurchasedOn, loc) // blocks are oldest first
	if err != nil || !first.Before(from) {
		return pre, err
	}
	set, cbs, err := p.Billing(ctx, store.BillingFilter{From: first, To: from, CustomerID: cu.ID})
	if err != nil || len(cbs) == 0 {
		return pre, err
	}
	before, err := Statement(cbs[0], set)
	if err != nil {
		return nil, err
	}
	if before, err = billing.DeductPrepaid(before, billing.Prepaid{Blocks: pre.Blocks}); err != nil {
		return nil, err
	}
	for i, b := range before.Prepaid.Blocks {
		pre.Blocks[i].UsedMinutes = b.DeductedMinutes // both oldest first
	}
	return pre, nil
}

// PrepaidNow is the customer's balance today, after all work so far (a
// live session's up to now); nil without blocks.
func (p *Pricer) PrepaidNow(ctx context.Context, cu store.Customer) (*billing.PrepaidSummary, error) {
	loc, err := p.location(ctx)
	if err != nil {
		return nil, err
	}
	now := p.now().In(loc)
	tomorrow := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, loc)
	pre, err := p.PrepaidOf(ctx, cu, tomorrow, tomorrow)
	if err != nil || pre == nil {
		return nil, err
	}
	st, err := billing.DeductPrepaid(billing.Statement{}, *pre)
	if err != nil {
		return nil, err
	}
	return st.Prepaid, nil
}

// prepaidNotice is the balance as the customer's cost notice states it,
// nil when the customer has no blocks.
func (p *Pricer) prepaidNotice(ctx context.Context, customerID int64) (*protocol.PrepaidNotice, error) {
	if customerID == 0 {
		return nil, nil
	}
	cu, err := p.store.Customer(ctx, customerID)
	if err != nil {
		return nil, err
	}
	sum, err := p.PrepaidNow(ctx, cu)
	if err != nil || sum == nil {
		return nil, err
	}
	return &protocol.PrepaidNotice{LeftMinutes: sum.RemainingMinutes, Warning: sum.Warning,
		ExpiredMinutes: sum.ExpiredMinutes}, nil
}
