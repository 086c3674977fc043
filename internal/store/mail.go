package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Mail kinds.
const (
	MailTicketConfirmation = "ticket_confirmation"
	MailEstimateApproval   = "estimate_approval"
	MailReceipt            = "receipt"
	// MailPortalLink is a sign-in link of the customer portal; its ref
	// names the link, so each link is one mail.
	MailPortalLink = "portal_link"
)

// EventMailSent {"id", "kind", "ref", "to", "messageId", "attempts"}: a
// queued mail was accepted by the SMTP server.
const EventMailSent = "mail.sent"

// Mail is one queued (or sent) mail.
type Mail struct {
	ID            int64     `json:"id"`
	Kind          string    `json:"kind"`
	Ref           string    `json:"ref"`
	To            string    `json:"to"`
	Lang          string    `json:"lang"`
	Subject       string    `json:"subject"`
	Body          string    `json:"-"`
	MessageID     string    `json:"messageId"`
	CreatedAt     time.Time `json:"createdAt"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"nextAttemptAt"`
	LastError     string    `json:"lastError"`
	SentAt        time.Time `json:"sentAt"` // zero while queued
}

// enqueueMail queues m in tx; a mail of the same kind and ref already
// queued or sent makes it a no-op (false).
func (s *Store) enqueueMail(ctx context.Context, tx *sql.Tx, m Mail) (bool, error) {
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	now := s.nowMS()
	res, err := tx.ExecContext(ctx, `INSERT INTO mail_queue (kind, ref, to_addr, lang, subject, body, message_id, created_at,
		next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, ref) DO NOTHING`,
		m.Kind, m.Ref, m.To, m.Lang, m.Subject, m.Body, hex.EncodeToString(id)+"@meekijk", now, now)
	if err != nil {
		return false, fmt.Errorf("enqueue %s mail: %w", m.Kind, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// EnqueueMail queues a mail on its own; see enqueueMail.
func (s *Store) EnqueueMail(ctx context.Context, m Mail) (bool, error) {
	var queued bool
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		queued, err = s.enqueueMail(ctx, tx, m)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	return queued, nil
}

const mailColumns = `id, kind, ref, to_addr, lang, subject, body, message_id, created_at, attempts, next_attempt_at,
	last_error, COALESCE(sent_at, 0)`

func scanMail(row interface{ Scan(...any) error }) (Mail, error) {
	var m Mail
	var created, next, sent int64
	err := row.Scan(&m.ID, &m.Kind, &m.Ref, &m.To, &m.Lang, &m.Subject, &m.Body, &m.MessageID, &created, &m.Attempts, &next,
		&m.LastError, &sent)
	m.CreatedAt, m.NextAttemptAt = fromMS(created), fromMS(next)
	if sent != 0 {
		m.SentAt = fromMS(sent)
	}
	return m, err
}

// DueMail returns the oldest queued mail whose next attempt is due at
// now, or ErrNotFound.
func (s *Store) DueMail(ctx context.Context, now time.Time) (Mail, error) {
	return one(s.db.QueryRowContext(ctx, "SELECT "+mailColumns+` FROM mail_queue
		WHERE sent_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1`, now.UnixMilli()),
		scanMail, "due mail")
}

// NextMailAt is when the next queued mail is due, zero when none waits.
func (s *Store) NextMailAt(ctx context.Context) (time.Time, error) {
	var ms sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MIN(next_attempt_at) FROM mail_queue WHERE sent_at IS NULL").Scan(&ms); err != nil {
		return time.Time{}, fmt.Errorf("store: next mail: %w", err)
	}
	return fromNullMS(ms), nil
}

// MailSent marks a mail sent, recorded in the audit chain.
func (s *Store) MailSent(ctx context.Context, m Mail) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE mail_queue SET sent_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?",
			s.nowMS(), m.ID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, "relay", EventMailSent, map[string]any{"id": m.ID, "kind": m.Kind, "ref": m.Ref,
			"to": m.To, "messageId": m.MessageID, "attempts": m.Attempts + 1})
	})
	if err != nil {
		return fmt.Errorf("store: mail %d sent: %w", m.ID, err)
	}
	return nil
}

// MailFailed records a failed attempt and when to try again.
func (s *Store) MailFailed(ctx context.Context, id int64, cause error, next time.Time) error {
	_, err := s.db.ExecContext(ctx, "UPDATE mail_queue SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
		cause.Error(), next.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("store: mail %d failed: %w", id, err)
	}
	return nil
}

