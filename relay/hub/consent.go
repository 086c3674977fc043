package hub

import (
	"context"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/consent"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
)

// How consent moves in the relay. The agent decides and enforces; the
// relay records every question and answer, passes on only requests a
// technician may make at the session's level, and refuses to record an
// intervention without the customer's complete acceptance.
//
// Up: a console asks (askLevel), the customer answers (answer), a
// recorded grant raises the level (raise). The relay itself asks the
// customer to keep a level (askKeep): after the work overran its approved
// estimate (checkOverrun) or became billable (Recategorized).
//
// Down: every step down goes through lowerLocked, and all but the
// hand-over's (which tells the agent with a Handover instead) through
// lower: the customer stepping down, a keep question declined or
// unanswered, work that cannot be priced, a hand-over.
//
// Every function here takes the room's lock only to decide and to change
// the room; it records, prices and sends after unlocking (see Hub).

// Bounds on what a technician may put in an intervention request.
const (
	maxDescriptionRunes = 500
	maxCategoryBytes    = 64
	maxEstimateMinutes  = 8 * 60
)

// askLevel handles a console's request for a higher level.
func (c *consoleConn) askLevel(ctx context.Context, req protocol.ConsentRequest) error {
	refuse := func(msg string) error {
		return c.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: msg})
	}
	r := c.room
	r.mu.Lock()
	live, level, agent := r.live, r.level, r.agent
	r.mu.Unlock()
	if !live || agent == nil {
		return refuse("the session is not live")
	}
	detail := map[string]any{"level": req.Level}
	// Only the relay asks to keep a level.
	req.Keep, req.DeadlineSeconds, req.Overrun = "", 0, nil
	estimate := req.EstimateMinutes
	switch req.Level {
	case protocol.LevelControl:
		if level != protocol.LevelView {
			return refuse("control is asked from view, the session is at " + string(level))
		}
		if estimate < 0 || estimate > maxEstimateMinutes {
			return refuse("the estimate must be 1 to 480 minutes, or none")
		}
		if estimate > 0 {
			detail["estimateMinutes"] = estimate
		}
		req.Intervention = nil
	case protocol.LevelDataIntervention:
		if level != protocol.LevelControl {
			return refuse("a data intervention is asked once control is granted")
		}
		w, msg := cleanIntervention(req.Intervention)
		if msg != "" {
			return refuse(msg)
		}
		if w.CategoryNames, msg = c.categoryNames(ctx, w.Category); msg != "" {
			return refuse(msg)
		}
		req.Intervention, req.EstimateMinutes, estimate = w, 0, w.EstimateMinutes
		detail["description"], detail["category"], detail["estimateMinutes"] = w.Description, w.Category, w.EstimateMinutes
	default:
		return refuse("a console may ask for control or a data intervention, not " + string(req.Level))
	}
	if c.h.cfg.Cost != nil {
		cost, err := c.h.cfg.Cost(ctx, r.id, req.Level)
		if err != nil {
			// Billable work must not start without its notice.
			c.h.log.Warn("cannot price the work asked for", "session", r.id, "level", req.Level, "err", err)
			return c.conn.Send(protocol.Error{Code: protocol.ErrCannotPrice, Message: err.Error()})
		}
		priceEstimate(cost, estimate)
		req.Cost = cost
		if cost != nil {
			detail["cost"] = cost
		}
	}
	if err := c.h.store.AddEvent(ctx, r.id, store.EventConsentAsked, c.actor, detail); err != nil {
		c.h.log.Error("record consent request", "session", r.id, "err", err)
		return c.conn.Send(protocol.Error{Code: protocol.ErrInternal, Message: "could not record the request"})
	}
	r.mu.Lock()
	// The level may have moved while the request was priced and recorded:
	// a question asked from a level no longer in force is not put.
	still := r.live && r.level == level
	if still {
		r.asked[req.Level] = req
	}
	r.mu.Unlock()
	if !still {
		return refuse("the level changed while the request was made")
	}
	r.toAgent(req)
	return nil
}

