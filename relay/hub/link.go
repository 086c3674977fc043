package hub

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/internal/wsconn"
)

// The agent's link to the relay. A session's agent sends a heartbeat every
// protocol.HeartbeatInterval; a silence of protocol.LinkTimeout, or a
// closed connection, means the link is down. The time it is down does not
// count as worked time (link_down … link_up). Within the grace period the
// agent may come back with its resume token and the session goes on at the
// level the customer granted; after it the session is interrupted and the
// customer must consent again. A relay restart interrupts every open
// session the same way (store.InterruptOpen at start, Shutdown at stop).

// heartbeatEvery is how often the relay records which sessions it still
// hears from, so that a relay killed mid-session stops their worked time
// no later than this after the truth.
const heartbeatEvery = 10 * time.Second

// AbandonAfter ends an interrupted session whose agent did not come back
// (the agent itself stops trying after 10 minutes); a technician may end
// it sooner.
const AbandonAfter = 15 * time.Minute

// watchLinks finds links gone silent and records the heartbeats, until ctx
// ends.
func (h *Hub) watchLinks(ctx context.Context) {
	check := time.NewTicker(time.Second)
	defer check.Stop()
	// With a cluster, the rooms' states are saved more often than links
	// are checked: what a relay taking a room over finds is at most this
	// old (saveRooms).
	var save <-chan time.Time
	if h.cfg.Cluster != nil {
		t := time.NewTicker(saveEvery)
		defer t.Stop()
		save = t.C
	}
	var lastBeat, lastSweep time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-save:
			h.saveRooms(ctx)
			continue
		case <-check.C:
		}
		now := h.cfg.Now()
		var alive []int64
		for _, r := range h.allRooms() {
			r.mu.Lock()
			watched := r.open && r.agent != nil && !r.down
			seen := r.seen
			r.mu.Unlock()
			switch {
			case !watched:
			case now.Sub(seen) > protocol.LinkTimeout:
				h.linkDown(r, seen, "silent")
			default:
				alive = append(alive, r.id)
			}
		}
		// The desk's sweeps run on one relay: the leader, or the only one.
		leader := h.cfg.Cluster == nil || h.cfg.Cluster.Leader()
		if now.Sub(lastBeat) >= heartbeatEvery {
			lastBeat = now
			if err := h.store.Heartbeat(ctx, alive); err != nil && ctx.Err() == nil {
				h.log.Error("record heartbeats", "err", err)
			}
			// As often as heartbeats: a lost relay's sessions stop
			// counting time soon after their grace period.
			if h.cfg.Cluster != nil && leader {
				h.sweepOrphans(ctx)
			}
		}
		if now.Sub(lastSweep) >= time.Minute && leader {
			lastSweep = now
			h.endAbandoned(ctx, now)
		}
	}
}

// endAbandoned ends the sessions interrupted longer than AbandonAfter and
// tells their consoles.
func (h *Hub) endAbandoned(ctx context.Context, now time.Time) {
	ended, err := h.store.EndAbandoned(store.WithActor(ctx, store.Actor{Name: actorRelay}), now.Add(-AbandonAfter), actorRelay)
	if err != nil && ctx.Err() == nil {
		h.log.Error("end abandoned sessions", "err", err)
	}
	for _, id := range ended {
		h.log.Info("session ended: its agent did not come back", "session", id)
		h.mu.Lock()
		r := h.rooms[id]
		h.mu.Unlock()
		if r != nil {
			r.toConsole(protocol.Status{Status: protocol.StatusEnded, By: protocol.ByRelay, Reason: store.ReasonAgentGone})
		}
		if h.cfg.Cluster != nil {
			// Consoles on other relays hear it from theirs.
			h.announce(ctx, id)
		}
	}
}

func (h *Hub) allRooms() []*room {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		out = append(out, r)
	}
	return out
}

// linkDown records that the agent's link went down at `at` and starts the
// grace period, once per drop.
func (h *Hub) linkDown(r *room, at time.Time, why string) {
	h.mu.Lock()
	closing := h.closed
	h.mu.Unlock()
	if closing {
		return // Shutdown interrupts the session
	}
	r.mu.Lock()
	if !r.open || r.down {
		r.mu.Unlock()
		return
	}
	// The hub owns the timer's goroutine: Shutdown waits for it. Once
	// Shutdown closed the group, it interrupts the session itself.
	if !h.graces.add() {
		r.mu.Unlock()
		return
	}
	r.down = true
	r.downAt = at
	r.downGen++
	gen := r.downGen
	r.grace = time.AfterFunc(max(0, h.cfg.Grace-h.cfg.Now().Sub(at)), func() {
		defer h.graces.done()
		h.graceOver(r, gen)
	})
	level := r.level
	r.mu.Unlock()
	h.log.Info("agent link down", "session", r.id, "why", why)
	ctx := store.WithActor(context.Background(), store.Actor{Name: actorRelay})
	if err := h.store.AddEventAt(ctx, r.id, at, store.EventLinkDown, actorRelay, map[string]string{"reason": why}); err != nil {
		h.log.Error("record link down", "session", r.id, "err", err)
	}
	r.toConsole(protocol.Status{Status: protocol.StatusReconnecting, Level: level})
}

