package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Session statuses (the same words as protocol.Status*).
const (
	StatusWaiting  = "waiting"
	StatusJoined   = "joined"
	StatusLive     = "live"
	StatusDeclined = "declined"
	StatusEnded    = "ended"
)

// Event kinds recorded in a session's history.
const (
	EventCreated        = "created"
	EventAgentJoined    = "agent_joined"
	EventConsentAsked   = "consent_asked"
	EventConsentGranted = "consent_granted"
	EventConsentDenied  = "consent_denied"
	EventMediaStarted   = "media_started"
	EventEnded          = "ended"

	// The consent ladder. consent_asked, consent_granted and consent_denied
	// carry {"level": ...}; a grant raises the session to its level.
	// consent_revoked {"level": new, "from": old} lowers it: the customer
	// stepped down (or the agent did, when a re-confirmation went
	// unanswered).
	EventConsentRevoked = "consent_revoked"
	// reconfirm_asked, reconfirmed and reconfirm_timeout: the periodic
	// "keep sharing?" question.
	EventReconfirmAsked   = "reconfirm_asked"
	EventReconfirmed      = "reconfirmed"
	EventReconfirmTimeout = "reconfirm_timeout"
	// handover {"technicianId": N, "technician": name}: another technician
	// took the session over; worked time from here on is theirs.
	EventHandover = "handover"
	// link_down and link_up bracket a time the agent was unreachable; it
	// does not count as worked time.
	EventLinkDown = "link_down"
	EventLinkUp   = "link_up"
	// chat {"from": "customer"|"technician", "text": ...}.
	EventChat = "chat"
	// file {"direction": "to_customer"|"from_customer", "name", "size",
	// "outcome": "offered"|"accepted"|"declined"|"done"|"cancelled"}.
	EventFile = "file"
	// screen_switch {"index": N, "granted": bool}.
	EventScreenSwitch = "screen_switch"
)

// Errors of code redemption.
var (
	ErrCodeUnknown = errors.New("no session has this code")
	ErrCodeExpired = errors.New("code expired")
	ErrCodeUsed    = errors.New("code already used")
	// ErrSessionOver: the code's session was ended before any agent joined.
	ErrSessionOver = errors.New("session already over")
)

// Limits a technician's new session can run into (LimitError.Limit).
const (
	LimitLiveCodes       = "live_codes"
	LimitSessionsPerHour = "sessions_per_hour"
)

// LimitError refuses a new session: its technician is at a cap until Until.
type LimitError struct {
	Limit string
	Max   int
	Until time.Time
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("at most %d %s; try again at %s", e.Max, e.Limit, e.Until.UTC().Format(time.RFC3339))
}

// RunningError refuses a new code for a ticket whose customer is
// connected in SessionID: the technician opens that session, or ends it.
type RunningError struct{ SessionID int64 }

func (e *RunningError) Error() string {
	return fmt.Sprintf("session %d of this ticket is running", e.SessionID)
}

// Session is a remote session on a ticket.
type Session struct {
	ID            int64
	TicketID      int64
	TechnicianID  int64
	Status        string
	CodeExpiresAt time.Time
	CodeUsedAt    time.Time
	CreatedAt     time.Time
	EndedAt       time.Time
	EndedBy       string
	EndReason     string
	// OutsideHours: started outside support hours, by override.
	OutsideHours   bool
	OverrideReason string

	// Joined from the ticket and the technician, for display.
	TicketRef      string
	TicketTitle    string
	CustomerName   string
	TechnicianName string
	// Lang is the language of the person the session is for: the ticket's
	// contact, else its customer; "" when the ticket names neither.
	Lang string
}

// CodeExpired reports whether the session still waits for an agent whose
// code can no longer be used.
func (s Session) CodeExpired(now time.Time) bool {
	return s.Status == StatusWaiting && !now.Before(s.CodeExpiresAt)
}

// Event is one entry of a session's history.
type Event struct {
	ID     int64
	At     time.Time
	Kind   string
	Actor  string
	Detail json.RawMessage
}

const sessionSelect = `
	SELECT s.id, s.ticket_id, s.technician_id, s.status, s.code_expires_at, s.code_used_at, s.created_at,
	       s.ended_at, COALESCE(s.ended_by, ''), COALESCE(s.end_reason, ''), s.outside_hours, s.override_reason,
	       t.reference, t.title, t.customer_name, u.name, COALESCE(ct.lang, cu.lang, '')
	FROM remote_sessions s
	JOIN tickets t ON t.id = s.ticket_id
	JOIN users u ON u.id = s.technician_id
	LEFT JOIN contacts ct ON ct.id = t.contact_id
	LEFT JOIN customers cu ON cu.id = t.customer_id`

