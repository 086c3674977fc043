package hub

import (
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/protocol"
)

// Estimates, overruns and billable work announced again (docs/billing.md,
// "Estimates and overruns"). The relay owns them: it prices the estimate
// with the cost notice, refuses a grant without its approval, watches the
// billable time against the approved estimate by its own clock, and asks
// the customer to keep a level when the work overran its estimate or
// became billable while at that level (consent.go). Every timer belongs to
// one room and is stopped when the level drops or the session is over;
// one that fires late finds its generation gone and does nothing.

// keepGrace is how long after the customer's deadline the relay gives
// the agent's own "no answer" before recording it itself: the agent steps
// down on its own at the deadline, and its message is the better record.
const keepGrace = 5 * time.Second

// estimateWatch is an approved estimate being watched.
type estimateWatch struct {
	level   protocol.Level // the level it was approved for, or a higher one
	notice  protocol.CostNotice
	minutes int
	// baseline is the session's billable time when it was approved: the
	// estimate is for the work from then on.
	baseline  time.Duration
	continued int // times the customer let the work go on
	stop      func() bool
}

// limit is where w's billable time overruns it.
func (w *estimateWatch) limit() time.Duration {
	return w.baseline + time.Duration(billing.OverrunLimitSeconds(int64(w.minutes), w.continued))*time.Second
}

// after arms an estimate or keep timer that the hub owns: Shutdown waits
// for it. It arms nothing once the hub is stopping (the returned stop then
// reports false, as for a timer that already fired).
func (h *Hub) after(d time.Duration, f func()) func() bool {
	if h.stopping.Load() {
		return func() bool { return false }
	}
	afterFunc := h.cfg.AfterFunc
	if afterFunc == nil {
		afterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	if !h.timers.add() {
		return func() bool { return false }
	}
	stop := afterFunc(d, func() {
		defer h.timers.done()
		f()
	})
	return func() bool {
		if stop() {
			h.timers.done() // its callback will not run
			return true
		}
		return false
	}
}

// armWatchLocked sets the room's watch to look again when the billable
// time, now billable, could reach its limit.
func (h *Hub) armWatchLocked(r *room, billable time.Duration) {
	r.stopWatchTimerLocked()
	gen := r.watchGen
	// Billable time runs no faster than the clock: before the remaining
	// time it cannot have passed the limit (a pause only delays it).
	wait := max(r.watch.limit()-billable, time.Second)
	r.watch.stop = h.after(wait, func() { h.checkOverrun(r, gen) })
}

// stopWatchTimerLocked stops the watch's timer, if armed, and voids one
// already firing.
func (r *room) stopWatchTimerLocked() {
	r.watchGen++
	if r.watch != nil && r.watch.stop != nil {
		r.watch.stop()
		r.watch.stop = nil
	}
}

// stopKeepLocked stops the keep question's answer timer, if armed.
func (r *room) stopKeepLocked() {
	r.keepGen++
	if r.keepStop != nil {
		r.keepStop()
		r.keepStop = nil
	}
}

// forgetEstimatesLocked stops the room's timers and drops its estimate
// state: the session ended, was interrupted, or the relay stops.
func (r *room) forgetEstimatesLocked() {
	r.stopWatchTimerLocked()
	r.stopKeepLocked()
	r.watch = nil
	clear(r.noticed)
}

// holdsEstimatesLocked reports whether the room keeps any estimate or
// keep state.
func (r *room) holdsEstimatesLocked() bool {
	return r.watch != nil || r.keepStop != nil || len(r.noticed) > 0
}

// priceEstimate adds the estimate to a cost notice when it needs the
// customer's approval: billable work estimated above an hour.
func priceEstimate(cost *protocol.CostNotice, minutes int) {
	if cost == nil || minutes <= billing.EstimateApprovalMinutes {
		return
	}
	billed, amount, vat := billing.PriceEstimate(int64(minutes), cost.CentsPerHour, cost.SurchargePercent, noticeSettings(cost))
	cost.Estimate = &protocol.Estimate{Minutes: minutes, BilledMinutes: billed, AmountCents: amount, VATCents: vat}
	// Approved before the session (the portal, the mailed link) for at
	// least as long: the customer is not asked again; it is still watched.
	if p := cost.ApprovedEstimate; p != nil && minutes <= p.Minutes {
		cost.Estimate.ApprovedBefore = p
	}
}

func noticeSettings(cost *protocol.CostNotice) billing.Settings {
	return billing.Settings{IncrementMinutes: cost.IncrementMinutes, MinimumMinutes: cost.MinimumMinutes, VATPercent: cost.VATPercent}
}

func ceilMinutes(d time.Duration) int64 {
	return int64((d + time.Minute - 1) / time.Minute)
}

func estimateOf(req protocol.ConsentRequest) *protocol.Estimate {
	if req.Cost == nil {
		return nil
	}
	return req.Cost.Estimate
}