// touch notes that the relay heard from the agent, which ends a drop the
// connection survived (the network came back before TCP gave up).
func (a *agentConn) touch() {
	r := a.room
	r.mu.Lock()
	r.seen = a.h.cfg.Now()
	down := r.down && r.agent == a.conn
	r.mu.Unlock()
	if down {
		a.h.linkUp(r)
	}
}

// linkUp ends a drop the connection survived, within the grace period:
// the consent stands. The caller holds no lock.
func (h *Hub) linkUp(r *room) {
	r.mu.Lock()
	if !r.down {
		r.mu.Unlock()
		return
	}
	h.stopGraceLocked(r)
	st := protocol.Status{Status: protocol.StatusJoined, Agent: r.agentInfo, Reason: protocol.ReasonResumed, Level: r.level}
	if r.live {
		st.Status = protocol.StatusLive
	}
	r.mu.Unlock()
	h.log.Info("agent link up", "session", r.id)
	ctx := store.WithActor(context.Background(), store.Actor{Name: actorRelay})
	if err := h.store.AddEvent(ctx, r.id, store.EventLinkUp, actorRelay, nil); err != nil {
		h.log.Error("record link up", "session", r.id, "err", err)
	}
	r.toConsole(st)
}

// stopGraceLocked ends a drop's grace period.
func (h *Hub) stopGraceLocked(r *room) {
	r.down = false
	if r.grace != nil && r.grace.Stop() {
		h.graces.done() // its callback will not run
	}
	r.grace = nil
}

// graceOver interrupts the session whose link stayed down for the whole
// grace period, unless that drop (gen) ended meanwhile.
func (h *Hub) graceOver(r *room, gen int) {
	r.mu.Lock()
	current := r.down && r.downGen == gen
	downAt := r.downAt
	r.mu.Unlock()
	if current {
		h.interrupt(r, downAt, store.InterruptGraceExpired)
	}
}

// interrupt stops sharing on an open session and records it: worked time
// stops at downAt, and the customer must consent again.
func (h *Hub) interrupt(r *room, downAt time.Time, reason string) {
	h.interruptAll([]*room{r}, downAt, reason)
}

// interruptAll is interrupt for many rooms at once, with one write to the
// store: a relay shutting down with hundreds of sessions open syncs the
// disk once, not once each, and so stays within its shutdown time.
func (h *Hub) interruptAll(rooms []*room, downAt time.Time, reason string) {
	type stopped struct {
		r     *room
		agent *wsconn.Conn
	}
	var done []stopped
	var ids []int64
	for _, r := range rooms {
		r.mu.Lock()
		if !r.open {
			r.mu.Unlock()
			continue
		}
		r.open, r.live, r.level = false, false, ""
		clear(r.asked)
		h.stopGraceLocked(r)
		r.forgetEstimatesLocked()
		done = append(done, stopped{r, r.agent})
		r.agent = nil
		r.mu.Unlock()
		ids = append(ids, r.id)
	}
	if len(ids) == 0 {
		return
	}
	ctx := store.WithActor(context.Background(), store.Actor{Name: actorRelay})
	if err := h.store.InterruptSessions(ctx, ids, downAt, reason, actorRelay); err != nil {
		h.log.Error("record interruptions", "sessions", ids, "err", err)
	}
	for _, d := range done {
		h.log.Info("session interrupted", "session", d.r.id, "reason", reason)
		d.r.toConsole(protocol.Status{Status: protocol.StatusInterrupted, Reason: reason})
		if d.agent != nil && reason == store.InterruptGraceExpired {
			// A connection silent for the whole grace period is dead; the
			// agent resumes on a new one.
			d.agent.Close()
		}
		h.dropIfEmpty(d.r)
	}
}