func scanSession(row interface{ Scan(...any) error }) (Session, error) {
	var s Session
	var expires, created int64
	var used, ended sql.NullInt64
	err := row.Scan(&s.ID, &s.TicketID, &s.TechnicianID, &s.Status, &expires, &used, &created,
		&ended, &s.EndedBy, &s.EndReason, &s.OutsideHours, &s.OverrideReason,
		&s.TicketRef, &s.TicketTitle, &s.CustomerName, &s.TechnicianName, &s.Lang)
	if err != nil {
		return Session{}, err
	}
	s.CodeExpiresAt, s.CreatedAt = fromMS(expires), fromMS(created)
	s.CodeUsedAt, s.EndedAt = fromNullMS(used), fromNullMS(ended)
	return s, nil
}

func (s *Store) insertEvent(ctx context.Context, tx *sql.Tx, sessionID, at int64, kind, actor string, detail any) error {
	b := []byte("{}")
	if detail != nil {
		var err error
		if b, err = json.Marshal(detail); err != nil {
			return fmt.Errorf("event detail: %w", err)
		}
	}
	_, err := tx.ExecContext(ctx,
		"INSERT INTO session_events (session_id, at, kind, actor, detail) VALUES (?, ?, ?, ?, ?)",
		sessionID, at, kind, actor, string(b))
	if err != nil {
		return err
	}
	// Every step of a session is security-relevant (codes used, consents,
	// who ended it): each is also an audit entry.
	return s.appendAudit(ctx, tx, actor, "session."+kind, map[string]any{"session": sessionID, "detail": json.RawMessage(b)})
}

// NewSession is what opening a remote session takes.
type NewSession struct {
	TicketID     int64
	TechnicianID int64
	CodeHash     []byte
	CodeExpires  time.Time
	// OutsideHours marks a session started outside support hours; the
	// override's reason is then required and recorded.
	OutsideHours   bool
	OverrideReason string
	// MaxLiveCodes caps the technician's unused, unexpired codes, and
	// MaxPerHour the sessions they create in an hour (0: no cap). Every
	// live code is a target for guessers, so one login must not make
	// thousands (docs/security.md).
	MaxLiveCodes, MaxPerHour int
}

// CreateSession opens a session on a ticket, waiting for an agent with the
// code whose hash is given, and records who created it.
func (s *Store) CreateSession(ctx context.Context, ns NewSession) (Session, error) {
	sess, _, err := s.createSession(ctx, ns, nil)
	return sess, err
}

// CreateSessionReplacing is CreateSession keeping one live code per
// ticket: sessions of the ticket still waiting for an unexpired code are
// ended (by and reason as for End; the actor is the new session's
// technician) and returned, and a session whose customer is connected refuses the new one
// with a *RunningError. The check and the new code are one transaction,
// so two starts at the same instant cannot both leave a code that works.
func (s *Store) CreateSessionReplacing(ctx context.Context, ns NewSession, by, reason string) (Session, []int64, error) {
	return s.createSession(ctx, ns, &ended{by: by, reason: reason})
}

// ended is how CreateSessionReplacing records the sessions it ends.
type ended struct{ by, reason string }

