package app

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/meekijk/meekijk/agent/localui"
	"github.com/meekijk/meekijk/agent/relayclient"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/wsconn"
)

// The link to the relay during a session. The agent sends a heartbeat every
// protocol.HeartbeatInterval and counts any message from the relay as a
// sign of life. After protocol.LinkTimeout of silence the link is down: the
// technician's input is refused (held keys released) and the page says so.
// After deadLink the connection is given up and the agent dials again, with
// backoff and jitter, and resumes the session with its token. Within the
// relay's grace period sharing goes on (an ICE restart brings the picture
// back); after it, sharing stops here too, and only a new consent starts it
// again.

const (
	// deadLink is how long a silent connection is kept: TCP may still
	// deliver after a short outage, so the same connection is given a
	// chance before a new one is dialed.
	deadLink = 15 * time.Second
	// giveUp ends the agent's attempts to reach the relay again.
	giveUp = 10 * time.Minute
	// endDelivery is how long an agent whose customer stopped during a
	// drop keeps trying to tell the relay before it exits.
	endDelivery = 30 * time.Second
)

var redialBackoff = relayclient.Backoff{Base: 500 * time.Millisecond, Max: 10 * time.Second}

// Link states shown on the page (localui.State.Link).
const (
	linkReconnecting = "reconnecting" // down, within the grace period
	linkLost         = "lost"         // down past the grace period: sharing stopped
)

// checkLink is the link's part of every tick.
func (a *App) checkLink(now time.Time) {
	if a.joined == nil || a.finished {
		return
	}
	if a.conn != nil {
		// A resume waits for its answer; heartbeats before it would be
		// refused as coming before the session.
		if !a.resuming && now.Sub(a.beat) >= protocol.HeartbeatInterval {
			a.beat = now
			_ = a.conn.Send(protocol.Heartbeat{})
		}
		silent := now.Sub(a.heard)
		if silent > protocol.LinkTimeout {
			a.linkDown(a.heard)
		}
		if silent > deadLink {
			a.log.Info("relay connection silent; dialing again", "silent", silent.Round(time.Second))
			a.conn.Close()
			a.conn, a.resuming = nil, false
			a.redial()
		}
	}
	if a.downSince.IsZero() {
		return
	}
	if a.allowed && now.Sub(a.downSince) > a.grace() {
		a.lapse()
	}
	if now.Sub(a.downSince) > giveUp {
		a.log.Warn("relay unreachable; giving up", "since", a.downSince)
		a.stopRedial()
		a.stopSharing()
		a.clearQuestions()
		a.state.Phase, a.state.Error, a.state.Link = localui.PhaseEnded, "relay", ""
		a.finished = true
		a.uiDirty = true
	}
}

func (a *App) grace() time.Duration {
	if a.joined.GraceSeconds <= 0 {
		return time.Minute
	}
	return time.Duration(a.joined.GraceSeconds) * time.Second
}

// linkDown notes that the relay was last heard at since. Input stops at
// once (syncControl sees downSince).
func (a *App) linkDown(since time.Time) {
	if !a.downSince.IsZero() {
		return
	}
	a.log.Info("relay link down", "since", since)
	a.downSince = since
	if a.state.Link == "" {
		a.state.Link = linkReconnecting
	}
	a.uiDirty = true
}

// heardRelay notes a message from the relay, which ends a drop the
// connection survived.
func (a *App) heardRelay(now time.Time) {
	a.heard = now
	if !a.downSince.IsZero() && !a.resuming {
		a.linkUp()
	}
}

// linkUp ends a drop within the grace period. If the picture stopped
// meanwhile, ICE is restarted on the same connection: no new consent.
func (a *App) linkUp() {
	a.log.Info("relay link up", "down_for", time.Since(a.downSince).Round(time.Second))
	a.downSince = time.Time{}
	if a.state.Link == linkReconnecting {
		a.state.Link = ""
	}
	a.uiDirty = true
	if a.allowed && a.sender != nil && !a.sender.Connected() {
		a.restartICE()
	}
}

// lapse stops sharing after the link stayed down longer than the grace
// period: the customer's consent no longer stands.
func (a *App) lapse() {
	a.log.Info("link down longer than the grace period: sharing stopped")
	a.stopSharing()
	a.clearQuestions()
	a.allowed = false
	a.outbox = nil // answers about a sharing that ended
	a.state.Level = ""
	a.state.Phase, a.state.Link = localui.PhaseConnecting, linkLost
	a.uiDirty = true
}

// lostRelay handles the end of the relay connection during a session:
// dial again and resume, rather than end.
func (a *App) lostRelay() bool {
	if a.joined == nil || (a.finished && a.pendingEnd == nil) || a.joined.ResumeToken == "" {
		return false
	}
	a.conn = nil
	a.resuming = false
	a.linkDown(a.heard)
	a.redial()
	return true
}

