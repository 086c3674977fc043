package hub

import (
	"context"
	"sync"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
)

// Estimates, overruns and billable work announced again (docs/billing.md,
// "Estimates and overruns"). The relay owns them: it prices the estimate
// with the cost notice, refuses a grant without its approval, watches the
// billable time against the approved estimate by its own clock, and asks
// the customer to keep a level when the work overran its estimate or
// became billable while at that level. Every timer belongs to one room's
// ladder and is stopped when the level drops or the room's session is
// over; one that fires late finds its generation gone and does nothing.

// keepGrace is how long after the customer's deadline the relay gives
// the agent's own "no answer" before recording it itself: the agent steps
// down on its own at the deadline, and its message is the better record.
const keepGrace = 5 * time.Second

// ladderBook is the hub's ladder state of its rooms.
type ladderBook struct {
	mu    sync.Mutex // guards rooms and every roomLadder in it
	rooms map[*room]*roomLadder
}

// roomLadder is one room's estimate watch and keep question.
type roomLadder struct {
	// noticed holds the levels in force that were granted with a cost
	// notice: a category change makes only the others billable anew.
	noticed map[string]bool
	watch   *estimateWatch
	// keepStop stops the answer timer of the keep question asked.
	keepStop func() bool
	// gen bumps whenever a timer is armed or stopped, so a timer that
	// fires after it was replaced does nothing.
	gen int
}

// estimateWatch is an approved estimate being watched.
type estimateWatch struct {
	level   string // the level it was approved for, or a higher one
	notice  protocol.CostNotice
	minutes int
	// baseline is the session's billable time when it was approved: the
	// estimate is for the work from then on.
	baseline  time.Duration
	continued int // times the customer let the work go on
	stop      func() bool
}

func (h *Hub) book() *ladderBook { return h.ladders }

func (h *Hub) after(d time.Duration, f func()) func() bool {
	if h.cfg.AfterFunc != nil {
		return h.cfg.AfterFunc(d, f)
	}
	return time.AfterFunc(d, f).Stop
}

// ladder returns r's ladder, creating it; the caller holds b.mu.
func (b *ladderBook) ladder(r *room) *roomLadder {
	l := b.rooms[r]
	if l == nil {
		l = &roomLadder{noticed: map[string]bool{}}
		b.rooms[r] = l
	}
	return l
}

// stopTimers stops l's timers; the caller holds the book's lock.
func (l *roomLadder) stopTimers() {
	l.gen++
	if l.watch != nil && l.watch.stop != nil {
		l.watch.stop()
	}
	if l.keepStop != nil {
		l.keepStop()
		l.keepStop = nil
	}
}

// forgetLadder stops r's timers and drops its state: the session ended or
// the room went away.
func (h *Hub) forgetLadder(r *room) {
	b := h.book()
	b.mu.Lock()
	defer b.mu.Unlock()
	if l := b.rooms[r]; l != nil {
		l.stopTimers()
		delete(b.rooms, r)
	}
}

// ladderAbove drops what r's ladder holds for levels above level, after a
// step down: the estimate of a level no longer in force is not watched.
func (h *Hub) ladderAbove(r *room, level string) {
	b := h.book()
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.rooms[r]
	if l == nil {
		return
	}
	for lv := range l.noticed {
		if protocol.LevelRank(lv) > protocol.LevelRank(level) {
			delete(l.noticed, lv)
		}
	}
	if l.keepStop != nil {
		l.keepStop()
		l.keepStop = nil
	}
	if w := l.watch; w != nil && protocol.LevelRank(w.level) > protocol.LevelRank(level) {
		l.stopTimers()
		l.watch = nil
	}
	if protocol.LevelRank(level) < protocol.LevelRank(protocol.LevelControl) {
		delete(b.rooms, r)
	}
}

// priceEstimate adds the estimate to a cost notice when it needs the
// customer's approval: billable work estimated above an hour.
func priceEstimate(cost *protocol.CostNotice, minutes int) {
	if cost == nil || minutes <= billing.EstimateApprovalMinutes {
		return
	}
	billed, amount, vat := billing.PriceEstimate(int64(minutes), cost.CentsPerHour, cost.SurchargePercent, noticeSettings(cost))
	cost.Estimate = &protocol.Estimate{Minutes: minutes, BilledMinutes: billed, AmountCents: amount, VATCents: vat}
}

