package hub

import (
	"context"
	"errors"
	"net/http"

	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
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
	if h.cfg.Cluster != nil {
		// The session's room may live on another relay (cluster.go).
		h.serveProxy(r.Context(), c, user, httpx.ClientIP(r), sessionID, log)
		return
	}
	rm := h.room(sessionID)
	cc := &consoleConn{h: h, conn: c, room: rm, user: user, actor: store.ActorName("technician", user.ID), ip: httpx.ClientIP(r)}
	err = c.Run(r.Context(), func(m protocol.Message) error { return cc.handle(m, sess) })
	log.Debug("console connection closed", "err", err)
	h.leave(rm, c)
}

type consoleConn struct {
	h      *Hub
	conn   side
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
	case protocol.SASCompared:
		return c.sasCompared(ctx, m)
	case protocol.SASCommit:
		// Only a hash of the console's next certificate: the agent
		// needs it before it may offer (sas.go).
		c.room.toAgent(m)
	case protocol.Chat:
		return c.room.chat(ctx, c.h, c.conn, m, c.actor, c.user.Name)
	case protocol.End:
		c.h.end(ctx, c.room, protocol.ByTechnician, c.actor, orDefault(m.Reason, protocol.ReasonTechnicianEnded))
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
	if old != nil && old != c.conn {
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
	case c.h.cfg.Cluster != nil && agent == nil && (sess.Status == store.StatusLive || sess.Status == store.StatusJoined):
		// Open in the store but held by no relay: the relay holding the
		// agent was lost, and the agent comes back to another one.
		st.Status = protocol.StatusReconnecting
	case resumed && sess.Status == store.StatusJoined:
		st.Reason = protocol.ReasonResumed // the customer is asked again
	}
	if sess.CodeExpired(c.h.cfg.Now()) {
		st.Reason = protocol.ReasonCodeExpired
	}
	if err := c.conn.Send(st); err != nil {
		return err
	}
	if rec := c.room.recordingState(); rec != "" {
		_ = c.conn.Send(protocol.Recording{State: rec})
	}
	if live && agent != nil {
		// The agent offers; a new console needs a new offer.
		_ = agent.Send(protocol.Renegotiate{})
	}
	return nil
}
