package hub

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/meekijk/meekijk/internal/consent"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/safetext"
	"github.com/meekijk/meekijk/internal/store"
)

// The consent ladder as the relay sees it. The agent decides and enforces;
// the relay records every question and answer, passes on only requests a
// technician may make at the session's level, and refuses to record an
// intervention without the customer's complete acceptance.

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
			return refuse("control is asked from view, the session is at " + level)
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
		return refuse("a console may ask for control or a data intervention, not " + req.Level)
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
	r.asked[req.Level] = req
	r.mu.Unlock()
	r.toAgent(req)
	return nil
}

func cleanIntervention(w *protocol.Intervention) (*protocol.Intervention, string) {
	if w == nil {
		return nil, "a data intervention needs a description, a category and an estimate"
	}
	out := &protocol.Intervention{
		Description:     strings.TrimSpace(stripControls(w.Description)),
		Category:        strings.TrimSpace(stripControls(w.Category)),
		EstimateMinutes: w.EstimateMinutes,
	}
	switch {
	case out.Description == "" || utf8.RuneCountInString(out.Description) > maxDescriptionRunes:
		return nil, "the description must have 1 to 500 characters"
	case out.Category == "" || len(out.Category) > maxCategoryBytes:
		return nil, "the category is missing or too long"
	case out.EstimateMinutes < 1 || out.EstimateMinutes > maxEstimateMinutes:
		return nil, "the estimate must be 1 to 480 minutes"
	}
	return out, ""
}

// stripControls drops control and format characters (safetext) but keeps
// the text's length, unlike cleanText, which also shortens.
func stripControls(s string) string { return safetext.Line(s) }

// decide records the customer's answer to a control or intervention
// request. The view decision, which makes the session live, is consent().
func (a *agentConn) decide(ctx context.Context, c protocol.Consent, detail map[string]any) error {
	r := a.room
	r.mu.Lock()
	req, wasAsked := r.asked[c.Level]
	delete(r.asked, c.Level)
	level := r.level
	r.mu.Unlock()
	if !wasAsked {
		return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: "no " + c.Level + " was asked"})
	}
	if req.Keep != "" {
		return a.keepAnswer(ctx, c, req, detail)
	}
	if !c.Granted {
		if err := a.h.store.AddEvent(ctx, r.id, store.EventConsentDenied, actorCustomer, detail); err != nil {
			a.log.Error("record denial", "level", c.Level, "err", err)
		}
		a.log.Info("customer declined", "level", c.Level)
		r.toConsole(protocol.Consent{Level: c.Level, Granted: false})
		return nil
	}
	if protocol.LevelRank(c.Level) != protocol.LevelRank(level)+1 {
		return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: c.Level + " granted at level " + level})
	}
	if est := estimateOf(req); est != nil {
		if !c.EstimateApproved {
			return a.refuseGrant(ctx, detail, protocol.Error{Code: protocol.ErrNoEstimateApproval, Message: "the estimate was not approved"})
		}
		detail["estimate"] = est
	}
	if c.Level == protocol.LevelDataIntervention {
		return a.acceptIntervention(ctx, c, req, detail)
	}
	if err := a.h.store.AddEvent(ctx, r.id, store.EventConsentGranted, actorCustomer, detail); err != nil {
		a.log.Error("record grant", "level", c.Level, "err", err)
		return a.conn.Send(protocol.Error{Code: protocol.ErrInternal, Message: "could not record consent"})
	}
	a.h.granted(ctx, r, req)
	a.raise(c.Level)
	return nil
}

func estimateOf(req protocol.ConsentRequest) *protocol.Estimate {
	if req.Cost == nil {
		return nil
	}
	return req.Cost.Estimate
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
func (a *agentConn) acceptIntervention(ctx context.Context, c protocol.Consent, req protocol.ConsentRequest, detail map[string]any) error {
	r, work := a.room, req.Intervention
	if err := consent.CheckAcceptance(c.Acceptance); err != nil {
		return a.refuseGrant(ctx, detail, protocol.Error{Code: protocol.ErrNoAcceptance, Message: err.Error()})
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
		return a.conn.Send(refusal)
	}
	a.log.Info("customer accepted a data intervention", "acceptance", acc.ID)
	a.h.granted(ctx, r, req)
	a.raise(c.Level)
	return nil
}

// raise sets the room's level after a recorded grant and tells the console.
func (a *agentConn) raise(level string) {
	a.room.mu.Lock()
	a.room.level = level
	a.room.mu.Unlock()
	a.log.Info("customer granted", "level", level)
	a.room.toConsole(protocol.Consent{Level: level, Granted: true})
}

// stepDown records the customer (or the agent on its own) lowering the
// level. Only a step down is accepted: a step up is always a new question.
func (a *agentConn) stepDown(ctx context.Context, m protocol.LevelChange) error {
	r := a.room
	r.mu.Lock()
	from := r.level
	ok := protocol.LevelRank(m.Level) >= protocol.LevelRank(protocol.LevelView) &&
		protocol.LevelRank(m.Level) < protocol.LevelRank(from)
	if ok {
		r.level = m.Level
		// A question to keep a level no longer in force is void.
		for lv, q := range r.asked {
			if q.Keep != "" {
				delete(r.asked, lv)
			}
		}
	}
	r.mu.Unlock()
	if !ok {
		return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: "level " + m.Level + " is not below " + from})
	}
	a.h.ladderAbove(r, m.Level)
	reason := orDefault(m.Reason, "customer")
	if err := a.h.store.AddEvent(ctx, r.id, store.EventConsentRevoked, actorCustomer,
		map[string]string{"level": m.Level, "from": from, "reason": reason}); err != nil {
		a.log.Error("record revocation", "err", err)
	}
	a.log.Info("level lowered", "level", m.Level, "from", from, "reason", reason)
	r.toConsole(protocol.LevelChange{Level: m.Level, Reason: reason})
	return nil
}

// boundText bounds agent-supplied text kept as a record: a hostile agent
// must not fill the database.
func boundText(s string) string {
	if len(s) > 8192 {
		s = s[:8192]
	}
	return strings.ToValidUTF8(s, "")
}

// categoryNames names a work category in every language, for the customer.
func (c *consoleConn) categoryNames(ctx context.Context, code string) (map[string]string, string) {
	cats, err := c.h.store.Categories(ctx)
	if err != nil {
		c.h.log.Error("read work categories", "err", err)
		return nil, "could not check the category"
	}
	for _, cat := range cats {
		if cat.Code == code {
			return cat.Names, ""
		}
	}
	return nil, "unknown work category " + code
}
