package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Acceptance is a customer's recorded acceptance of a data intervention.
type Acceptance struct {
	ID           int64            `json:"id"`
	SessionID    int64            `json:"sessionId"`
	TicketID     int64            `json:"ticketId"`
	TechnicianID int64            `json:"technicianId"`
	AcceptedAt   time.Time        `json:"acceptedAt"`
	Version      string           `json:"version"`
	Lang         string           `json:"lang"`
	Text         string           `json:"text"`
	TextSHA256   string           `json:"textSha256"`
	Answers      []AcceptedAnswer `json:"answers"`
	TypedName    string           `json:"typedName"`
	OSUser       string           `json:"osUser"`
	Work         InterventionWork `json:"work"`
}

// AcceptedAnswer is one statement as shown and the customer's answer.
type AcceptedAnswer struct {
	Statement string `json:"statement"`
	Confirmed bool   `json:"confirmed"`
}

// InterventionWork is what the technician asked to do.
type InterventionWork struct {
	Description     string `json:"description"`
	Category        string `json:"category"`
	EstimateMinutes int    `json:"estimateMinutes"`
}

// TextSHA256 is the hex SHA-256 of a consent text, as stored with it.
func TextSHA256(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// RecordAcceptance stores an acceptance and the consent_granted event it
// justifies in one transaction: there is never an intervention grant
// without its proof, nor a proof without its grant. The session's ticket
// and technician are taken from the session, not from the caller. a.ID,
// AcceptedAt, TextSHA256, TicketID and TechnicianID are filled in.
func (s *Store) RecordAcceptance(ctx context.Context, a *Acceptance, actor string, detail map[string]any) error {
	answers, err := json.Marshal(a.Answers)
	if err != nil {
		return fmt.Errorf("store: acceptance answers: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.nowMS()
		if err := tx.QueryRowContext(ctx, "SELECT ticket_id, technician_id FROM remote_sessions WHERE id = ?", a.SessionID).
			Scan(&a.TicketID, &a.TechnicianID); err != nil {
			return err
		}
		a.AcceptedAt, a.TextSHA256 = fromMS(now), TextSHA256(a.Text)
		newID, err := insertID(ctx, tx, `
			INSERT INTO intervention_acceptances (session_id, ticket_id, technician_id, accepted_at, version, lang,
				text, text_sha256, answers, typed_name, os_user, description, category, estimate_minutes)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.SessionID, a.TicketID, a.TechnicianID, now, a.Version, a.Lang, a.Text, a.TextSHA256, string(answers),
			a.TypedName, a.OSUser, a.Work.Description, a.Work.Category, a.Work.EstimateMinutes)
		if err != nil {
			return err
		}
		a.ID = newID
		detail["acceptanceId"] = a.ID
		return s.insertEvent(ctx, tx, a.SessionID, now, EventConsentGranted, actor, detail)
	})
	if err != nil {
		return fmt.Errorf("store: record acceptance for session %d: %w", a.SessionID, err)
	}
	return nil
}

// Acceptances returns a session's recorded acceptances, oldest first.
func (s *Store) Acceptances(ctx context.Context, sessionID int64) ([]Acceptance, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, session_id, ticket_id, technician_id, accepted_at, version, lang, text, text_sha256, answers,
			typed_name, os_user, description, category, estimate_minutes
		FROM intervention_acceptances WHERE session_id = ? ORDER BY id`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("store: acceptances of session %d: %w", sessionID, err)
	}
	defer rows.Close()
	var out []Acceptance
	for rows.Next() {
		var a Acceptance
		var at int64
		var answers string
		if err := rows.Scan(&a.ID, &a.SessionID, &a.TicketID, &a.TechnicianID, &at, &a.Version, &a.Lang, &a.Text,
			&a.TextSHA256, &answers, &a.TypedName, &a.OSUser, &a.Work.Description, &a.Work.Category,
			&a.Work.EstimateMinutes); err != nil {
			return nil, fmt.Errorf("store: acceptances of session %d: %w", sessionID, err)
		}
		a.AcceptedAt = fromMS(at)
		if err := json.Unmarshal([]byte(answers), &a.Answers); err != nil {
			return nil, fmt.Errorf("store: acceptance %d answers: %w", a.ID, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Consent timers: how often the agent asks the customer whether to keep
// sharing, and how long it waits for the answer.
const (
	settingReconfirmEvery  = "consent.reconfirm_seconds"
	settingReconfirmAnswer = "consent.reconfirm_answer_seconds"

	DefaultReconfirmEvery  = 30 * time.Minute
	DefaultReconfirmAnswer = 60 * time.Second
)

// ConsentTimers are the desk's settings for time-boxed consent.
type ConsentTimers struct {
	Every  time.Duration
	Answer time.Duration
}

// ConsentTimers returns the desk's settings, or the defaults.
func (s *Store) ConsentTimers(ctx context.Context) (ConsentTimers, error) {
	t := ConsentTimers{Every: DefaultReconfirmEvery, Answer: DefaultReconfirmAnswer}
	for key, d := range map[string]*time.Duration{settingReconfirmEvery: &t.Every, settingReconfirmAnswer: &t.Answer} {
		v, ok, err := s.Setting(ctx, key)
		if err != nil {
			return t, err
		}
		if !ok {
			continue
		}
		secs, err := strconv.Atoi(v)
		if err != nil || secs <= 0 {
			return t, fmt.Errorf("store: setting %s = %q is not a positive number of seconds", key, v)
		}
		*d = time.Duration(secs) * time.Second
	}
	return t, nil
}

// SetConsentTimers stores the desk's settings (audited, as every setting).
func (s *Store) SetConsentTimers(ctx context.Context, t ConsentTimers) error {
	if t.Every < time.Second || t.Answer < time.Second {
		return fmt.Errorf("store: consent timers must be at least a second: %v", t)
	}
	if err := s.SetSetting(ctx, settingReconfirmEvery, strconv.Itoa(int(t.Every/time.Second))); err != nil {
		return err
	}
	return s.SetSetting(ctx, settingReconfirmAnswer, strconv.Itoa(int(t.Answer/time.Second)))
}
