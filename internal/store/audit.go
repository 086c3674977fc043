package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/audit"
	"github.com/meekijk/meekijk/internal/privfile"
)

type actorKey struct{}

// Actor is who causes the changes made with a context, and from where.
type Actor struct {
	Name string // "user:3", "agent", "customer", "relay", "system"
	IP   string
}

// WithActor marks ctx with who is acting; audit entries written with it
// name them. Without one, entries say "system".
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

func actorOf(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Name: "system"}
}

// appendAudit adds an entry to the chain inside tx: the change and its
// record commit together or not at all. Write transactions are serialized
// (BEGIN IMMEDIATE), so reading the head here cannot race another writer.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, actor, event string, payload any) error {
	if payload == nil {
		payload = map[string]any{}
	}
	canon, err := audit.Canonical(payload)
	if err != nil {
		return err
	}
	var seq int64
	prev := audit.Genesis
	err = tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit head: %w", err)
	}
	if actor == "" {
		actor = actorOf(ctx).Name
	}
	e := audit.Entry{Seq: seq + 1, At: s.nowMS(), Actor: actor, IP: actorOf(ctx).IP, Event: event, Payload: canon}
	if e.Hash, err = audit.ChainHash(prev, e); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO audit_log (seq, at, actor, ip, event, payload, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
		e.Seq, e.At, e.Actor, e.IP, e.Event, string(e.Payload), e.Hash)
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	return nil
}

// audited runs fn and records event in the same transaction.
func (s *Store) audited(ctx context.Context, event string, payload any, fn func(*sql.Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, "", event, payload)
	})
}

// RecordAudit records an event that changes nothing else, such as a failed
// login.
func (s *Store) RecordAudit(ctx context.Context, event string, payload any) error {
	if err := s.audited(ctx, event, payload, func(*sql.Tx) error { return nil }); err != nil {
		return fmt.Errorf("store: audit %s: %w", event, err)
	}
	return nil
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	AfterSeq int64
	Events   []string // nil: all
	Limit    int
}

func scanAudit(r interface{ Scan(...any) error }) (audit.Entry, error) {
	var e audit.Entry
	var payload string
	err := r.Scan(&e.Seq, &e.At, &e.Actor, &e.IP, &e.Event, &payload, &e.Hash)
	e.Payload = json.RawMessage(payload)
	return e, err
}

// AuditEntries returns entries in sequence order.
func (s *Store) AuditEntries(ctx context.Context, f AuditFilter) ([]audit.Entry, error) {
	q := "SELECT seq, at, actor, ip, event, payload, hash FROM audit_log WHERE seq > ?"
	args := []any{f.AfterSeq}
	if len(f.Events) > 0 {
		q += " AND event IN (" + placeholders(len(f.Events)) + ")"
		args = append(args, toAny(f.Events)...)
	}
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY seq LIMIT ?", append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: audit entries: %w", err)
	}
	return collect(rows, scanAudit)
}

// AuditHead is the chain's last entry: its sequence number and hash.
type AuditHead struct {
	Seq  int64
	Hash []byte
	At   time.Time
}

// VerifyAudit walks the whole chain in one read transaction, so a
// consistent snapshot is checked while writers go on. It returns the head,
// or an error wrapping audit.ErrBroken that names the first bad entry.
func (s *Store) VerifyAudit(ctx context.Context) (AuditHead, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return AuditHead{}, fmt.Errorf("store: verify audit: %w", err)
	}
	defer tx.Rollback()
	return verifyChain(ctx, tx)
}

// verifyChain checks the chain as tx sees it.
func verifyChain(ctx context.Context, tx *sql.Tx) (AuditHead, error) {
	rows, err := tx.QueryContext(ctx, "SELECT seq, at, actor, ip, event, payload, hash FROM audit_log ORDER BY seq")
	if err != nil {
		return AuditHead{}, fmt.Errorf("store: verify audit: %w", err)
	}
	defer rows.Close()
	v := audit.NewVerifier()
	var last int64
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return AuditHead{}, fmt.Errorf("store: verify audit: %w", err)
		}
		if err := v.Add(e); err != nil {
			return AuditHead{}, err
		}
		last = e.At
	}
	if err := rows.Err(); err != nil {
		return AuditHead{}, fmt.Errorf("store: verify audit: %w", err)
	}
	seq, hash := v.Head()
	return AuditHead{Seq: seq, Hash: hash, At: fromMS(last)}, nil
}

// IntegrityCheck runs SQLite's own consistency check of the file. On
// PostgreSQL, whose server keeps its files consistent itself (and has no
// such check without an extension), it only checks that the database
// answers.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	if s.dialect == Postgres {
		return s.Ping(ctx)
	}
	var result string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	if result != "ok" {
		return fmt.Errorf("store: integrity check: %s", result)
	}
	return nil
}

