package hub

import (
	"context"
	"errors"
	"net/http"

	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/internal/wsconn"
)

// ServeConsole serves a technician's WebSocket for one session. The caller
// has authenticated the user; the hub checks the Origin, because browsers
// send cookies on cross-site WebSocket upgrades and the socket is not
// covered by CSRF tokens.
func (h *Hub) ServeConsole(w http.ResponseWriter, r *http.Request, user store.User, sessionID int64) {
	if !httpx.SameOrigin(r) {
		h.log.Warn("console websocket from foreign origin refused", "origin", r.Header.Get("Origin"))
		http.Error(w, "foreign origin", http.StatusForbidden)
		return
	}
	sess, err := h.store.Session(r.Context(), sessionID)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no such session", http.StatusNotFound)
		return
	}
	if err != nil {
		h.log.Error("console websocket", "session", sessionID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	log := h.log.With("peer", "console", "session", sessionID, "user", user.ID)
	c := h.accept(w, r, log)
	if c == nil {
		return
	}
	defer h.release(c)
	rm := h.room(sessionID)
	cc := &consoleConn{h: h, conn: c, room: rm, user: user, actor: store.ActorName("technician", user.ID), ip: httpx.ClientIP(r)}
	err = c.Run(r.Context(), func(m protocol.Message) error { return cc.handle(m, sess) })
	log.Debug("console connection closed", "err", err)
	h.leave(rm, c)
}

type consoleConn struct {
	h      *Hub
	conn   *wsconn.Conn
	room   *room
	user   store.User
	actor  string
	ip     string
	hellod bool
}

func (c *consoleConn) handle(m protocol.Message, sess store.Session) error {
	ctx := store.WithActor(context.Background(), store.Actor{Name: c.actor, IP: c.ip})
	if !c.hellod {
		if _, perr := checkHello(m, protocol.RoleConsole); perr != nil {
			c.conn.Finish(*perr)
			return errPeerDone
		}
		c.hellod = true
		return c.attach(ctx, sess.ID)
	}
	switch m := m.(type) {
	case protocol.Answer, protocol.Candidate:
		if !c.room.isLive() {
			return c.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: m.Type() + " before consent"})
		}
		c.room.toAgent(m)
	case protocol.ConsentRequest:
		return c.askLevel(ctx, m)
	case protocol.Chat:
		return c.room.chat(ctx, c.h, c.conn, m, c.actor, c.user.Name)
	case protocol.End:
		c.h.end(ctx, c.room, protocol.ByTechnician, c.actor, orDefault(m.Reason, "technician_ended"))
	default:
		return c.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: m.Type() + " is not a console message"})
	}
	return nil
}

// attach makes this connection the session's console, replacing an older
// one (a reloaded page), and tells it where the session stands.
func (c *consoleConn) attach(ctx context.Context, id int64) error {
	servers, policy := c.h.ice(id)
	if err := c.conn.Send(protocol.Welcome{Protocol: protocol.Version, Software: c.h.cfg.Software,
		ICEServers: servers, ICETransportPolicy: policy}); err != nil {
		return err
	}
	// Read the session after registering, so a change in between is sent
	// to this connection too rather than lost.
	c.room.mu.Lock()
	old := c.room.console
	c.room.console = c.conn
	c.room.mu.Unlock()
	if old != nil {
		old.Finish(protocol.Error{Code: protocol.ErrReplaced, Message: "session opened in another window"})
	}
	sess, err := c.h.store.Session(ctx, id)
	if err != nil {
		return err
	}
	c.handOver(ctx, sess)
	c.room.mu.Lock()
	agent, info, live, level, down, resumed := c.room.agent, c.room.agentInfo, c.room.live, c.room.level, c.room.down, c.room.resumed
	c.room.mu.Unlock()
	st := protocol.Status{Status: sess.Status, Agent: info, By: sess.EndedBy, Reason: sess.EndReason, Level: level}
	switch {
	case down:
		st.Status = protocol.StatusReconnecting
	case resumed && sess.Status == store.StatusJoined:
		st.Reason = protocol.ReasonResumed // the customer is asked again
	}
	if sess.CodeExpired(c.h.cfg.Now()) {
		st.Reason = "code_expired"
	}
	if err := c.conn.Send(st); err != nil {
		return err
	}
	if live && agent != nil {
		// The agent offers; a new console needs a new offer.
		_ = agent.Send(protocol.Renegotiate{})
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
	from := r.level
	lowered := changed && r.live && protocol.LevelRank(from) > protocol.LevelRank(protocol.LevelView)
	if lowered {
		c.h.ladderAbove(r, protocol.LevelView)
		r.level = protocol.LevelView
	}
	clear(r.asked)
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
		if err := c.h.store.AddEvent(ctx, r.id, store.EventConsentRevoked, actorRelay,
			map[string]string{"level": protocol.LevelView, "from": from, "reason": "handover"}); err != nil {
			c.h.log.Error("record hand-over revocation", "session", r.id, "err", err)
		}
	}
	if agent != nil {
		_ = agent.Send(protocol.Handover{Technician: c.user.Name})
	}
}
