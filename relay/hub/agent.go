package hub

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/meekijk/meekijk/internal/codeguard"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/sessioncode"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/internal/wsconn"
)

// Actors recorded in session events for things the agent reports.
const (
	actorAgent    = "agent"
	actorCustomer = "customer"
	actorRelay    = "relay"
)

// agentConn is the state of one agent connection, owned by its handler.
type agentConn struct {
	h      *Hub
	conn   *wsconn.Conn
	log    *slog.Logger
	ip     string
	hello  *protocol.Hello
	wrong  int   // wrong codes on this connection
	room   *room // set once joined
	ending bool  // the customer ended the session from the agent
}

// ServeAgent serves an agent's WebSocket. Agents are programs, not pages: a
// request carrying a browser's foreign Origin is refused, so no web page can
// guess codes through a visitor's browser.
func (h *Hub) ServeAgent(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") != "" && !httpx.SameOrigin(r) {
		h.countRefused(RefusedOrigin)
		http.Error(w, "foreign origin", http.StatusForbidden)
		return
	}
	if h.draining.Load() {
		h.countRefused(RefusedDraining)
		// Another relay behind the same address takes it at once.
		w.Header().Set("Retry-After", "1")
		http.Error(w, "relay draining: connect again", http.StatusServiceUnavailable)
		return
	}
	ip := httpx.ClientIP(r)
	addr, _ := codeguard.Keys(ip)
	slot, ok := h.agents.Acquire(addr)
	if !ok {
		h.full.Add(addr)
		h.countRefused(RefusedFull)
		// Agents retry on their own; half a minute spreads them out.
		w.Header().Set("Retry-After", "30")
		http.Error(w, "relay busy: too many agent connections", http.StatusServiceUnavailable)
		return
	}
	log := h.log.With("peer", "agent", "ip", ip)
	c := h.accept(w, r, log)
	if c == nil {
		slot()
		return
	}
	a := &agentConn{h: h, conn: c, log: log, ip: ip}
	// The connection outlives this handler. net/http holds a 4 KB reader
	// and a 4 KB writer for every handler still running, a third of what
	// an idle agent costs the relay; returning lets it drop them. The
	// hub's handlers group owns the goroutine (Shutdown waits for it).
	ctx := context.WithoutCancel(r.Context())
	go func() {
		defer slot()
		defer h.release(c)
		err := c.Run(ctx, a.handle)
		a.log.Debug("agent connection closed", "err", err)
		a.disconnected()
	}()
}

func (a *agentConn) handle(m protocol.Message) error {
	ctx := store.WithActor(context.Background(), store.Actor{Name: actorAgent, IP: a.ip})
	if a.hello == nil {
		hello, perr := checkHello(m, protocol.RoleAgent)
		if perr != nil {
			a.conn.Finish(*perr)
			return errPeerDone
		}
		if hello.Agent == nil {
			hello.Agent = &protocol.AgentInfo{}
		}
		hello.Agent.Hostname = cleanText(hello.Agent.Hostname)
		hello.Agent.User = cleanText(hello.Agent.User)
		hello.Agent.OS = cleanText(hello.Agent.OS)
		a.hello = &hello
		return a.conn.Send(protocol.Welcome{Protocol: protocol.Version, Software: a.h.cfg.Software})
	}
	if a.room == nil {
		switch m := m.(type) {
		case protocol.Join:
			return a.join(ctx, m)
		case protocol.Resume:
			return a.resume(ctx, m)
		}
		return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: m.Type() + " before join"})
	}
	a.touch()
	switch m := m.(type) {
	case protocol.Heartbeat:
		return a.conn.Send(protocol.Heartbeat{})
	case protocol.Consent:
		return a.answer(ctx, m)
	case protocol.Offer, protocol.Candidate:
		// Signaling flows only once the customer's consent is recorded.
		if !a.room.isLive() {
			return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: m.Type() + " before consent"})
		}
		a.room.noteOffer(m)
		a.room.toConsole(m)
	case protocol.MediaStarted:
		if !a.room.isLive() {
			return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: "media before consent"})
		}
		a.room.setMedia(true)
		if err := a.h.store.AddEvent(ctx, a.room.id, store.EventMediaStarted, actorAgent, nil); err != nil {
			a.log.Error("record media start", "err", err)
		}
	case protocol.LevelChange:
		return a.stepDown(ctx, m)
	case protocol.Reconfirm:
		return a.reconfirm(ctx, m)
	case protocol.Chat:
		return a.room.chat(ctx, a.h, a.conn, m, actorCustomer, protocol.ByCustomer)
	case protocol.FileEvent:
		return a.fileEvent(ctx, m)
	case protocol.ScreenSwitch:
		return a.screenSwitch(ctx, m)
	case protocol.RecordingConsent:
		return a.recordingAnswer(ctx, m)
	case protocol.ClipboardEvent:
		return a.clipboardEvent(ctx, m)
	case protocol.End:
		a.ending = true
		a.h.end(ctx, a.room, protocol.ByCustomer, actorCustomer, orDefault(m.Reason, protocol.ReasonCustomerStopped))
		return errPeerDone
	default:
		return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: m.Type() + " is not an agent message"})
	}
	return nil
}

