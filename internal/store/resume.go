package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Sessions that survive drops and relay restarts. A session whose agent was
// unreachable longer than the grace period, or that was open when the relay
// stopped, is interrupted: its worked time stopped when the relay last heard
// from the agent, and it resumes (same session, no duplicate) when the agent
// comes back with its resume token and the customer consents again.

// StatusInterrupted: sharing stopped by a lost link or a relay restart; the
// agent may resume the session.
const StatusInterrupted = "interrupted"

// Events of interruption and resumption.
const (
	// interrupted {"reason": "grace_expired"|"relay_restart"|"relay_shutdown"}.
	EventInterrupted = "interrupted"
	// resumed {"consent": "kept"|"asked"}: the agent came back, within the
	// grace period (the consent stands) or after it (asked again).
	EventResumed = "resumed"
)

// Reasons of interruption.
const (
	InterruptGraceExpired = "grace_expired"
	InterruptRelayRestart = "relay_restart"
	InterruptShutdown     = "relay_shutdown"
)

// ErrResumeRefused: no session with that id and resume token.
var ErrResumeRefused = errors.New("no session with this resume token")

// openStatuses are the statuses of a session an agent is attached to.
var openStatuses = []string{StatusJoined, StatusLive}

// SetResumeToken keeps the hash of the token the agent may resume the
// session with, replacing the previous one.
func (s *Store) SetResumeToken(ctx context.Context, id int64, hash []byte) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE remote_sessions SET resume_hash = ?, seen_at = ? WHERE id = ?",
		hash, s.nowMS(), id); err != nil {
		return fmt.Errorf("store: session %d resume token: %w", id, err)
	}
	return nil
}

// Resume checks an agent's resume token. An interrupted session goes back
// to joined (the customer is asked again), recorded as resumed with
// consent "asked", and wasInterrupted is true; a joined or live session is
// left as it is, and the caller records how it resumes. Over sessions give
// ErrSessionOver.
func (s *Store) Resume(ctx context.Context, id int64, tokenHash []byte, actor string) (sess Session, wasInterrupted bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		var hash []byte
		err := tx.QueryRowContext(ctx, "SELECT status, resume_hash FROM remote_sessions WHERE id = ?", id).Scan(&status, &hash)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (len(hash) == 0 || subtle.ConstantTimeCompare(hash, tokenHash) != 1)) {
			return ErrResumeRefused
		}
		if err != nil {
			return err
		}
		switch status {
		case StatusEnded, StatusDeclined:
			return ErrSessionOver
		case StatusInterrupted:
			wasInterrupted = true
			now := s.nowMS()
			if _, err := tx.ExecContext(ctx, "UPDATE remote_sessions SET status = ?, seen_at = ? WHERE id = ?",
				StatusJoined, now, id); err != nil {
				return err
			}
			return s.insertEvent(ctx, tx, id, now, EventResumed, actor, map[string]string{"consent": "asked"})
		}
		return nil
	})
	if err != nil {
		return Session{}, false, fmt.Errorf("store: resume session %d: %w", id, err)
	}
	sess, err = s.Session(ctx, id)
	return sess, wasInterrupted, err
}

// Heartbeat records that the relay heard from these sessions' agents now.
func (s *Store) Heartbeat(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, s.nowMS())
	for _, id := range ids {
		args = append(args, id)
	}
	if _, err := s.db.ExecContext(ctx,
		"UPDATE remote_sessions SET seen_at = ? WHERE id IN ("+placeholders(len(ids))+")", args...); err != nil {
		return fmt.Errorf("store: heartbeat of %d sessions: %w", len(ids), err)
	}
	return nil
}

// Interrupt marks an open session interrupted. Its worked time stops at
// downAt (the link went down then); a live session's consent lapses now.
// It returns false when the session was not open.
func (s *Store) Interrupt(ctx context.Context, id int64, downAt time.Time, reason, actor string) (bool, error) {
	var done bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		done, err = s.interrupt(ctx, tx, id, downAt.UnixMilli(), reason, actor)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: interrupt session %d: %w", id, err)
	}
	return done, nil
}

