package hub

import (
	"context"

	"github.com/meekijk/meekijk/internal/consent"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
)

// Recorder keeps session recordings (relay/recording). The hub asks the
// customer and opens a recording when they agree; the recorder seals it
// itself a few seconds after the session ends, so the agent's last chunk,
// sent as it stops, still gets in.
type Recorder interface {
	Settings(ctx context.Context) (store.RecordingSettings, error)
	// Open starts a session's recording and returns the agent's upload
	// token.
	Open(ctx context.Context, sessionID int64) (string, error)
	// Active reports whether the session has a recording still open: a
	// session resumed after an interruption goes on with it (its agent
	// kept the token) rather than asking again.
	Active(ctx context.Context, sessionID int64) (bool, error)
	MaxChunkBytes() int64
}

// Where a room's recording stands (room.rec).
const (
	recNone    = ""
	recAsked   = "asked"
	recOn      = protocol.RecordingOn
	recRefused = protocol.RecordingRefused
)

// offerRecording asks the customer whether the session may be recorded,
// once per session, when the desk's setting asks at this moment: mode
// "ask" once viewing is allowed, "ask_data" once a data intervention is
// accepted.
func (h *Hub) offerRecording(ctx context.Context, r *room, at store.RecordingMode) {
	if h.cfg.Recordings == nil {
		return
	}
	set, err := h.cfg.Recordings.Settings(ctx)
	if err != nil {
		h.log.Error("read recording settings; not asking to record", "session", r.id, "err", err)
		return
	}
	if set.Mode != at {
		return
	}
	active, err := h.cfg.Recordings.Active(ctx, r.id)
	if err != nil {
		h.log.Error("read the session's recording; not asking to record", "session", r.id, "err", err)
		return
	}
	if active {
		r.mu.Lock()
		r.rec = recOn
		r.mu.Unlock()
		r.toConsole(protocol.Recording{State: protocol.RecordingOn})
		return
	}
	r.mu.Lock()
	ask := r.rec == recNone && r.agent != nil
	if ask {
		r.rec = recAsked
	}
	r.mu.Unlock()
	if !ask {
		return
	}
	if err := h.store.AddEvent(ctx, r.id, store.EventRecordingAsked, actorRelay,
		map[string]any{"version": consent.RecordingVersion, "reason": string(at)}); err != nil {
		h.log.Error("record recording question", "session", r.id, "err", err)
		return
	}
	r.toAgent(protocol.RecordingRequest{RetentionDays: set.RetentionDays})
}

// recordingAnswer records the customer's answer and, when they agreed,
// opens the recording and gives the agent its upload token. A refusal
// changes nothing else: the screen stays shared.
func (a *agentConn) recordingAnswer(ctx context.Context, m protocol.RecordingConsent) error {
	r := a.room
	r.mu.Lock()
	asked := r.rec == recAsked
	if asked {
		r.rec = recRefused
		if m.Granted {
			r.rec = recOn
		}
	}
	r.mu.Unlock()
	if !asked || a.h.cfg.Recordings == nil {
		return a.conn.Send(protocol.Error{Code: protocol.ErrNotAllowed, Message: "no recording was asked"})
	}
	text := boundText(m.Text)
	detail := map[string]any{"version": cleanText(m.Version), "text": text, "lang": cleanText(m.Lang), "textSha256": store.TextSHA256(text)}
	if !m.Granted {
		if err := a.h.store.AddEvent(ctx, r.id, store.EventRecordingRefused, actorCustomer, detail); err != nil {
			a.log.Error("record recording refusal", "err", err)
		}
		r.toConsole(protocol.Recording{State: protocol.RecordingRefused})
		return nil
	}
	if err := a.h.store.AddEvent(ctx, r.id, store.EventRecordingGranted, actorCustomer, detail); err != nil {
		// Nothing is recorded without a recorded consent.
		a.log.Error("record recording consent", "err", err)
		return a.stopRecording(r)
	}
	token, err := a.h.cfg.Recordings.Open(ctx, r.id)
	if err != nil {
		a.log.Error("open recording", "err", err)
		return a.stopRecording(r)
	}
	a.log.Info("recording the session")
	r.toConsole(protocol.Recording{State: protocol.RecordingOn})
	return a.conn.Send(protocol.Recording{State: protocol.RecordingOn, Token: token, MaxChunkBytes: a.h.cfg.Recordings.MaxChunkBytes()})
}

// stopRecording tells both sides that no recording runs.
func (a *agentConn) stopRecording(r *room) error {
	r.mu.Lock()
	r.rec = protocol.RecordingOff
	r.mu.Unlock()
	r.toConsole(protocol.Recording{State: protocol.RecordingOff})
	return a.conn.Send(protocol.Recording{State: protocol.RecordingOff})
}

// recordingState is what a console that (re)opens the session is told:
// "" while nothing was decided.
func (r *room) recordingState() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rec == recAsked {
		return ""
	}
	return r.rec
}