// answer is the one entry for the customer's answer to any question: the
// view question, a request for a higher level, or a keep question, each
// granted or not.
func (a *agentConn) answer(ctx context.Context, c protocol.Consent) error {
	// The question as shown, bounded. Its hash lets the text be matched to
	// a copy shown elsewhere.
	text := boundText(c.Text)
	detail := map[string]any{"level": c.Level, "text": text, "lang": cleanText(c.Lang), "textSha256": store.TextSHA256(text)}
	switch c.Level {
	case protocol.LevelView:
		return a.answerView(ctx, c, detail)
	case protocol.LevelControl, protocol.LevelDataIntervention:
	default:
		return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: "unknown consent level " + string(c.Level)})
	}
	r := a.room
	r.mu.Lock()
	req, wasAsked := r.asked[c.Level]
	delete(r.asked, c.Level)
	level := r.level
	r.mu.Unlock()
	switch {
	case !wasAsked:
		return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: "no " + string(c.Level) + " was asked"})
	case req.Keep != "" && level != req.Level:
		return nil // the level dropped meanwhile: there is nothing to keep
	case req.Keep != "":
		detail["keep"] = req.Keep
		if !c.Granted {
			a.h.keepRefused(ctx, r, req, actorCustomer, c.TimedOut, detail)
			return nil
		}
		a.h.kept(ctx, r, req, detail)
		return nil
	case !c.Granted:
		if err := a.h.store.AddEvent(ctx, r.id, store.EventConsentDenied, actorCustomer, detail); err != nil {
			a.log.Error("record denial", "level", c.Level, "err", err)
		}
		a.log.Info("customer declined", "level", c.Level)
		r.toConsole(protocol.Consent{Level: c.Level, Granted: false})
		return nil
	case c.Level.Rank() != level.Rank()+1:
		return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: string(c.Level) + " granted at level " + string(level)})
	}
	if est := estimateOf(req); est != nil {
		if !c.EstimateApproved && est.ApprovedBefore == nil {
			return a.refuseGrant(ctx, detail, protocol.Error{Code: protocol.ErrNoEstimateApproval, Message: "the estimate was not approved"})
		}
		detail["estimate"] = est
	}
	if c.Level == protocol.LevelDataIntervention {
		if ok, err := a.acceptIntervention(ctx, c, req, detail); !ok {
			return err
		}
	} else if err := a.h.store.AddEvent(ctx, r.id, store.EventConsentGranted, actorCustomer, detail); err != nil {
		a.log.Error("record grant", "level", c.Level, "err", err)
		return a.conn.Send(protocol.Error{Code: protocol.ErrInternal, Message: "could not record consent"})
	}
	a.h.raise(ctx, r, level, req)
	if c.Level == protocol.LevelDataIntervention {
		a.h.offerRecording(ctx, r, store.RecordingAskData)
	}
	return nil
}

// answerView records the answer to the first question, which makes the
// session live, declines it, or (after an interruption) ends it.
func (a *agentConn) answerView(ctx context.Context, c protocol.Consent, detail map[string]any) error {
	r := a.room
	r.mu.Lock()
	joined := !r.live && r.level == ""
	resumed := r.resumed
	if joined {
		r.resumed = false
	}
	r.mu.Unlock()
	if !joined {
		return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: "view was already decided"})
	}
	if !c.Granted && resumed {
		// The session was worked before its interruption: a "no" now
		// ends it rather than making it a declined session.
		if err := a.h.store.AddEvent(ctx, r.id, store.EventConsentDenied, actorCustomer, detail); err != nil {
			a.log.Error("record denial", "err", err)
		}
		a.ending = true
		a.h.end(ctx, r, protocol.ByCustomer, actorCustomer, protocol.ReasonDeclinedResume)
		return errPeerDone
	}
	if !c.Granted {
		err := a.h.store.Transition(ctx, r.id, []string{store.StatusJoined}, store.StatusDeclined,
			store.EventConsentDenied, actorCustomer, detail)
		if err != nil {
			a.log.Error("record denial", "err", err)
		}
		r.mu.Lock()
		r.open = false
		r.mu.Unlock()
		a.log.Info("customer declined")
		r.toConsole(protocol.Status{Status: protocol.StatusDeclined, By: protocol.ByCustomer})
		a.conn.Finish(protocol.End{By: protocol.ByCustomer, Reason: protocol.ReasonDeclined})
		return errPeerDone
	}
	err := a.h.store.Transition(ctx, r.id, []string{store.StatusJoined}, store.StatusLive,
		store.EventConsentGranted, actorCustomer, detail)
	if err != nil {
		// Without a recorded consent nothing may flow: end rather than
		// carry on unrecorded.
		a.log.Error("record consent", "err", err)
		a.conn.Finish(protocol.Error{Code: protocol.ErrInternal, Message: "could not record consent"})
		return errPeerDone
	}
	a.log.Info("customer allowed viewing")
	r.mu.Lock()
	r.live, r.level = true, protocol.LevelView
	info := r.agentInfo
	r.mu.Unlock()
	r.toConsole(protocol.Status{Status: protocol.StatusLive, Agent: info, Level: protocol.LevelView})
	a.h.offerRecording(ctx, r, store.RecordingAsk)
	return nil
}