// throttled reports whether a's address must wait before trying a code or
// a resume token, and the refusal to send if so. Refusals are logged in
// summary by the guard, not one line each.
func (a *agentConn) throttled() (protocol.Error, bool) {
	ok, wait := a.h.guard.Check(a.ip)
	if ok {
		return protocol.Error{}, false
	}
	return protocol.Error{Code: protocol.ErrThrottled, Message: "too many wrong codes",
		RetryAfter: int((wait + time.Second - 1) / time.Second)}, true
}

func (a *agentConn) join(ctx context.Context, join protocol.Join) error {
	// Checked before the code, so a throttled guesser learns nothing, not
	// even from a right code.
	if refusal, throttled := a.throttled(); throttled {
		a.h.countRefused(refusal.Code)
		return a.conn.Send(refusal)
	}
	code, err := sessioncode.Normalize(join.Code)
	var sess store.Session
	if err == nil {
		sess, err = a.h.store.RedeemCode(ctx, a.h.cfg.Codes.Hash(code), actorAgent, a.hello.Agent)
	}
	if err != nil {
		return a.refuse(err)
	}
	a.log = a.log.With("session", sess.ID)
	r := a.h.room(sess.ID)
	r.mu.Lock()
	if a.h.stopping.Load() {
		r.mu.Unlock()
		return a.tooLate(ctx, r)
	}
	r.agent, r.agentInfo = a.conn, a.hello.Agent
	r.seen, r.open = a.h.cfg.Now(), true
	r.mu.Unlock()
	a.room = r
	if _, ok := a.h.claim(ctx, r); ok {
		a.h.announce(ctx, r.id)
	}
	a.h.joined.Add(1)
	a.log.Info("agent joined")
	if err := a.sendJoined(ctx, sess, false, ""); err != nil {
		return err
	}
	return a.askView(ctx, "")
}

// tooLate refuses a join or resume that reached the room after Shutdown
// interrupted every open one: the session is interrupted in the store as
// the others were, so its agent resumes it with a fresh consent. The
// check sits in the room's critical section, which Shutdown's own takes
// after setting stopping, so no session opens unseen.
func (a *agentConn) tooLate(ctx context.Context, r *room) error {
	if _, err := a.h.store.Interrupt(ctx, r.id, a.h.cfg.Now(), store.InterruptShutdown, actorRelay); err != nil {
		a.log.Error("interrupt a session joined during shutdown", "session", r.id, "err", err)
	}
	a.h.dropIfEmpty(r)
	a.conn.Finish(protocol.Error{Code: protocol.ErrRelayRestarting, Message: "relay shutting down"})
	return errPeerDone
}

// sendJoined tells the agent who asks, the session's settings, and the
// token it may resume the session with after a drop; kept is the consent
// level a resumed session keeps ("" when the customer is asked again).
func (a *agentConn) sendJoined(ctx context.Context, sess store.Session, resumed bool, kept protocol.Level) error {
	token, err := a.h.newResumeToken(ctx, sess.ID)
	if err != nil {
		// The session works without; a drop then ends it.
		a.log.Error("store resume token", "err", err)
	}
	servers, policy := a.h.ice(sess.ID)
	timers, err := a.h.store.ConsentTimers(ctx)
	if err != nil {
		a.log.Error("read consent timers; using the defaults", "err", err)
	}
	// Cleaned on the way out as well as when typed: these become the
	// customer's consent question, and a row written into the database
	// by other means must not bring a bidi override with it.
	return a.conn.Send(protocol.Joined{
		SessionID: sess.ID, Technician: stripControls(a.room.technicianName(sess)), Company: a.h.cfg.Company,
		TicketRef: sess.TicketRef, TicketTitle: stripControls(sess.TicketTitle), ICEServers: servers, ICETransportPolicy: policy,
		ReconfirmSeconds: int(timers.Every.Seconds()), ReconfirmAnswerSeconds: int(timers.Answer.Seconds()),
		ResumeToken: token, GraceSeconds: int(a.h.cfg.Grace.Seconds()), Resumed: resumed, Lang: sess.Lang, KeptLevel: kept,
	})
}