// InterruptSessions interrupts the open sessions among ids as Interrupt
// does each, in one transaction: one sync of the disk for them all.
func (s *Store) InterruptSessions(ctx context.Context, ids []int64, downAt time.Time, reason, actor string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := s.interrupt(ctx, tx, id, downAt.UnixMilli(), reason, actor); err != nil {
				return fmt.Errorf("session %d: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: interrupt sessions: %w", err)
	}
	return nil
}

func (s *Store) interrupt(ctx context.Context, tx *sql.Tx, id, downAt int64, reason, actor string) (bool, error) {
	var status string
	err := tx.QueryRowContext(ctx, "SELECT status FROM remote_sessions WHERE id = ?", id).Scan(&status)
	if err != nil {
		return false, err
	}
	if status != StatusJoined && status != StatusLive {
		return false, nil
	}
	now := s.nowMS()
	if _, err := tx.ExecContext(ctx, "UPDATE remote_sessions SET status = ? WHERE id = ?", StatusInterrupted, id); err != nil {
		return false, err
	}
	if status == StatusLive {
		var lastLink string
		err := tx.QueryRowContext(ctx, `SELECT kind FROM session_events WHERE session_id = ? AND kind IN (?, ?)
			ORDER BY id DESC LIMIT 1`, id, EventLinkDown, EventLinkUp).Scan(&lastLink)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		if lastLink != EventLinkDown {
			if err := s.insertEvent(ctx, tx, id, min(downAt, now), EventLinkDown, actor, map[string]string{"reason": reason}); err != nil {
				return false, err
			}
		}
		if err := s.insertEvent(ctx, tx, id, now, EventConsentRevoked, actor,
			map[string]string{"level": "", "reason": reason}); err != nil {
			return false, err
		}
	}
	return true, s.insertEvent(ctx, tx, id, now, EventInterrupted, actor, map[string]string{"reason": reason})
}

// InterruptOpen interrupts every session left open by a relay that stopped
// without closing them (killed, or crashed). Worked time stops at the last
// sign of life the relay recorded: its last heartbeat or the session's last
// event, whichever is later. It returns the sessions interrupted.
func (s *Store) InterruptOpen(ctx context.Context, actor string) ([]int64, error) {
	var ids []int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT s.id, `+s.greatest("COALESCE(s.seen_at, 0)", "COALESCE((SELECT max(at) FROM session_events e WHERE e.session_id = s.id), 0)")+`
			FROM remote_sessions s WHERE s.status IN (`+placeholders(len(openStatuses))+`) ORDER BY s.id`,
			toAny(openStatuses)...)
		if err != nil {
			return err
		}
		type open struct{ id, seen int64 }
		all, err := collect(rows, func(r interface{ Scan(...any) error }) (open, error) {
			var o open
			return o, r.Scan(&o.id, &o.seen)
		})
		if err != nil {
			return err
		}
		for _, o := range all {
			if _, err := s.interrupt(ctx, tx, o.id, o.seen, InterruptRelayRestart, actor); err != nil {
				return err
			}
			ids = append(ids, o.id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: interrupt open sessions: %w", err)
	}
	return ids, nil
}

// EndAbandoned ends the sessions interrupted before cutoff whose agent
// never came back: an interruption is a pause, not a way to leave a
// session open for ever. They end by the relay, reason "agent_gone"; the
// worked time stopped at the interruption. It returns the sessions ended.
func (s *Store) EndAbandoned(ctx context.Context, cutoff time.Time, actor string) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT s.id FROM remote_sessions s
		WHERE s.status = ? AND (SELECT max(at) FROM session_events e
			WHERE e.session_id = s.id AND e.kind = ?) < ?
		ORDER BY s.id`, StatusInterrupted, EventInterrupted, cutoff.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store: abandoned sessions: %w", err)
	}
	ids, err := collect(rows, scanID)
	if err != nil {
		return nil, fmt.Errorf("store: abandoned sessions: %w", err)
	}
	var ended []int64
	for _, id := range ids {
		ok, err := s.End(ctx, id, "relay", actor, ReasonAgentGone)
		if err != nil {
			return ended, err
		}
		if ok {
			ended = append(ended, id)
		}
	}
	return ended, nil
}

// ReasonAgentGone ends a session whose agent did not come back after an
// interruption.
const ReasonAgentGone = "agent_gone"
