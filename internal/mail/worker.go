package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/meekijk/meekijk/internal/store"
)

// settingSMTP holds Settings as JSON, the password sealed.
const settingSMTP = "smtp"

// SettingSMTP names the setting in SettingHistory.
const SettingSMTP = settingSMTP

type storedSettings struct {
	Settings
	SealedPassword string `json:"sealedPassword"`
	// Since is when mail was first configured: receipts are mailed for
	// sessions ended from then on, not for the whole history.
	Since time.Time `json:"since"`
}

// LoadSettings reads the SMTP settings with the password opened.
func LoadSettings(ctx context.Context, st *store.Store, key *Key) (Settings, time.Time, error) {
	raw, ok, err := st.Setting(ctx, settingSMTP)
	if err != nil || !ok {
		return Settings{Port: 587, StartTLS: true}, time.Time{}, err
	}
	var s storedSettings
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return Settings{}, time.Time{}, fmt.Errorf("mail: settings: %w", err)
	}
	if s.Password, err = key.Open(s.SealedPassword); err != nil {
		return Settings{}, time.Time{}, err
	}
	s.PasswordSet = s.SealedPassword != ""
	return s.Settings, s.Since, nil
}

// SaveSettings stores s, sealing its password; with keepPassword the
// stored password stays (the console never shows it, so a form saved
// without one keeps it).
func SaveSettings(ctx context.Context, st *store.Store, key *Key, s Settings, keepPassword bool, now time.Time) error {
	old, since, err := LoadSettings(ctx, st, key)
	if err != nil {
		return err
	}
	if keepPassword {
		s.Password = old.Password
	}
	if since.IsZero() {
		since = now
	}
	stored := storedSettings{Settings: s, Since: since}
	if s.Password != "" {
		stored.SealedPassword = key.Seal(s.Password)
	}
	stored.PasswordSet = false // said on reading, not stored
	b, err := json.Marshal(stored)
	if err != nil {
		return err
	}
	return st.SetSetting(ctx, settingSMTP, string(b))
}

// Worker sends the queued mail: one goroutine, started by Run and owned
// by its caller, which retries a failed mail with backoff and never drops
// one.
type Worker struct {
	st     *store.Store
	key    *Key
	log    *slog.Logger
	sender Sender
	now    func() time.Time
	// sweep queues mails found by looking (receipts of ended sessions);
	// nil for none. It gets the settings and when mail was first
	// configured.
	sweep func(ctx context.Context, s Settings, since time.Time) error
	wake  chan struct{}
}

// Backoff bounds: the first retry after MinBackoff, doubling up to
// MaxBackoff, then every MaxBackoff for as long as it takes.
const (
	MinBackoff = 30 * time.Second
	MaxBackoff = time.Hour
	// pollEvery is how often the worker looks without being woken: for
	// receipts of sessions that ended, and a retry coming due.
	pollEvery = 15 * time.Second
)

// NewWorker builds the worker; Run starts it.
func NewWorker(st *store.Store, key *Key, sender Sender, log *slog.Logger, now func() time.Time,
	sweep func(ctx context.Context, s Settings, since time.Time) error) *Worker {
	if now == nil {
		now = time.Now
	}
	return &Worker{st: st, key: key, log: log, sender: sender, now: now, sweep: sweep, wake: make(chan struct{}, 1)}
}

// Wake makes the worker look at the queue now (a mail was queued).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Key is the key sealing the SMTP password.
func (w *Worker) Key() *Key { return w.key }

// Run sends until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-t.C:
		}
		next := w.round(ctx)
		wait := pollEvery
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(w.now()), 0))
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(wait)
	}
}

// round sweeps and sends what is due; it returns when the next queued
// mail is due.
func (w *Worker) round(ctx context.Context) time.Time {
	s, since, err := LoadSettings(ctx, w.st, w.key)
	if err != nil {
		w.log.Error("mail settings", "err", err)
		return time.Time{}
	}
	if !s.Configured() {
		return time.Time{}
	}
	if w.sweep != nil {
		if err := w.sweep(ctx, s, since); err != nil && ctx.Err() == nil {
			w.log.Error("mail sweep", "err", err)
		}
	}
	for ctx.Err() == nil {
		m, err := w.st.DueMail(ctx, w.now())
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			w.log.Error("mail queue", "err", err)
			return time.Time{}
		}
		w.send(ctx, s, m)
	}
	next, err := w.st.NextMailAt(ctx)
	if err != nil {
		w.log.Error("mail queue", "err", err)
	}
	return next
}

func (w *Worker) send(ctx context.Context, s Settings, m store.Mail) {
	log := w.log.With("mail", m.ID, "kind", m.Kind, "to", m.To)
	msg, err := Compose(Message{From: s.From, To: m.To, Subject: m.Subject, Body: m.Body, Lang: m.Lang, ID: m.MessageID, Date: w.now()})
	if err == nil {
		err = w.sender.Send(ctx, s, m.To, msg)
	}
	if err != nil {
		delay := min(MinBackoff<<min(m.Attempts, 10), MaxBackoff)
		log.Warn("mail not sent; will retry", "attempt", m.Attempts+1, "retry_in", delay, "err", err)
		if err := w.st.MailFailed(context.WithoutCancel(ctx), m.ID, err, w.now().Add(delay)); err != nil {
			log.Error("mail queue", "err", err)
		}
		return
	}
	if err := w.st.MailSent(context.WithoutCancel(ctx), m); err != nil {
		log.Error("mail sent but not recorded", "err", err)
		return
	}
	log.Info("mail sent")
}