// dropIfEmpty forgets a room nobody is attached to and no drop is pending
// in.
func (h *Hub) dropIfEmpty(r *room) {
	r.mu.Lock()
	empty := r.agent == nil && r.console == nil && r.grace == nil
	release := empty && r.claimed
	if release {
		r.claimed = false
	}
	r.mu.Unlock()
	if !empty {
		return
	}
	h.mu.Lock()
	if h.rooms[r.id] == r {
		delete(h.rooms, r.id)
	}
	h.mu.Unlock()
	if release {
		// Nobody is here and no drop is pending: the session is over or
		// interrupted, and its next resume claims it wherever it lands.
		cl := h.cfg.Cluster
		if err := cl.Release(context.Background(), r.id, cl.Self()); err != nil {
			h.log.Error("release session", "session", r.id, "err", err)
		}
	}
}

// newResumeToken draws a token for the agent and stores its hash.
func (h *Hub) newResumeToken(ctx context.Context, id int64) (string, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	token := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	if err := h.store.SetResumeToken(ctx, id, sum[:]); err != nil {
		return "", err
	}
	return token, nil
}

// resume reattaches a returning agent to its session: within the grace
// period at the level the customer granted, after it (or after a relay
// restart) with a new question.
func (a *agentConn) resume(ctx context.Context, m protocol.Resume) error {
	if refusal, throttled := a.throttled(); throttled {
		return a.conn.Send(refusal)
	}
	sum := sha256.Sum256([]byte(m.Token))
	var (
		sess        store.Session
		interrupted bool
		r           *room
	)
	for attempt := 0; ; attempt++ {
		var err error
		sess, interrupted, err = a.h.store.Resume(ctx, m.SessionID, sum[:], actorAgent)
		if err != nil {
			return a.refuse(err)
		}
		r = a.h.room(sess.ID)
		if attempt == 0 && a.h.cfg.Cluster != nil {
			// The token is good: the room is this relay's now, with the
			// consent its last home left if still within the grace.
			a.h.takeOver(ctx, r, interrupted)
		}
		r.mu.Lock()
		if interrupted || r.open {
			break
		}
		r.mu.Unlock()
		// The grace period ran out between the store's answer and now,
		// and the store says interrupted when asked again. Should it
		// not (a session open in the store that this relay does not
		// hold), it is interrupted here: its consent is not this
		// relay's to vouch for.
		if attempt > 0 {
			if _, err := a.h.store.Interrupt(ctx, sess.ID, a.h.cfg.Now(), store.InterruptGraceExpired, actorRelay); err != nil {
				a.log.Error("interrupt a session without a room", "session", sess.ID, "err", err)
				return a.conn.Send(protocol.Error{Code: protocol.ErrInternal, Message: "could not resume"})
			}
		}
	}
	if a.h.stopping.Load() {
		r.mu.Unlock()
		return a.tooLate(ctx, r)
	}
	a.log = a.log.With("session", sess.ID)
	old := r.agent
	r.agent, r.agentInfo = a.conn, a.hello.Agent
	r.seen, r.open = a.h.cfg.Now(), true
	wasDown := r.down
	a.h.stopGraceLocked(r)
	if interrupted || !r.live {
		r.live, r.level = false, ""
		clear(r.asked)
	}
	r.resumed = interrupted
	kept, level := r.live, r.level
	r.mu.Unlock()
	a.room = r
	if old != nil && old != a.conn {
		// The agent gave up on a connection the relay still held.
		old.Close()
	}
	a.log.Info("agent resumed", "consent_kept", kept)
	var keptLevel protocol.Level
	if kept {
		keptLevel = level
	}
	if err := a.sendJoined(ctx, sess, true, keptLevel); err != nil {
		return err
	}
	if wasDown || interrupted {
		if err := a.h.store.AddEvent(ctx, sess.ID, store.EventLinkUp, actorRelay, map[string]string{"how": "resume"}); err != nil {
			a.log.Error("record link up", "err", err)
		}
	}
	if kept {
		if err := a.h.store.AddEvent(ctx, sess.ID, store.EventResumed, actorAgent, map[string]string{"consent": "kept"}); err != nil {
			a.log.Error("record resumption", "err", err)
		}
		r.toConsole(protocol.Status{Status: protocol.StatusLive, Agent: a.hello.Agent, Reason: protocol.ReasonResumed, Level: level})
		return nil
	}
	if !interrupted {
		if err := a.h.store.AddEvent(ctx, sess.ID, store.EventResumed, actorAgent, map[string]string{"consent": "asked"}); err != nil {
			a.log.Error("record resumption", "err", err)
		}
	}
	return a.askView(ctx, protocol.ReasonResumed)
}
