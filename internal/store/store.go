// Package store keeps Meekijk's state in an embedded SQLite database
// (modernc.org/sqlite, pure Go), or in PostgreSQL when given a
// postgres:// URL (several relays sharing one database; dialect.go says
// how the one code serves both). The schema lives in numbered migrations
// embedded in the binary; each runs in one transaction and is recorded in
// PRAGMA user_version (SQLite) or the schema_version table (PostgreSQL).
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/meekijk/meekijk/internal/privfile"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Sentinel errors callers map to user-facing answers.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Store is the database. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	dsn     string // the file, or the postgres:// URL (with its password: never shown)
	now     func() time.Time
	// written gets a token after each committed write transaction (it
	// holds at most one), so the audit checkpointer can count new entries
	// without polling.
	written chan struct{}
}

// Open opens (creating if needed) the database and brings its schema up
// to date: the SQLite file at path, or the PostgreSQL database a
// postgres:// URL names.
func Open(ctx context.Context, file string) (*Store, error) {
	return OpenWithClock(ctx, file, time.Now)
}

// OpenExisting is Open for maintenance commands (audit verify, backup,
// user): it refuses a database that does not exist yet (no file, or no
// schema in the PostgreSQL database), so a mistyped name fails rather than
// checking a new, empty database.
func OpenExisting(ctx context.Context, file string) (*Store, error) {
	if IsPostgresURL(file) {
		return openPostgres(ctx, file, time.Now, true)
	}
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("store: no database: %w", err)
	}
	return Open(ctx, file)
}

// OpenWithClock is Open with the clock used for timestamps, for tests.
func OpenWithClock(ctx context.Context, file string, now func() time.Time) (*Store, error) {
	if IsPostgresURL(file) {
		return openPostgres(ctx, file, now, false)
	}
	// Pragmas go in the DSN so that every pooled connection gets them, not
	// only the first. synchronous=FULL syncs the WAL at every commit: an
	// acknowledged audit or billing write survives a crash or kill -9, and
	// the desk's write rate is far below what that costs. _txlock=immediate takes the write lock at BEGIN, so two
	// writers queue on busy_timeout instead of failing with SQLITE_BUSY when
	// one upgrades a read transaction.
	q := url.Values{}
	for _, p := range []string{"foreign_keys(1)", "journal_mode(WAL)", "busy_timeout(10000)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	// The database holds customers' names and the audit trail: it is made
	// 0600 before SQLite opens it (SQLite gives the WAL and SHM files the
	// database's mode), and files of an older relay are tightened.
	if err := privfile.Create(file); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("store: open %s: %w", file, err)
	}
	dsn := "file:" + file + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", file, err)
	}
	s := &Store{db: db, dialect: SQLite, dsn: file, now: now, written: make(chan struct{}, 1)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", file, err)
	}
	if err := privfile.Tighten(file, file+"-wal", file+"-shm"); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", file, err)
	}
	return s, nil
}

func openPostgres(ctx context.Context, dsn string, now func() time.Time, mustExist bool) (*Store, error) {
	where := redactURL(dsn)
	conn, err := openPG(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", where, err)
	}
	s := &Store{db: sql.OpenDB(conn), dialect: Postgres, dsn: dsn, now: now, written: make(chan struct{}, 1)}
	if mustExist {
		var found bool
		err := s.db.QueryRowContext(ctx, "SELECT to_regclass('schema_version') IS NOT NULL").Scan(&found)
		if err == nil && !found {
			err = errors.New("it has no Meekijk schema")
		}
		if err != nil {
			s.db.Close()
			return nil, fmt.Errorf("store: no database at %s: %w", where, err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", where, err)
	}
	return s, nil
}

// redactURL is dsn without its password, for messages and logs.
func redactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the PostgreSQL database (unparsable URL)"
	}
	return u.Redacted()
}

// Dialect is the engine the store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