// Backup writes a consistent copy of the database to path (which must
// not exist) while others keep writing, checks it, and returns the audit
// chain's head in the copy. On SQLite the copy is a database file (VACUUM
// INTO reads one snapshot), opened again for SQLite's integrity check and
// the chain. On PostgreSQL it is pg_dump's custom archive (restore it with
// pg_restore) of a snapshot in which the chain is verified: see
// dumpPostgres.
func (s *Store) Backup(ctx context.Context, path string) (AuditHead, error) {
	// VACUUM INTO fills an empty file and keeps its mode, and pg_dump
	// truncates it: made private first, the copy is never readable by
	// others, whatever the umask.
	if err := privfile.Create(path); err != nil {
		return AuditHead{}, fmt.Errorf("store: backup: %w", err)
	}
	if s.dialect == Postgres {
		return s.dumpPostgres(ctx, path)
	}
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return AuditHead{}, fmt.Errorf("store: backup to %s: %w", path, err)
	}
	c, err := Open(ctx, path)
	if err != nil {
		return AuditHead{}, fmt.Errorf("store: backup: open copy: %w", err)
	}
	defer c.Close()
	if err := c.IntegrityCheck(ctx); err != nil {
		return AuditHead{}, fmt.Errorf("store: backup copy: %w", err)
	}
	head, err := c.VerifyAudit(ctx)
	if err != nil {
		return AuditHead{}, fmt.Errorf("store: backup copy: %w", err)
	}
	return head, nil
}

// dumpPostgres runs pg_dump on a snapshot this transaction exported and
// verifies the audit chain in the same snapshot: the archive holds exactly
// the chain that was checked. pg_restore --list then reads the archive's
// whole table of contents, so a truncated file fails here, not at restore.
func (s *Store) dumpPostgres(ctx context.Context, path string) (AuditHead, error) {
	fail := func(err error) (AuditHead, error) {
		return AuditHead{}, fmt.Errorf("store: backup to %s: %w", path, err)
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var snapshot string
	if err := tx.QueryRowContext(ctx, "SELECT pg_export_snapshot()").Scan(&snapshot); err != nil {
		return fail(err)
	}
	dsn, password, err := splitPassword(s.dsn)
	if err != nil {
		return fail(err)
	}
	if err := runPGProgram(ctx, password, "pg_dump", "--format=custom", "--snapshot="+snapshot, "--file="+path, "--dbname="+dsn); err != nil {
		return fail(err)
	}
	head, err := verifyChain(ctx, tx)
	if err != nil {
		return fail(err)
	}
	if err := runPGProgram(ctx, "", "pg_restore", "--list", path); err != nil {
		return fail(fmt.Errorf("the archive does not read back: %w", err))
	}
	return head, nil
}

// SessionAudit returns the audit entries of one session, in chain order.
func (s *Store) SessionAudit(ctx context.Context, sessionID int64) ([]audit.Entry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, at, actor, ip, event, payload, hash FROM audit_log
		WHERE event LIKE 'session.%' AND `+s.jsonIntIs("payload", "session")+` ORDER BY seq`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("store: session %d audit: %w", sessionID, err)
	}
	return collect(rows, scanAudit)
}

// AuditHashBefore returns the hash of the entry before seq (the genesis for
// the first), which a verifier needs to check one entry on its own.
func (s *Store) AuditHashBefore(ctx context.Context, seq int64) ([]byte, error) {
	if seq <= 1 {
		return audit.Genesis, nil
	}
	var h []byte
	if err := s.db.QueryRowContext(ctx, "SELECT hash FROM audit_log WHERE seq = ?", seq-1).Scan(&h); err != nil {
		return nil, fmt.Errorf("store: audit hash before %d: %w", seq, err)
	}
	return h, nil
}

// SessionFilter selects sessions for review; zero fields select all.
type SessionFilter struct {
	From, To     time.Time
	CustomerID   int64
	TechnicianID int64
	TicketRef    string
	Outcome      string // a session status: ended, declined, waiting, joined, live
	Limit        int
}

// ReviewSessions lists sessions for the admins' review, newest first.
func (s *Store) ReviewSessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if !f.From.IsZero() {
		add("s.created_at >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		add("s.created_at < ?", f.To.UnixMilli())
	}
	if f.CustomerID != 0 {
		add("t.customer_id = ?", f.CustomerID)
	}
	if f.TechnicianID != 0 {
		add("s.technician_id = ?", f.TechnicianID)
	}
	if f.TicketRef != "" {
		add("t.reference = ?", f.TicketRef)
	}
	if f.Outcome != "" {
		add("s.status = ?", f.Outcome)
	}
	q := sessionSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 500
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY s.id DESC LIMIT ?", append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: review sessions: %w", err)
	}
	return collect(rows, scanSession)
}