// Mails lists the newest mails, queued and sent, at most limit.
func (s *Store) Mails(ctx context.Context, limit int) ([]Mail, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+mailColumns+" FROM mail_queue ORDER BY id DESC LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("store: mails: %w", err)
	}
	return collect(rows, scanMail)
}

// Estimate is a technician's estimate on a ticket before the appointment.
type Estimate struct {
	ID            int64     `json:"id"`
	TicketID      int64     `json:"ticketId"`
	Minutes       int64     `json:"minutes"`
	Description   string    `json:"description"`
	BilledMinutes int64     `json:"billedMinutes"`
	CentsPerHour  int64     `json:"centsPerHour"`
	AmountCents   int64     `json:"amountCents"`
	VATCents      int64     `json:"vatCents"`
	CreatedBy     int64     `json:"createdBy"`
	CreatedAt     time.Time `json:"createdAt"`
	Approval      *Approved `json:"approval"`
	// Refusal is the customer's refusal, recorded as an approval is; an
	// estimate has at most one answer, Approval or Refusal.
	Refusal *Approved `json:"refusal"`
	// Kind is EstimateKind or OutOfContractKind.
	Kind string `json:"kind"`
	// Reason says why out-of-contract work is not covered.
	Reason string `json:"reason,omitempty"`
}

// Kinds of estimate: a technician's estimate, and work outside the
// contract the desk announces (always to be approved, whatever its length).
const (
	EstimateKind      = "estimate"
	OutOfContractKind = "out_of_contract"
)

// Approved is the customer's answer (an approval, or a refusal): who,
// when, which text.
type Approved struct {
	At         time.Time `json:"at"`
	By         string    `json:"by"`
	Text       string    `json:"text"`
	Lang       string    `json:"lang"`
	Version    string    `json:"version"`
	TextSHA256 string    `json:"textSha256"`
}

// Events of estimates on tickets.
const (
	EventEstimateRequested = "estimate.requested" // the estimate, without its token
	EventEstimateApproved  = "estimate.approved"  // {"estimateId", "ticketId", "by", "text", "lang", "version", "textSha256"}
	EventEstimateRefused   = "estimate.refused"   // the same as EventEstimateApproved
)

// ErrAlreadyAnswered: the estimate was approved or refused before.
var ErrAlreadyAnswered = errors.New("already answered")