// refuseGrant records a grant the relay refuses, and tells both sides: the
// level stays where it was.
func (a *agentConn) refuseGrant(ctx context.Context, detail map[string]any, refusal protocol.Error) error {
	a.log.Warn("grant refused", "code", refusal.Code, "why", refusal.Message)
	detail["refused"] = refusal.Message
	if err := a.h.store.AddEvent(ctx, a.room.id, store.EventConsentDenied, actorRelay, detail); err != nil {
		a.log.Error("record refused grant", "err", err)
	}
	a.room.toConsole(refusal)
	return a.conn.Send(refusal)
}

// acceptIntervention stores the acceptance with its grant, or refuses the
// grant: without a stored acceptance the session never enters intervention.
// Refused, it reports false and the error of telling the agent.
func (a *agentConn) acceptIntervention(ctx context.Context, c protocol.Consent, req protocol.ConsentRequest, detail map[string]any) (bool, error) {
	r, work := a.room, req.Intervention
	if err := consent.CheckAcceptance(c.Acceptance); err != nil {
		return false, a.refuseGrant(ctx, detail, protocol.Error{Code: protocol.ErrNoAcceptance, Message: err.Error()})
	}
	acc := &store.Acceptance{
		SessionID: r.id, Version: c.Acceptance.Version, Lang: cleanText(c.Lang), Text: boundText(c.Text),
		TypedName: strings.TrimSpace(stripControls(c.Acceptance.Name)), OSUser: cleanText(c.Acceptance.OSUser),
		Work: store.InterventionWork{Description: work.Description, Category: work.Category, EstimateMinutes: work.EstimateMinutes},
	}
	for _, ans := range c.Acceptance.Answers {
		acc.Answers = append(acc.Answers, store.AcceptedAnswer{Statement: boundText(ans.Statement), Confirmed: ans.Confirmed})
	}
	detail["typedName"], detail["version"] = acc.TypedName, acc.Version
	if err := a.h.store.RecordAcceptance(ctx, acc, actorCustomer, detail); err != nil {
		a.log.Error("record acceptance", "err", err)
		refusal := protocol.Error{Code: protocol.ErrNoAcceptance, Message: "could not record the acceptance"}
		r.toConsole(refusal)
		return false, a.conn.Send(refusal)
	}
	a.log.Info("customer accepted a data intervention", "acceptance", acc.ID)
	return true, nil
}

// raise sets the room's level after a recorded grant of req, made at
// level from, notes whether it came with a cost notice and watches its
// approved estimate, which replaces an older one; then tells the console.
func (h *Hub) raise(ctx context.Context, r *room, from protocol.Level, req protocol.ConsentRequest) {
	var w *estimateWatch
	if req.Cost != nil && req.Cost.Estimate != nil && h.cfg.Billable != nil {
		baseline, err := h.cfg.Billable(ctx, r.id)
		if err != nil {
			h.log.Error("read billable time: the estimate is not watched", "session", r.id, "err", err)
		} else {
			notice := *req.Cost
			notice.Estimate = nil
			w = &estimateWatch{level: req.Level, notice: notice, minutes: req.Cost.Estimate.Minutes, baseline: baseline}
		}
	}
	r.mu.Lock()
	// A step down or an end while the grant was recorded wins: the
	// customer's later word stands.
	ok := r.live && r.level == from
	if ok {
		r.level = req.Level
		r.noticed[req.Level] = req.Cost != nil
		if w != nil {
			r.stopWatchTimerLocked()
			r.watch = w
			h.armWatchLocked(r, w.baseline)
		}
	}
	r.mu.Unlock()
	if !ok {
		return
	}
	h.log.Info("customer granted", "session", r.id, "level", req.Level)
	r.toConsole(protocol.Consent{Level: req.Level, Granted: true})
}