// askView puts the first question to the customer: may the technician see
// the screen?
func (a *agentConn) askView(ctx context.Context, reason string) error {
	a.room.toConsole(protocol.Status{Status: protocol.StatusJoined, Agent: a.hello.Agent, Reason: reason})
	if err := a.h.store.AddEvent(ctx, a.room.id, store.EventConsentAsked, actorRelay,
		map[string]protocol.Level{"level": protocol.LevelView}); err != nil {
		a.log.Error("record consent request", "err", err)
	}
	return a.conn.Send(protocol.ConsentRequest{Level: protocol.LevelView, Cost: a.viewCost(ctx)})
}

// viewCost is the cost notice for viewing when the session will be
// billable (no contract, outside hours, ...), so the customer learns it
// with the first question rather than on the bill. Viewing is not held
// back when it cannot be priced: control is, and asks again.
func (a *agentConn) viewCost(ctx context.Context) *protocol.CostNotice {
	if a.h.cfg.Cost == nil {
		return nil
	}
	cost, err := a.h.cfg.Cost(ctx, a.room.id, protocol.LevelView)
	if err != nil {
		a.log.Warn("view question without its cost notice", "err", err)
		return nil
	}
	return cost
}

// refuse answers a failed join. Every failure counts as a guess, including
// expired and used codes: they are rare for honest customers and cheap to
// wait out.
func (a *agentConn) refuse(err error) error {
	code := protocol.ErrWrongCode
	switch {
	case errors.Is(err, sessioncode.ErrFormat), errors.Is(err, store.ErrCodeUnknown), errors.Is(err, store.ErrResumeRefused):
	case errors.Is(err, store.ErrCodeExpired):
		code = protocol.ErrExpiredCode
	case errors.Is(err, store.ErrCodeUsed):
		code = protocol.ErrUsedCode
	case errors.Is(err, store.ErrSessionOver):
		code = protocol.ErrSessionOver
	default:
		a.log.Error("redeem code", "err", err)
		return a.conn.Send(protocol.Error{Code: protocol.ErrInternal, Message: "could not check the code"})
	}
	a.h.guard.Fail(a.ip)
	a.h.countRefused(code)
	a.wrong++
	a.log.Info("code refused", "reason", code, "wrong_on_conn", a.wrong)
	refusal := protocol.Error{Code: code, Message: err.Error()}
	if a.wrong >= GuessesPerConn {
		a.conn.Finish(refusal)
		return errPeerDone
	}
	return a.conn.Send(refusal)
}

// disconnected starts the grace period when the agent's connection ends
// without the session ending: the agent may resume it.
func (a *agentConn) disconnected() {
	r := a.room
	if r == nil {
		return
	}
	r.mu.Lock()
	mine := r.agent == a.conn
	if mine {
		r.agent = nil
	}
	open, seen := r.open, r.seen
	r.mu.Unlock()
	if mine && open && !a.ending {
		a.h.linkDown(r, seen, "disconnected")
	}
	a.h.dropIfEmpty(r)
}

// end records the end of a session (once) and tells both sides.
func (h *Hub) end(ctx context.Context, r *room, by, actor, reason string) {
	ended, err := h.store.End(ctx, r.id, by, actor, reason)
	if err != nil {
		h.log.Error("record session end", "session", r.id, "err", err)
	}
	if !ended && err == nil {
		return // already over: declined, or ended by the other side first
	}
	h.log.Info("session ended", "session", r.id, "by", by, "reason", reason)
	r.mu.Lock()
	r.live, r.level, r.open = false, "", false
	h.stopGraceLocked(r)
	clear(r.asked)
	r.forgetEstimatesLocked()
	agent := r.agent
	r.mu.Unlock()
	r.toConsole(protocol.Status{Status: protocol.StatusEnded, By: by, Reason: reason})
	if agent != nil {
		agent.Finish(protocol.End{By: by, Reason: reason})
	}
}

// Ended tells the consoles open on session id that it ended outside the
// hub: the console's API ends a session still waiting for its code when
// its ticket is given a new one. No agent can be in that room (a session
// with its customer in refuses a new code, and a dead code lets no agent
// join), so only consoles hear it.
func (h *Hub) Ended(sessionID int64, by, reason string) {
	h.mu.Lock()
	r := h.rooms[sessionID]
	h.mu.Unlock()
	if r != nil {
		r.toConsole(protocol.Status{Status: protocol.StatusEnded, By: by, Reason: reason})
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return cleanText(s)
}