// redial dials the relay until it answers, then hands the connection to
// the loop (event.redialed).
func (a *App) redial() {
	if a.redialStop != nil {
		return
	}
	ctx, cancel := context.WithCancel(a.runCtx)
	a.redialStop = cancel
	a.runWG.Add(1)
	go func() {
		defer a.runWG.Done()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(redialBackoff.Delay(n, rand.Float64())):
			}
			conn, err := a.dial(ctx)
			if err != nil {
				a.log.Debug("relay still unreachable", "attempt", n+1, "err", err)
				continue
			}
			if a.report(ctx, event{redialed: conn}) != nil {
				conn.Close()
			}
			return
		}
	}()
}

func (a *App) stopRedial() {
	if a.redialStop != nil {
		a.redialStop()
		a.redialStop = nil
	}
}

// onRedialed resumes the session on a new connection.
func (a *App) onRedialed(conn *wsconn.Conn) {
	a.stopRedial()
	if (a.finished && a.pendingEnd == nil) || a.conn != nil {
		conn.Close()
		return
	}
	a.attach(conn)
	a.resuming = true
	a.heard = time.Now()
	_ = conn.Send(protocol.Resume{SessionID: a.joined.SessionID, Token: a.joined.ResumeToken})
}

// onResumed is the relay's answer to Resume. When the consent lapsed, a
// view question follows.
func (a *App) onResumed(m protocol.Joined) {
	a.resuming = false
	a.joined = &m
	if a.pendingEnd != nil {
		a.log.Info("back to the relay: telling it the customer stopped", "session", m.SessionID)
		a.conn.Finish(*a.pendingEnd)
		a.pendingEnd, a.endDelivered = nil, true
		return
	}
	if m.KeptLevel == "" {
		// The relay asks again (its grace period ran out, or it
		// restarted): the consent is gone here too, before anything is
		// captured or offered. The link itself is up.
		a.log.Info("session resumed without its consent; the customer is asked again", "session", m.SessionID)
		if a.allowed {
			a.lapse()
		}
		a.downSince, a.state.Link = time.Time{}, ""
		a.uiDirty = true
		return
	}
	a.log.Info("session resumed", "session", m.SessionID, "level", m.KeptLevel)
	a.linkUp()
	if a.allowed && a.sender == nil {
		// The stream was stopped while the resume awaited this answer (a
		// console attaching meanwhile asked for a new offer, or the
		// customer chose another screen), and startSharing held back
		// until the relay said the consent stands: it does.
		a.startSharing()
	}
	a.flushOutbox()
}

// onResumeRefused ends the agent when the relay will not resume the
// session: it ended meanwhile, or the relay lost it.
func (a *App) onResumeRefused(m protocol.Error) {
	a.log.Info("relay refused to resume", "code", m.Code)
	a.resuming = false
	a.stopSharing()
	a.clearQuestions()
	a.state.Phase, a.state.Link, a.state.Error = localui.PhaseEnded, "", "relay"
	if m.Code == protocol.ErrSessionOver {
		a.state.Error = ""
	}
	a.finished = true
}

// maxOutbox bounds what the agent keeps for the relay while the link is
// down: the customer's answers and the session's record, not a stream.
const maxOutbox = 64

// toRelay sends m to the relay, or keeps it until the session resumes with
// its consent standing: an answer clicked during a drop is not lost.
func (a *App) toRelay(m protocol.Message) error {
	if a.conn != nil && !a.resuming {
		return a.conn.Send(m)
	}
	if len(a.outbox) >= maxOutbox {
		return errOutboxFull
	}
	a.outbox = append(a.outbox, m)
	return nil
}

var errOutboxFull = errors.New("relay unreachable and too much waiting for it")

// flushOutbox sends what waited for the relay.
func (a *App) flushOutbox() {
	out := a.outbox
	a.outbox = nil
	for _, m := range out {
		_ = a.toRelay(m)
	}
}

// restartICE offers an ICE restart on the running peer connection.
func (a *App) restartICE() {
	if a.sender == nil || a.conn == nil || a.gate == nil {
		return
	}
	a.gate.hold(a.conn)
	sdp, err := a.sender.RestartOffer()
	if err != nil {
		// The drop came before the console answered the first offer:
		// there is no connection to restart. Start afresh; the
		// customer's consent stands.
		a.log.Info("no ICE restart possible; offering a new connection", "err", err)
		a.stopSharing()
		a.startSharing()
		return
	}
	a.log.Info("ICE restart offered")
	a.gate.open(protocol.Offer{SDP: sdp, Restart: true})
}