// lowerLocked steps the room down to level to, from the level in force
// (or only from level from, when not empty), and drops what belonged to
// the levels above: every question put (each was for a level above to, or
// to keep one), their cost notices, the estimate watched for them, the
// keep question's timer. It reports the level it stepped down from.
func (r *room) lowerLocked(from, to protocol.Level) (protocol.Level, bool) {
	was := r.level
	if !r.live || (from != "" && was != from) ||
		to.Below(protocol.LevelView) || !to.Below(was) {
		return was, false
	}
	r.level = to
	clear(r.asked)
	for lv := range r.noticed {
		if to.Below(lv) {
			delete(r.noticed, lv)
		}
	}
	r.stopKeepLocked()
	if r.watch != nil && to.Below(r.watch.level) {
		r.stopWatchTimerLocked()
		r.watch = nil
	}
	return was, true
}

// lower steps the session down to level to (from level from only, when
// not empty), records it and tells the console; the agent is told too
// when the relay decided (actorRelay), since it did not step down itself.
// It reports the level it stepped down from and whether it did.
func (h *Hub) lower(ctx context.Context, r *room, from, to protocol.Level, actor, reason string) (protocol.Level, bool) {
	r.mu.Lock()
	was, ok := r.lowerLocked(from, to)
	r.mu.Unlock()
	if !ok {
		return was, false
	}
	h.recordLowered(ctx, r, was, to, actor, reason)
	lc := protocol.LevelChange{Level: to, Reason: reason}
	r.toConsole(lc)
	if actor == actorRelay {
		r.toAgent(lc)
	}
	return was, true
}

func (h *Hub) recordLowered(ctx context.Context, r *room, from, to protocol.Level, actor, reason string) {
	if err := h.store.AddEvent(ctx, r.id, store.EventConsentRevoked, actor,
		map[string]any{"level": to, "from": from, "reason": reason}); err != nil {
		h.log.Error("record step down", "session", r.id, "err", err)
	}
	h.log.Info("level lowered", "session", r.id, "level", to, "from", from, "reason", reason)
}

// stepDown records the customer (or the agent on its own) lowering the
// level. Only a step down is accepted: a step up is always a new question.
func (a *agentConn) stepDown(ctx context.Context, m protocol.LevelChange) error {
	if from, ok := a.h.lower(ctx, a.room, "", m.Level, actorCustomer, orDefault(m.Reason, protocol.ReasonCustomer)); !ok {
		return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: "level " + string(m.Level) + " is not below " + string(from)})
	}
	return nil
}

// handOver makes this console's technician the one who works the session.
// When that is someone else than before and the customer is sharing, it is
// a hand-over: recorded (worked time from here on is the new technician's),
// and the level drops to view, because the customer granted control to the
// one they were told about, not to whoever opens the session next.
func (c *consoleConn) handOver(ctx context.Context, sess store.Session) {
	r := c.room
	r.mu.Lock()
	if r.technician.ID == 0 {
		r.technician = store.User{ID: sess.TechnicianID, Name: sess.TechnicianName}
	}
	prev := r.technician
	changed := prev.ID != c.user.ID
	r.technician = c.user
	var from protocol.Level
	lowered := false
	if changed {
		from, lowered = r.lowerLocked("", protocol.LevelView)
	}
	agent, live := r.agent, r.live
	r.mu.Unlock()
	if !changed || !live {
		return
	}
	c.h.log.Info("session handed over", "session", r.id, "from", prev.ID, "to", c.user.ID)
	if err := c.h.store.AddEvent(ctx, r.id, store.EventHandover, c.actor,
		map[string]any{"technicianId": c.user.ID, "technician": c.user.Name, "fromTechnicianId": prev.ID}); err != nil {
		c.h.log.Error("record hand-over", "session", r.id, "err", err)
	}
	if lowered {
		c.h.recordLowered(ctx, r, from, protocol.LevelView, actorRelay, protocol.ReasonHandover)
	}
	if agent != nil {
		_ = agent.Send(protocol.Handover{Technician: c.user.Name})
	}
}