func noticeSettings(cost *protocol.CostNotice) billing.Settings {
	return billing.Settings{IncrementMinutes: cost.IncrementMinutes, MinimumMinutes: cost.MinimumMinutes, VATPercent: cost.VATPercent}
}

// granted notes a recorded grant of req's level: whether it came with a
// cost notice, and the approved estimate, which replaces an older one.
func (h *Hub) granted(ctx context.Context, r *room, req protocol.ConsentRequest) {
	b := h.book()
	b.mu.Lock()
	l := b.ladder(r)
	l.noticed[req.Level] = req.Cost != nil
	b.mu.Unlock()
	if req.Cost == nil || req.Cost.Estimate == nil || h.cfg.Billable == nil {
		return
	}
	baseline, err := h.cfg.Billable(ctx, r.id)
	if err != nil {
		h.log.Error("read billable time: the estimate is not watched", "session", r.id, "err", err)
		return
	}
	notice := *req.Cost
	notice.Estimate = nil
	w := &estimateWatch{level: req.Level, notice: notice, minutes: req.Cost.Estimate.Minutes, baseline: baseline}
	b.mu.Lock()
	defer b.mu.Unlock()
	l = b.ladder(r)
	l.stopTimers()
	l.watch = w
	h.armWatch(r, l, baseline)
}

// limit is where w's billable time overruns it.
func (w *estimateWatch) limit() time.Duration {
	return w.baseline + time.Duration(billing.OverrunLimitSeconds(int64(w.minutes), w.continued))*time.Second
}

// armWatch sets l's watch to look again when the billable time, now
// billable, could reach its limit; the caller holds the book's lock.
func (h *Hub) armWatch(r *room, l *roomLadder, billable time.Duration) {
	l.gen++
	gen := l.gen
	// Billable time runs no faster than the clock: before the remaining
	// time it cannot have passed the limit (a pause only delays it).
	wait := max(l.watch.limit()-billable, time.Second)
	l.watch.stop = h.after(wait, func() { h.checkOverrun(r, gen) })
}