// createSession creates ns's session; with replace set, as
// CreateSessionReplacing.
func (s *Store) createSession(ctx context.Context, ns NewSession, replace *ended) (Session, []int64, error) {
	var (
		id       int64
		replaced []int64
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.nowMS()
		replaced = nil // a retried transaction starts again
		if replace != nil {
			var err error
			if replaced, err = s.endWaitingCodes(ctx, tx, ns, *replace, now); err != nil {
				return err
			}
		}
		// Counted in the write transaction (BEGIN IMMEDIATE), so two
		// requests at once cannot both slip under a cap.
		if err := s.checkSessionCaps(ctx, tx, ns, now); err != nil {
			return err
		}
		newID, err := insertID(ctx, tx, `
			INSERT INTO remote_sessions (ticket_id, technician_id, code_hash, code_expires_at, status, created_at,
				outside_hours, override_reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, ns.TicketID, ns.TechnicianID, ns.CodeHash, ns.CodeExpires.UnixMilli(),
			StatusWaiting, now, ns.OutsideHours, ns.OverrideReason)
		if err != nil {
			if isForeignKey(err) {
				return fmt.Errorf("ticket %d: %w", ns.TicketID, ErrNotFound)
			}
			return err
		}
		id = newID
		var detail any
		if ns.OutsideHours {
			detail = map[string]string{"outsideHours": "override", "reason": ns.OverrideReason}
		}
		return s.insertEvent(ctx, tx, id, now, EventCreated, ActorName("technician", ns.TechnicianID), detail)
	})
	if err != nil {
		return Session{}, nil, fmt.Errorf("store: create session: %w", err)
	}
	sess, err := s.Session(ctx, id)
	return sess, replaced, err
}

// endWaitingCodes ends the sessions of ns's ticket still waiting for an
// unexpired code, or refuses when one has its customer connected.
func (s *Store) endWaitingCodes(ctx context.Context, tx *sql.Tx, ns NewSession, how ended, now int64) ([]int64, error) {
	var running int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM remote_sessions WHERE ticket_id = ? AND status IN (?, ?) ORDER BY id LIMIT 1`,
		ns.TicketID, StatusJoined, StatusLive).Scan(&running)
	switch {
	case err == nil:
		return nil, &RunningError{SessionID: running}
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("running sessions: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM remote_sessions WHERE ticket_id = ? AND status = ?
		AND code_used_at IS NULL AND code_expires_at > ? ORDER BY id`, ns.TicketID, StatusWaiting, now)
	if err != nil {
		return nil, fmt.Errorf("waiting sessions: %w", err)
	}
	var waiting []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("waiting sessions: %w", err)
		}
		waiting = append(waiting, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("waiting sessions: %w", err)
	}
	actor := ActorName("technician", ns.TechnicianID)
	for _, id := range waiting {
		if _, err := tx.ExecContext(ctx, `UPDATE remote_sessions SET status = ?, ended_at = ?, ended_by = ?, end_reason = ? WHERE id = ?`,
			StatusEnded, now, how.by, how.reason, id); err != nil {
			return nil, fmt.Errorf("end session %d: %w", id, err)
		}
		if err := s.insertEvent(ctx, tx, id, now, EventEnded, actor, map[string]string{"by": how.by, "reason": how.reason}); err != nil {
			return nil, err
		}
	}
	return waiting, nil
}

// checkSessionCaps returns a LimitError when ns's technician is at a cap.
func (s *Store) checkSessionCaps(ctx context.Context, tx *sql.Tx, ns NewSession, now int64) error {
	hourAgo := now - time.Hour.Milliseconds()
	var live, lastHour int
	var liveEnds, hourFrees sql.NullInt64
	err := tx.QueryRowContext(ctx, `
		SELECT
			(SELECT count(*) FROM remote_sessions WHERE technician_id = ?1 AND status = 'waiting'
				AND code_used_at IS NULL AND code_expires_at > ?2),
			(SELECT min(code_expires_at) FROM remote_sessions WHERE technician_id = ?1 AND status = 'waiting'
				AND code_used_at IS NULL AND code_expires_at > ?2),
			(SELECT count(*) FROM remote_sessions WHERE technician_id = ?1 AND created_at > ?3),
			(SELECT min(created_at) FROM remote_sessions WHERE technician_id = ?1 AND created_at > ?3)`,
		ns.TechnicianID, now, hourAgo).Scan(&live, &liveEnds, &lastHour, &hourFrees)
	if err != nil {
		return fmt.Errorf("session caps: %w", err)
	}
	switch {
	case ns.MaxLiveCodes > 0 && live >= ns.MaxLiveCodes:
		return &LimitError{Limit: LimitLiveCodes, Max: ns.MaxLiveCodes, Until: fromMS(liveEnds.Int64)}
	case ns.MaxPerHour > 0 && lastHour >= ns.MaxPerHour:
		return &LimitError{Limit: LimitSessionsPerHour, Max: ns.MaxPerHour,
			Until: fromMS(hourFrees.Int64 + time.Hour.Milliseconds())}
	}
	return nil
}

// CodeInUse reports whether a waiting, unexpired session has this code hash;
// new codes are drawn again until it does not.
func (s *Store) CodeInUse(ctx context.Context, codeHash []byte) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx,
		"SELECT count(*) FROM remote_sessions WHERE code_hash = ? AND code_used_at IS NULL AND code_expires_at > ?",
		codeHash, s.nowMS()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: code in use: %w", err)
	}
	return n > 0, nil
}

// ActorName names who caused an event, e.g. "technician:3" or "user:3".
func ActorName(kind string, id int64) string { return fmt.Sprintf("%s:%d", kind, id) }

// RedeemCode attaches an agent to the session with this code hash: the code
// must exist, be unexpired and unused. The code is spent and the join is
// recorded in the same transaction, so two agents racing with one code get
// one session and one ErrCodeUsed.
func (s *Store) RedeemCode(ctx context.Context, codeHash []byte, actor string, detail any) (Session, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var expires int64
		var used sql.NullInt64
		var status string
		err := tx.QueryRowContext(ctx, `
			SELECT id, code_expires_at, code_used_at, status FROM remote_sessions
			WHERE code_hash = ? ORDER BY (code_used_at IS NULL) DESC, id DESC LIMIT 1`, codeHash).Scan(&id, &expires, &used, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrCodeUnknown
		}
		if err != nil {
			return err
		}
		now := s.nowMS()
		switch {
		case used.Valid:
			return ErrCodeUsed
		case status != StatusWaiting:
			return ErrSessionOver
		case now >= expires:
			return ErrCodeExpired
		}
		if _, err := tx.ExecContext(ctx,
			"UPDATE remote_sessions SET code_used_at = ?, status = ? WHERE id = ?", now, StatusJoined, id); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, id, now, EventAgentJoined, actor, detail)
	})
	if err != nil {
		return Session{}, fmt.Errorf("store: redeem code: %w", err)
	}
	return s.Session(ctx, id)
}

// Transition moves a session to status `to` from one of the statuses in
// `from`, recording the event in the same transaction. A session in another
// status is left alone and ErrConflict returned: two sides racing (the
// customer stops while the technician ends) both see a consistent outcome.
func (s *Store) Transition(ctx context.Context, id int64, from []string, to, kind, actor string, detail any) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.nowMS()
		q := "UPDATE remote_sessions SET status = ? WHERE id = ? AND status IN (" + placeholders(len(from)) + ")"
		args := append([]any{to, id}, toAny(from)...)
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict
		}
		return s.insertEvent(ctx, tx, id, now, kind, actor, detail)
	})
	if err != nil {
		return fmt.Errorf("store: session %d %s -> %s: %w", id, strings.Join(from, "|"), to, err)
	}
	return nil
}

// End ends a session that is not over yet, recording who ended it and why.
// It returns false when the session had already ended or been declined.
func (s *Store) End(ctx context.Context, id int64, by, actor, reason string) (bool, error) {
	ended := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.nowMS()
		res, err := tx.ExecContext(ctx, `
			UPDATE remote_sessions SET status = ?, ended_at = ?, ended_by = ?, end_reason = ?
			WHERE id = ? AND status NOT IN (?, ?)`, StatusEnded, now, by, reason, id, StatusEnded, StatusDeclined)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ended = true
		return s.insertEvent(ctx, tx, id, now, EventEnded, actor, map[string]string{"by": by, "reason": reason})
	})
	if err != nil {
		return false, fmt.Errorf("store: end session %d: %w", id, err)
	}
	return ended, nil
}

// AddEvent records an event that changes no status.
func (s *Store) AddEvent(ctx context.Context, id int64, kind, actor string, detail any) error {
	return s.AddEventAt(ctx, id, s.now(), kind, actor, detail)
}

// AddEventAt records an event that happened at `at` (the relay's clock),
// when it is known only later: a link found down went down when the
// relay last heard from the agent. A time in the future is taken as now.
func (s *Store) AddEventAt(ctx context.Context, id int64, at time.Time, kind, actor string, detail any) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.insertEvent(ctx, tx, id, min(at.UnixMilli(), s.nowMS()), kind, actor, detail)
	})
	if err != nil {
		return fmt.Errorf("store: session %d event %s: %w", id, kind, err)
	}
	return nil
}

// Session returns one session.
func (s *Store) Session(ctx context.Context, id int64) (Session, error) {
	return one(s.db.QueryRowContext(ctx, sessionSelect+" WHERE s.id = ?", id), scanSession, fmt.Sprintf("session %d", id))
}

// SessionsForTicket returns a ticket's sessions, newest first.
func (s *Store) SessionsForTicket(ctx context.Context, ticketID int64) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx, sessionSelect+" WHERE s.ticket_id = ? ORDER BY s.id DESC", ticketID)
	if err != nil {
		return nil, fmt.Errorf("store: sessions of ticket %d: %w", ticketID, err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("store: sessions of ticket %d: %w", ticketID, err)
		}
		out = append(out, sess)
	}
	return out, rows.Err()
}

// Events returns a session's history in the order it happened.
func (s *Store) Events(ctx context.Context, sessionID int64) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT id, at, kind, actor, detail FROM session_events WHERE session_id = ? ORDER BY id", sessionID)
	if err != nil {
		return nil, fmt.Errorf("store: events of session %d: %w", sessionID, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var detail string
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.Actor, &detail); err != nil {
			return nil, fmt.Errorf("store: events of session %d: %w", sessionID, err)
		}
		e.At, e.Detail = fromMS(at), json.RawMessage(detail)
		out = append(out, e)
	}
	return out, rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// SessionCounts counts the sessions by status, for the relay's metrics.
func (s *Store) SessionCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT status, count(*) FROM remote_sessions GROUP BY status")
	if err != nil {
		return nil, fmt.Errorf("store: session counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("store: session counts: %w", err)
		}
		out[status] = n
	}
	return out, rows.Err()
}