// CreateEstimate stores an estimate with the SHA-256 of its approval
// token, audited; when mail is not nil it is queued in the same
// transaction, with ref set to the estimate's id.
func (s *Store) CreateEstimate(ctx context.Context, e Estimate, token string, mail *Mail) (Estimate, error) {
	hash := sha256.Sum256([]byte(token))
	e.CreatedAt = fromMS(s.nowMS())
	if e.Kind == "" {
		e.Kind = EstimateKind
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		newID, err := s.insertID(ctx, tx, `INSERT INTO ticket_estimates (ticket_id, minutes, description, billed_minutes,
			cents_per_hour, amount_cents, vat_cents, token_hash, created_by, created_at, kind, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.TicketID, e.Minutes, e.Description, e.BilledMinutes, e.CentsPerHour, e.AmountCents, e.VATCents, hash[:],
			e.CreatedBy, e.CreatedAt.UnixMilli(), e.Kind, e.Reason)
		if err != nil {
			return err
		}
		e.ID = newID
		if mail != nil {
			m := *mail
			m.Ref = strconv.FormatInt(e.ID, 10)
			if _, err := s.enqueueMail(ctx, tx, m); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, "", EventEstimateRequested, e)
	})
	if err != nil {
		return Estimate{}, fmt.Errorf("store: create estimate on ticket %d: %w", e.TicketID, err)
	}
	return e, nil
}

const estimateColumns = `id, ticket_id, minutes, description, billed_minutes, cents_per_hour, amount_cents, vat_cents,
	created_by, created_at, approved_at, COALESCE(approved_by, ''), COALESCE(approval_text, ''), COALESCE(approval_lang, ''),
	COALESCE(approval_version, ''), approval_sha256, kind, reason, approval_refused`

func scanEstimate(row interface{ Scan(...any) error }) (Estimate, error) {
	var e Estimate
	var created int64
	var approvedAt sql.NullInt64
	var a Approved
	var sum []byte
	var refused bool
	err := row.Scan(&e.ID, &e.TicketID, &e.Minutes, &e.Description, &e.BilledMinutes, &e.CentsPerHour, &e.AmountCents,
		&e.VATCents, &e.CreatedBy, &created, &approvedAt, &a.By, &a.Text, &a.Lang, &a.Version, &sum, &e.Kind, &e.Reason, &refused)
	e.CreatedAt = fromMS(created)
	if approvedAt.Valid {
		a.At, a.TextSHA256 = fromMS(approvedAt.Int64), hex.EncodeToString(sum)
		if refused {
			e.Refusal = &a
		} else {
			e.Approval = &a
		}
	}
	return e, err
}

// EstimateByToken finds the estimate an approval link names.
func (s *Store) EstimateByToken(ctx context.Context, token string) (Estimate, error) {
	hash := sha256.Sum256([]byte(token))
	return one(s.db.QueryRowContext(ctx, "SELECT "+estimateColumns+" FROM ticket_estimates WHERE token_hash = ?", hash[:]),
		scanEstimate, "estimate")
}

// Estimates lists a ticket's estimates, oldest first.
func (s *Store) Estimates(ctx context.Context, ticketID int64) ([]Estimate, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+estimateColumns+" FROM ticket_estimates WHERE ticket_id = ? ORDER BY id", ticketID)
	if err != nil {
		return nil, fmt.Errorf("store: estimates of ticket %d: %w", ticketID, err)
	}
	return collect(rows, scanEstimate)
}

// AnswerEstimate records the customer's answer to the text they read,
// an approval when accept is set, else a refusal, with its version and
// SHA-256, audited in the same transaction. An estimate is answered once.
func (s *Store) AnswerEstimate(ctx context.Context, id int64, by, text, lang, version string, accept bool) (Estimate, error) {
	sum := sha256.Sum256([]byte(text))
	event, refused := EventEstimateApproved, 0
	if !accept {
		event, refused = EventEstimateRefused, 1
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ticket_estimates SET approved_at = ?, approved_by = ?, approval_text = ?,
			approval_lang = ?, approval_version = ?, approval_sha256 = ?, approval_refused = ? WHERE id = ? AND approved_at IS NULL`,
			s.nowMS(), by, text, lang, version, sum[:], refused, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: estimate %d %w", ErrConflict, id, ErrAlreadyAnswered)
		}
		var ticket int64
		if err := tx.QueryRowContext(ctx, "SELECT ticket_id FROM ticket_estimates WHERE id = ?", id).Scan(&ticket); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, by, event, map[string]any{"estimateId": id, "ticketId": ticket, "by": by,
			"text": text, "lang": lang, "version": version, "textSha256": hex.EncodeToString(sum[:])})
	})
	if err != nil {
		return Estimate{}, fmt.Errorf("store: answer estimate %d: %w", id, err)
	}
	return one(s.db.QueryRowContext(ctx, "SELECT "+estimateColumns+" FROM ticket_estimates WHERE id = ?", id), scanEstimate, "estimate")
}

// EndedSessionsWithoutReceipt lists sessions that ended at or after since
// and have no receipt mail yet, for the mail worker's sweep.
func (s *Store) EndedSessionsWithoutReceipt(ctx context.Context, since time.Time, limit int) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM remote_sessions WHERE status = 'ended' AND ended_at >= ?
		AND NOT EXISTS (SELECT 1 FROM mail_queue WHERE kind = 'receipt' AND ref = CAST(remote_sessions.id AS TEXT))
		ORDER BY ended_at LIMIT ?`, since.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: sessions without receipt: %w", err)
	}
	return collect(rows, scanID)
}

// SkipMail records that a mail of kind about ref will not be sent, and
// why (the contact has no address): the sweep that found it moves on, and
// the list of mails shows the reason.
func (s *Store) SkipMail(ctx context.Context, kind, ref, reason string) error {
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	now := s.nowMS()
	_, err := s.db.ExecContext(ctx, `INSERT INTO mail_queue (kind, ref, to_addr, lang, subject, body, message_id, created_at,
		next_attempt_at, last_error, sent_at) VALUES (?, ?, '', '', '', '', ?, ?, ?, ?, ?) ON CONFLICT (kind, ref) DO NOTHING`,
		kind, ref, hex.EncodeToString(id)+"@meekijk", now, now, "not sent: "+reason, now)
	if err != nil {
		return fmt.Errorf("store: skip %s mail %s: %w", kind, ref, err)
	}
	return nil
}