// checkOverrun compares the billable time with the watch's limit: past
// it, the technician is warned and the customer asked; short of it (the
// customer paused, the agent was away), it looks again later.
func (h *Hub) checkOverrun(r *room, gen int) {
	ctx := store.WithActor(context.Background(), store.Actor{Name: actorRelay})
	b := h.book()
	b.mu.Lock()
	l := b.rooms[r]
	if l == nil || l.gen != gen || l.watch == nil {
		b.mu.Unlock()
		return
	}
	w := *l.watch
	b.mu.Unlock()
	r.mu.Lock()
	live, level := r.live, r.level
	_, asking := r.asked[level]
	r.mu.Unlock()
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed || !live || protocol.LevelRank(level) < protocol.LevelRank(w.level) {
		h.forgetLadder(r)
		return
	}
	billable, err := h.cfg.Billable(ctx, r.id)
	if err != nil {
		h.log.Error("read billable time", "session", r.id, "err", err)
		billable = 0 // look again after the whole remaining time
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if l.gen != gen || b.rooms[r] != l {
		return
	}
	if err != nil || billable < w.limit() || asking {
		// A question on screen is answered first; the overrun is asked
		// when the watch looks again.
		h.armWatch(r, l, min(billable, w.limit()-time.Minute))
		return
	}
	l.watch.stop = nil
	h.askOverrun(ctx, r, l, w, level, billable)
}

// askOverrun puts the overrun to the customer and warns the technician;
// the caller holds the book's lock.
func (h *Hub) askOverrun(ctx context.Context, r *room, l *roomLadder, w estimateWatch, level string, billable time.Duration) {
	next := w
	next.continued++
	limitMin := ceilMinutes(next.limit() - w.baseline)
	_, amount, _ := billing.PriceEstimate(limitMin, w.notice.CentsPerHour, w.notice.SurchargePercent, noticeSettings(&w.notice))
	ov := protocol.Overrun{EstimateMinutes: w.minutes, BillableMinutes: ceilMinutes(billable - w.baseline),
		LimitMinutes: limitMin, AmountCents: amount}
	notice := w.notice
	req := protocol.ConsentRequest{Level: level, Keep: protocol.KeepOverrun, Cost: &notice, Overrun: &ov}
	h.askKeep(ctx, r, l, req, store.EventEstimateOverrun, map[string]any{"level": level, "estimateMinutes": ov.EstimateMinutes,
		"billableMinutes": ov.BillableMinutes, "limitMinutes": ov.LimitMinutes, "amountCents": ov.AmountCents})
	ov.Outcome = protocol.OverrunAsked
	r.toConsole(ov)
}

func ceilMinutes(d time.Duration) int64 {
	return int64((d + time.Minute - 1) / time.Minute)
}

// askKeep records a keep question, puts it to the customer and arms its
// answer timer; the caller holds the book's lock.
func (h *Hub) askKeep(ctx context.Context, r *room, l *roomLadder, req protocol.ConsentRequest, kind string, detail map[string]any) {
	timers, err := h.store.ConsentTimers(ctx)
	if err != nil {
		h.log.Error("read consent timers; using the defaults", "session", r.id, "err", err)
	}
	answer := timers.Answer
	if answer <= 0 {
		answer = store.DefaultReconfirmAnswer
	}
	req.DeadlineSeconds = int(answer / time.Second)
	detail["deadlineSeconds"] = req.DeadlineSeconds
	if err := h.store.AddEvent(ctx, r.id, kind, actorRelay, detail); err != nil {
		h.log.Error("record keep question", "session", r.id, "keep", req.Keep, "err", err)
	}
	r.mu.Lock()
	r.asked[req.Level] = req
	r.mu.Unlock()
	r.toAgent(req)
	if l.keepStop != nil {
		l.keepStop()
	}
	l.gen++
	gen := l.gen
	l.keepStop = h.after(answer+keepGrace, func() { h.keepExpired(r, req.Level, gen) })
}

// keepExpired records a keep question the agent never answered.
func (h *Hub) keepExpired(r *room, level string, gen int) {
	b := h.book()
	b.mu.Lock()
	l := b.rooms[r]
	current := l != nil && l.gen == gen
	if current {
		l.keepStop = nil
	}
	b.mu.Unlock()
	if !current {
		return
	}
	r.mu.Lock()
	req, ok := r.asked[level]
	if ok && req.Keep != "" {
		delete(r.asked, level)
	}
	r.mu.Unlock()
	if !ok || req.Keep == "" {
		return
	}
	ctx := store.WithActor(context.Background(), store.Actor{Name: actorRelay})
	h.log.Warn("keep question unanswered past its deadline", "session", r.id, "keep", req.Keep)
	h.keepRefused(ctx, r, req, actorRelay, true, map[string]any{"level": level})
}

// keepAnswer records the customer's answer to a keep question.
func (a *agentConn) keepAnswer(ctx context.Context, c protocol.Consent, req protocol.ConsentRequest, detail map[string]any) error {
	r, h := a.room, a.h
	r.mu.Lock()
	level := r.level
	r.mu.Unlock()
	if level != req.Level {
		return nil // the level dropped meanwhile: there is nothing to keep
	}
	detail["keep"] = req.Keep
	if !c.Granted {
		h.keepRefused(ctx, r, req, actorCustomer, c.TimedOut, detail)
		return nil
	}
	b := h.book()
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.ladder(r)
	if l.keepStop != nil {
		l.keepStop()
		l.keepStop = nil
	}
	if req.Keep == protocol.KeepRenotice {
		detail["cost"] = req.Cost
		if err := h.store.AddEvent(ctx, r.id, store.EventConsentGranted, actorCustomer, detail); err != nil {
			a.log.Error("record renewed grant", "err", err)
		}
		l.noticed[req.Level] = true
		r.toConsole(protocol.Consent{Level: req.Level, Granted: true})
		return nil
	}
	if l.watch == nil || req.Overrun == nil {
		return nil
	}
	l.watch.continued++
	detail["estimateMinutes"], detail["limitMinutes"] = l.watch.minutes, req.Overrun.LimitMinutes
	if err := h.store.AddEvent(ctx, r.id, store.EventEstimateContinued, actorCustomer, detail); err != nil {
		a.log.Error("record overrun approval", "err", err)
	}
	billable, err := h.cfg.Billable(ctx, r.id)
	if err != nil {
		a.log.Error("read billable time", "err", err)
		billable = l.watch.limit() - time.Minute
	}
	h.armWatch(r, l, billable)
	ov := *req.Overrun
	ov.Outcome = protocol.OverrunContinued
	r.toConsole(ov)
	return nil
}

// keepRefused steps the session down to view after a keep question was
// declined or went unanswered, and records both.
func (h *Hub) keepRefused(ctx context.Context, r *room, req protocol.ConsentRequest, actor string, timedOut bool, detail map[string]any) {
	detail["timedOut"] = timedOut
	if err := h.store.AddEvent(ctx, r.id, store.EventConsentDenied, actor, detail); err != nil {
		h.log.Error("record keep refusal", "session", r.id, "err", err)
	}
	reason := req.Keep + "_declined"
	if timedOut {
		reason = req.Keep + "_timeout"
	}
	h.lowerToView(ctx, r, req.Level, actor, reason)
	if req.Keep == protocol.KeepOverrun && req.Overrun != nil {
		ov := *req.Overrun
		ov.Outcome = protocol.OverrunDeclined
		if timedOut {
			ov.Outcome = protocol.OverrunTimeout
		}
		r.toConsole(ov)
	}
}

// lowerToView steps the session down from level to view on the relay's
// side, records it and tells the console. The agent steps down on its own
// when the customer declined or let a keep question expire; when the relay
// decided (actorRelay) it is told too.
func (h *Hub) lowerToView(ctx context.Context, r *room, from, actor, reason string) {
	r.mu.Lock()
	ok := r.live && r.level == from
	if ok {
		r.level = protocol.LevelView
		for lv, q := range r.asked {
			if q.Keep != "" || protocol.LevelRank(lv) > protocol.LevelRank(protocol.LevelView) {
				delete(r.asked, lv)
			}
		}
	}
	r.mu.Unlock()
	h.ladderAbove(r, protocol.LevelView)
	if !ok {
		return
	}
	if err := h.store.AddEvent(ctx, r.id, store.EventConsentRevoked, actor,
		map[string]string{"level": protocol.LevelView, "from": from, "reason": reason}); err != nil {
		h.log.Error("record step down", "session", r.id, "err", err)
	}
	h.log.Info("level lowered", "session", r.id, "from", from, "reason", reason)
	lc := protocol.LevelChange{Level: protocol.LevelView, Reason: reason}
	r.toConsole(lc)
	if actor == actorRelay {
		r.toAgent(lc)
	}
}

// Recategorized is called after a technician set the work category of
// the ticket of session id. When the session is at control or higher
// and the level in force was granted as covered, the relay prices it
// again; billable now, the customer is given the cost notice again and
// must accept it to keep the level. Work that cannot be priced any more
// steps down to view: it must not go on unannounced.
func (h *Hub) Recategorized(ctx context.Context, sessionID int64) error {
	h.mu.Lock()
	r := h.rooms[sessionID]
	h.mu.Unlock()
	if r == nil || h.cfg.Cost == nil {
		return nil
	}
	r.mu.Lock()
	live, level := r.live, r.level
	_, asking := r.asked[level]
	r.mu.Unlock()
	if !live || protocol.LevelRank(level) < protocol.LevelRank(protocol.LevelControl) || asking {
		return nil
	}
	b := h.book()
	b.mu.Lock()
	noticed := b.ladder(r).noticed[level]
	b.mu.Unlock()
	if noticed {
		return nil
	}
	cost, err := h.cfg.Cost(ctx, sessionID, level)
	if err != nil {
		h.log.Warn("cannot price the work after a category change", "session", sessionID, "err", err)
		h.lowerToView(ctx, r, level, actorRelay, protocol.ErrCannotPrice)
		return err
	}
	if cost == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	req := protocol.ConsentRequest{Level: level, Keep: protocol.KeepRenotice, Cost: cost}
	h.askKeep(ctx, r, b.ladder(r), req, store.EventConsentAsked, map[string]any{"level": level, "keep": req.Keep, "cost": cost})
	return nil
}