// checkOverrun compares the billable time with the watch's limit: past
// it, the technician is warned and the customer asked; short of it (the
// customer paused, the agent was away), it looks again later.
func (h *Hub) checkOverrun(r *room, gen int) {
	ctx := store.WithActor(context.Background(), store.Actor{Name: actorRelay})
	r.mu.Lock()
	if r.watchGen != gen || r.watch == nil {
		r.mu.Unlock()
		return
	}
	w := *r.watch
	level := r.level
	_, asking := r.asked[level]
	if !r.live || level.Below(w.level) {
		// Lowering stops the watch; this is the belt to its braces.
		r.stopWatchTimerLocked()
		r.watch = nil
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	billable, err := h.cfg.Billable(ctx, r.id)
	if err != nil {
		h.log.Error("read billable time", "session", r.id, "err", err)
		billable = 0 // look again after the whole remaining time
	}
	r.mu.Lock()
	if r.watchGen != gen || r.watch == nil {
		r.mu.Unlock()
		return
	}
	if err != nil || billable < w.limit() || asking {
		// A question on screen is answered first; the overrun is asked
		// when the watch looks again.
		h.armWatchLocked(r, min(billable, w.limit()-time.Minute))
		r.mu.Unlock()
		return
	}
	// Only the answer timer runs while the customer decides.
	r.stopWatchTimerLocked()
	r.mu.Unlock()
	h.askOverrun(ctx, r, w, level, billable)
}

// askOverrun puts the overrun to the customer and warns the technician.
func (h *Hub) askOverrun(ctx context.Context, r *room, w estimateWatch, level protocol.Level, billable time.Duration) {
	next := w
	next.continued++
	limitMin := ceilMinutes(next.limit() - w.baseline)
	_, amount, _ := billing.PriceEstimate(limitMin, w.notice.CentsPerHour, w.notice.SurchargePercent, noticeSettings(&w.notice))
	ov := protocol.Overrun{EstimateMinutes: w.minutes, BillableMinutes: ceilMinutes(billable - w.baseline),
		LimitMinutes: limitMin, AmountCents: amount}
	notice := w.notice
	req := protocol.ConsentRequest{Level: level, Keep: protocol.KeepOverrun, Cost: &notice, Overrun: &ov}
	if !h.askKeep(ctx, r, req, store.EventEstimateOverrun, map[string]any{"level": level, "estimateMinutes": ov.EstimateMinutes,
		"billableMinutes": ov.BillableMinutes, "limitMinutes": ov.LimitMinutes, "amountCents": ov.AmountCents}) {
		return
	}
	ov.Outcome = protocol.OverrunAsked
	r.toConsole(ov)
}

// askKeep puts a keep question to the customer, records it and arms its
// answer timer. It asks nothing when the level it is about is no longer
// in force.
func (h *Hub) askKeep(ctx context.Context, r *room, req protocol.ConsentRequest, kind string, detail map[string]any) bool {
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
	r.mu.Lock()
	ok := r.live && r.level == req.Level
	if ok {
		r.asked[req.Level] = req
		r.stopKeepLocked()
		gen := r.keepGen
		r.keepStop = h.after(answer+keepGrace, func() { h.keepExpired(r, req.Level, gen) })
	}
	r.mu.Unlock()
	if !ok {
		return false
	}
	if err := h.store.AddEvent(ctx, r.id, kind, actorRelay, detail); err != nil {
		h.log.Error("record keep question", "session", r.id, "keep", req.Keep, "err", err)
	}
	r.toAgent(req)
	return true
}

// keepExpired records a keep question the agent never answered.
func (h *Hub) keepExpired(r *room, level protocol.Level, gen int) {
	r.mu.Lock()
	if r.keepGen != gen {
		r.mu.Unlock()
		return
	}
	r.keepStop = nil
	req, ok := r.asked[level]
	ok = ok && req.Keep != ""
	if ok {
		delete(r.asked, level)
	}
	r.mu.Unlock()
	if !ok {
		return
	}
	ctx := store.WithActor(context.Background(), store.Actor{Name: actorRelay})
	h.log.Warn("keep question unanswered past its deadline", "session", r.id, "keep", req.Keep)
	h.keepRefused(ctx, r, req, actorRelay, true, map[string]any{"level": level})
}

// kept records the customer's yes to a keep question: the level is kept,
// with its cost notice, or the overrun goes on to the next limit.
func (h *Hub) kept(ctx context.Context, r *room, req protocol.ConsentRequest, detail map[string]any) {
	r.mu.Lock()
	ok := r.live && r.level == req.Level
	var w *estimateWatch
	if ok {
		r.stopKeepLocked()
		switch {
		case req.Keep == protocol.KeepRenotice:
			r.noticed[req.Level] = true
		case r.watch != nil && req.Overrun != nil:
			r.watch.continued++
			w = r.watch
			detail["estimateMinutes"], detail["limitMinutes"] = w.minutes, req.Overrun.LimitMinutes
		default:
			ok = false // an overrun question without a watch: nothing goes on
		}
	}
	r.mu.Unlock()
	if !ok {
		return
	}
	if req.Keep == protocol.KeepRenotice {
		detail["cost"] = req.Cost
		if err := h.store.AddEvent(ctx, r.id, store.EventConsentGranted, actorCustomer, detail); err != nil {
			h.log.Error("record renewed grant", "session", r.id, "err", err)
		}
		r.toConsole(protocol.Consent{Level: req.Level, Granted: true})
		return
	}
	if err := h.store.AddEvent(ctx, r.id, store.EventEstimateContinued, actorCustomer, detail); err != nil {
		h.log.Error("record overrun approval", "session", r.id, "err", err)
	}
	billable, err := h.cfg.Billable(ctx, r.id)
	r.mu.Lock()
	if err != nil {
		h.log.Error("read billable time", "session", r.id, "err", err)
		billable = w.limit() - time.Minute
	}
	// Watched again only if it is still the watch in force.
	if r.watch == w {
		h.armWatchLocked(r, billable)
	}
	r.mu.Unlock()
	ov := *req.Overrun
	ov.Outcome = protocol.OverrunContinued
	r.toConsole(ov)
}

// keepRefused steps the session down to view after a keep question was
// declined or went unanswered, and records both.
func (h *Hub) keepRefused(ctx context.Context, r *room, req protocol.ConsentRequest, actor string, timedOut bool, detail map[string]any) {
	detail["timedOut"] = timedOut
	if err := h.store.AddEvent(ctx, r.id, store.EventConsentDenied, actor, detail); err != nil {
		h.log.Error("record keep refusal", "session", r.id, "err", err)
	}
	reason := protocol.KeepDeclinedReason(req.Keep, timedOut)
	h.lower(ctx, r, req.Level, protocol.LevelView, actor, reason)
	if req.Keep == protocol.KeepOverrun && req.Overrun != nil {
		ov := *req.Overrun
		ov.Outcome = protocol.OverrunDeclined
		if timedOut {
			ov.Outcome = protocol.OverrunTimeout
		}
		r.toConsole(ov)
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
	noticed := r.noticed[level]
	r.mu.Unlock()
	if !live || level.Below(protocol.LevelControl) || asking || noticed {
		return nil
	}
	cost, err := h.cfg.Cost(ctx, sessionID, level)
	if err != nil {
		h.log.Warn("cannot price the work after a category change", "session", sessionID, "err", err)
		h.lower(ctx, r, level, protocol.LevelView, actorRelay, protocol.ErrCannotPrice)
		return err
	}
	if cost == nil {
		return nil
	}
	req := protocol.ConsentRequest{Level: level, Keep: protocol.KeepRenotice, Cost: cost}
	h.askKeep(ctx, r, req, store.EventConsentAsked, map[string]any{"level": level, "keep": req.Keep, "cost": cost})
	return nil
}