// String says which store this is, for the relay's start-up lines and
// logs: "SQLite data/meekijk.db" or "PostgreSQL postgres://user:xxxxx@host/db".
func (s *Store) String() string {
	if s.dialect == Postgres {
		return "PostgreSQL " + redactURL(s.dsn)
	}
	return "SQLite " + s.dsn
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers a query, for the relay's
// readiness check.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// DB exposes the handle for read-only inspection in tests of other packages.
func (s *Store) DB() *sql.DB { return s.db }

// migration is one numbered schema step: the portable file, and for
// PostgreSQL its .postgres.sql variant when one exists.
type migration struct {
	n        int
	name     string
	portable string
	pg       string // file name of the variant; "" for none
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	byNum := map[int]*migration{}
	for _, name := range names {
		base := path.Base(name)
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its number", name)
		}
		m := byNum[n]
		if m == nil {
			m = &migration{n: n}
			byNum[n] = m
		}
		if strings.HasSuffix(base, ".postgres.sql") {
			m.pg = base
			continue
		}
		if m.portable != "" {
			return nil, fmt.Errorf("migrations %s and %s share the number %d", m.portable, base, n)
		}
		m.portable = base
	}
	var list []migration
	for _, m := range byNum {
		if m.portable == "" {
			return nil, fmt.Errorf("migration %s has no portable %04d_*.sql beside it", m.pg, m.n)
		}
		list = append(list, *m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].n < list[j].n })
	return list, nil
}

// body is the SQL of m for the dialect.
func (m migration) body(d Dialect) (string, error) {
	name := m.portable
	if d == Postgres && m.pg != "" {
		name = m.pg
	}
	b, err := migrations.ReadFile("migrations/" + name)
	if err != nil {
		return "", err
	}
	if d == Postgres {
		return translatePG(name, string(b))
	}
	return string(b), nil
}

// pgPrelude makes what the translated migrations rely on: the version
// table, and the case-insensitive collation COLLATE NOCASE becomes (ICU,
// which Debian's PostgreSQL is built with; it ignores case like SQLite's
// NOCASE, and also beyond ASCII).
const pgPrelude = `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);
INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);`

func (s *Store) migrate(ctx context.Context) error {
	list, err := loadMigrations()
	if err != nil {
		return err
	}
	versionQ, setVersion := "PRAGMA user_version", "PRAGMA user_version = %d"
	if s.dialect == Postgres {
		versionQ, setVersion = "SELECT version FROM schema_version", "UPDATE schema_version SET version = %d"
		if err := s.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, pgPrelude)
			return err
		}); err != nil {
			return fmt.Errorf("prepare schema_version: %w", err)
		}
	}
	for _, m := range list {
		// The version is read inside each step's write transaction: relays
		// starting together on one PostgreSQL database queue on its lock,
		// and the later ones find the step done.
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var current int
			if err := tx.QueryRowContext(ctx, versionQ).Scan(&current); err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
			if m.n <= current {
				return nil
			}
			body, err := m.body(s.dialect)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, body); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, fmt.Sprintf(setVersion, m.n))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.portable, err)
		}
	}
	return nil
}

// inTx runs fn in a transaction, committing if it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if s.dialect == Postgres {
		// SQLite's _txlock=immediate, across relays: see dialect.go.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", writeLockKey); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("write lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	select {
	case s.written <- struct{}{}:
	default: // a wake-up is already pending
	}
	return nil
}

// Written signals after committed writes (coalesced): the audit chain may
// have grown.
func (s *Store) Written() <-chan struct{} { return s.written }

func (s *Store) nowMS() int64 { return s.now().UnixMilli() }

// one scans the single row of a lookup, naming what was looked up in its
// errors and mapping a missing row to ErrNotFound.
func one[T any](row *sql.Row, scan func(interface{ Scan(...any) error }) (T, error), what string) (T, error) {
	v, err := scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("store: %s: %w", what, err)
	}
	return v, nil
}

func fromMS(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func fromNullMS(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return fromMS(ms.Int64)
}

// Setting returns a setting's value, or "" with ok false when unset.
func (s *Store) Setting(ctx context.Context, key string) (value string, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: setting %s: %w", key, err)
	}
	return value, true, nil
}

// SetSetting stores a setting's value.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	err := s.audited(ctx, "setting.changed", map[string]any{"key": key, "value": value}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set setting %s: %w", key, err)
	}
	return nil
}
