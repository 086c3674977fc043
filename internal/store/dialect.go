package store

// The store runs on SQLite (embedded, the default) or PostgreSQL (several
// relays sharing one database). The code is one: database/sql with the
// SQLite driver, or with pgx's database/sql driver behind a thin wrapper
// (pgConn) that rewrites each query's `?` placeholders to `$n` and LIKE to
// ILIKE (SQLite's LIKE ignores ASCII case; PostgreSQL's does not).
//
// Migrations are one set, written in the portable subset below, and
// translated for PostgreSQL when loaded (translatePG). Rules for a new
// migration (internal/store/migrations/NNNN_name.sql):
//
//   - Types: INTEGER (64-bit on both: BIGINT on PostgreSQL), TEXT, BLOB
//     (BYTEA). No booleans: INTEGER with CHECK (x IN (0, 1)). Times are
//     Unix milliseconds in INTEGER columns, computed in Go and passed as ?.
//   - A generated key is spelled `id INTEGER PRIMARY KEY` (an identity
//     column on PostgreSQL). Any other INTEGER PRIMARY KEY is not
//     generated there: insert it explicitly (audit_log.seq, invoices.seq).
//   - Tables may end in STRICT (dropped on PostgreSQL). COLLATE NOCASE is a
//     case-insensitive ICU collation of that name on PostgreSQL.
//   - Triggers only of the form
//     CREATE TRIGGER t BEFORE UPDATE [OF cols] | DELETE ON tbl
//     BEGIN SELECT RAISE(ABORT, 'message'); END;
//     (turned into a PL/pgSQL function raising the message).
//   - GLOB only with [...] classes and literal characters (SIMILAR TO).
//   - No PRAGMA, no SQLite-only functions (strftime, datetime, julianday,
//     randomblob, hex, ifnull, iif, group_concat, json_extract, two-argument
//     min/max), no INSERT OR ..., REPLACE INTO, AUTOINCREMENT, WITHOUT ROWID.
//     Where SQLite needs such a thing (a table rebuild to change a CHECK),
//     add NNNN_name.postgres.sql beside it: PostgreSQL then runs that file
//     (also translated) instead.
//
// Transactions: SQLite takes its write lock at BEGIN (_txlock=immediate),
// and the code relies on it (read the audit chain's head or a counter, then
// write). On PostgreSQL every write transaction starts with
// pg_advisory_xact_lock(writeLockKey), so writers queue in the same way
// across every relay sharing the database; reads do not take it.

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Dialect names the database engine a Store runs on.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// writeLockKey is the advisory lock every PostgreSQL write transaction
// takes first ("meekijk" in ASCII, to stay clear of other applications'
// keys in a shared cluster).
const writeLockKey int64 = 0x6d65656b696a6b

// IsPostgresURL says whether a -db value names a PostgreSQL database
// rather than an SQLite file.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// mapCode applies f to the parts of sql outside string literals, quoted
// identifiers and comments, and returns the result.
func mapCode(sql string, f func(code string) string) string {
	var b strings.Builder
	start := 0
	flush := func(end int) {
		b.WriteString(f(sql[start:end]))
		start = end
	}
	for i := 0; i < len(sql); {
		var end int
		switch {
		case sql[i] == '\'' || sql[i] == '"':
			q := sql[i]
			end = i + 1
			for end < len(sql) {
				if sql[end] == q {
					if end+1 < len(sql) && sql[end+1] == q { // '' or "" inside
						end += 2
						continue
					}
					break
				}
				end++
			}
			end = min(end+1, len(sql))
		case strings.HasPrefix(sql[i:], "--"):
			end = strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				end = len(sql)
			} else {
				end += i
			}
		case strings.HasPrefix(sql[i:], "/*"):
			end = strings.Index(sql[i+2:], "*/")
			if end < 0 {
				end = len(sql)
			} else {
				end += i + 4
			}
		default:
			i++
			continue
		}
		flush(i)
		b.WriteString(sql[i:end])
		start, i = end, end
	}
	flush(len(sql))
	return b.String()
}

var likeWord = regexp.MustCompile(`(?i)\bLIKE\b`)

// rewritePG turns a query written for SQLite's driver into PostgreSQL's:
// ? placeholders become $1, $2, ... (?N becomes $N) and LIKE becomes ILIKE.
func rewritePG(query string) string {
	n := 0
	return mapCode(query, func(code string) string {
		if strings.IndexByte(code, '?') >= 0 {
			var b strings.Builder
			for i := 0; i < len(code); i++ {
				if code[i] != '?' {
					b.WriteByte(code[i])
					continue
				}
				// ?NNN (SQLite's numbered parameter) keeps its number;
				// a bare ? takes the next one.
				j := i + 1
				for j < len(code) && code[j] >= '0' && code[j] <= '9' {
					j++
				}
				if j > i+1 {
					b.WriteString("$" + code[i+1:j])
					i = j - 1
					continue
				}
				n++
				b.WriteString("$" + strconv.Itoa(n))
			}
			code = b.String()
		}
		return likeWord.ReplaceAllString(code, "ILIKE")
	})
}

// openPG returns the connector of a PostgreSQL database for sql.OpenDB.
func openPG(dsn string) (driver.Connector, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return pgConnector{stdlib.GetConnector(*cfg)}, nil
}

type pgConnector struct{ inner driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{conn.(pgxConn)}, nil
}

func (c pgConnector) Driver() driver.Driver { return c.inner.Driver() }

// pgxConn is what pgx's stdlib connection implements and pgConn passes on.
type pgxConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.NamedValueChecker
}

// pgConn is pgx's connection with the store's SQL rewritten on the way in.
type pgConn struct{ pgxConn }

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.pgxConn.Prepare(rewritePG(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.pgxConn.PrepareContext(ctx, rewritePG(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.pgxConn.ExecContext(ctx, rewritePG(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.pgxConn.QueryContext(ctx, rewritePG(query), args)
}

// CheckNamedValue stores Go booleans as 0/1: the schema has no boolean
// columns (see the rules above), and SQLite's driver does the same.
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = int64(0)
		if b {
			nv.Value = int64(1)
		}
	}
	return c.pgxConn.CheckNamedValue(nv)
}

// PostgreSQL translation of the migrations.

var (
	strictEnd    = regexp.MustCompile(`\)\s*STRICT\s*;`)
	idKey        = regexp.MustCompile(`(?i)\bid(\s+)INTEGER(\s+)PRIMARY KEY\b`)
	integerWord  = regexp.MustCompile(`(?i)\bINTEGER\b`)
	blobWord     = regexp.MustCompile(`(?i)\bBLOB\b`)
	globWord     = regexp.MustCompile(`(?i)\bGLOB\b`)
	randomSecret = regexp.MustCompile(`(?i)lower\s*\(\s*hex\s*\(\s*randomblob\s*\(\s*16\s*\)\s*\)\s*\)`)
	// CREATE TRIGGER name BEFORE UPDATE [OF cols] | DELETE ON table BEGIN SELECT RAISE(ABORT, 'msg'); END;
	raiseTrigger = regexp.MustCompile(`(?is)CREATE\s+TRIGGER\s+(\w+)\s+BEFORE\s+(UPDATE(?:\s+OF\s+[\w\s,]+?)?|DELETE)\s+ON\s+(\w+)\s+BEGIN\s+SELECT\s+RAISE\s*\(\s*ABORT\s*,\s*'((?:[^']|'')*)'\s*\)\s*;\s*END\s*;`)
	globPattern  = regexp.MustCompile(`(?i)\bGLOB\s+'([^']*)'`)
)

// notPortable lists constructs PostgreSQL lacks, each with what to write
// instead; checked in the code of a migration after translation.
var notPortable = []struct {
	re  *regexp.Regexp
	fix string
}{
	{regexp.MustCompile(`(?i)\bPRAGMA\b`), "PRAGMA is SQLite's own: add a .postgres.sql variant doing the same on PostgreSQL"},
	{regexp.MustCompile(`(?i)\bCREATE\s+TRIGGER\b`), "only triggers of the form CREATE TRIGGER t BEFORE UPDATE [OF cols]|DELETE ON tbl BEGIN SELECT RAISE(ABORT, 'message'); END; are translated"},
	{regexp.MustCompile(`(?i)\b(strftime|datetime|julianday|unixepoch)\s*\(`), "date functions differ: store Unix milliseconds computed in Go, passed as ?"},
	{regexp.MustCompile(`(?i)\bdate\s*\(`), "date functions differ: store Unix milliseconds computed in Go, passed as ?"},
	{regexp.MustCompile(`(?i)\b(randomblob|hex|zeroblob)\s*\(`), "SQLite-only function: compute the value in Go"},
	{regexp.MustCompile(`(?i)\b(ifnull|iif|group_concat|instr|printf|total)\s*\(`), "SQLite-only function: use COALESCE, CASE WHEN, string_agg... or compute it in Go"},
	{regexp.MustCompile(`(?i)\bjson_\w+\s*\(`), "JSON functions differ: keep the value in a column of its own"},
	{regexp.MustCompile(`(?i)\b(min|max)\s*\(\s*[^(),]+,`), "two-argument min/max is SQLite's: use CASE WHEN (or LEAST/GREATEST in a .postgres.sql variant)"},
	{regexp.MustCompile(`(?i)\bINSERT\s+OR\b|\bREPLACE\s+INTO\b`), "use INSERT ... ON CONFLICT (cols) DO NOTHING / DO UPDATE"},
	{regexp.MustCompile(`(?i)\bAUTOINCREMENT\b`), "write id INTEGER PRIMARY KEY (never reused while rows are never deleted)"},
	{regexp.MustCompile(`(?i)\bWITHOUT\s+ROWID\b`), "drop WITHOUT ROWID"},
	{regexp.MustCompile(`(?i)\bCOLLATE\s+(BINARY|RTRIM)\b`), "only COLLATE NOCASE is translated"},
}

// translatePG rewrites a migration in the portable subset for PostgreSQL,
// or says what in it is not portable (name is the file, for the message).
func translatePG(name, body string) (string, error) {
	var problems []string
	for _, m := range globPattern.FindAllStringSubmatch(body, -1) {
		if strings.ContainsAny(m[1], "*?%_") {
			problems = append(problems, fmt.Sprintf("GLOB '%s': only [...] classes and literal characters are translated (to SIMILAR TO)", m[1]))
		}
	}
	// Triggers of the one translated form are set aside as comments (which
	// the rewriting below skips) and put back as PL/pgSQL at the end.
	var triggers []string
	body = raiseTrigger.ReplaceAllStringFunc(body, func(t string) string {
		m := raiseTrigger.FindStringSubmatch(t)
		name, when, table, msg := m[1], strings.Join(strings.Fields(m[2]), " "), m[3], m[4]
		triggers = append(triggers, fmt.Sprintf("CREATE FUNCTION %[1]s_fn() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN RAISE EXCEPTION '%%', '%[4]s'; END $fn$;\n"+
			"CREATE TRIGGER %[1]s BEFORE %[2]s ON %[3]s FOR EACH ROW EXECUTE FUNCTION %[1]s_fn();", name, when, table, msg))
		return fmt.Sprintf("/*trigger %d*/", len(triggers)-1)
	})
	body = randomSecret.ReplaceAllString(body, "replace(gen_random_uuid()::text, '-', '')")
	body = mapCode(body, func(code string) string {
		code = strictEnd.ReplaceAllString(code, ");")
		code = idKey.ReplaceAllString(code, "id${1}BIGINT${2}GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
		code = integerWord.ReplaceAllString(code, "BIGINT")
		code = blobWord.ReplaceAllString(code, "BYTEA")
		code = globWord.ReplaceAllString(code, "SIMILAR TO")
		for _, np := range notPortable {
			if loc := np.re.FindString(code); loc != "" {
				problems = append(problems, fmt.Sprintf("%q: %s", strings.TrimSpace(loc), np.fix))
			}
		}
		return code
	})
	for i, t := range triggers {
		body = strings.Replace(body, fmt.Sprintf("/*trigger %d*/", i), t, 1)
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("migration %s is not portable to PostgreSQL (rules at the top of internal/store/dialect.go; "+
			"or add %s with the PostgreSQL version):\n  - %s",
			name, strings.TrimSuffix(name, ".sql")+".postgres.sql", strings.Join(problems, "\n  - "))
	}
	return body, nil
}

// isUnique says whether err is a unique constraint's refusal, on either
// engine (SQLite says so in its message, PostgreSQL with SQLSTATE 23505).
func isUnique(err error) bool { return violates(err, "UNIQUE", "23505") }

// isForeignKey says whether err is a foreign key's refusal (23503).
func isForeignKey(err error) bool { return violates(err, "FOREIGN KEY", "23503") }

func violates(err error, sqliteWord, pgCode string) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgCode
	}
	return strings.Contains(err.Error(), sqliteWord)
}

// insertID runs an INSERT and returns the new row's id. It asks with
// RETURNING id: pgx's driver has no LastInsertId, and SQLite has RETURNING.
func insertID(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, query string, args ...any) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, err
}

// jsonText is SQL for the text of key in the JSON object in column col
// (key and col are the code's own constants, never input).
func (s *Store) jsonText(col, key string) string {
	if s.dialect == Postgres {
		return fmt.Sprintf("(%s::jsonb ->> '%s')", col, key)
	}
	return fmt.Sprintf("json_extract(%s, '$.%s')", col, key)
}

// jsonIntIs is SQL saying that key in column col's JSON object is the
// integer given as the next parameter. PostgreSQL compares JSON values,
// so a row whose key is not a number is unequal rather than an error.
func (s *Store) jsonIntIs(col, key string) string {
	if s.dialect == Postgres {
		return fmt.Sprintf("(%s::jsonb -> '%s') = to_jsonb(CAST(? AS BIGINT))", col, key)
	}
	return fmt.Sprintf("json_extract(%s, '$.%s') = ?", col, key)
}

// greatest is SQL for the larger of two values (SQLite's max takes two
// arguments as a scalar function; PostgreSQL's is GREATEST).
func (s *Store) greatest(a, b string) string {
	if s.dialect == Postgres {
		return "GREATEST(" + a + ", " + b + ")"
	}
	return "max(" + a + ", " + b + ")"
}

// splitPassword takes the password out of a postgres:// URL: PostgreSQL's
// programs get it in PGPASSWORD, not on a command line others can read.
func splitPassword(dsn string) (string, string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", "", fmt.Errorf("database URL: %w", err)
	}
	password, _ := u.User.Password()
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String(), password, nil
}

// runPGProgram runs one of PostgreSQL's client programs (pg_dump,
// pg_restore): from PATH (Debian's wrapper picks the newest installed
// version), else the newest /usr/lib/postgresql/*/bin.
func runPGProgram(ctx context.Context, password, name string, args ...string) error {
	prog, err := exec.LookPath(name)
	if err != nil {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
		if len(dirs) == 0 {
			return fmt.Errorf("%s not found in PATH or /usr/lib/postgresql: install PostgreSQL's client programs (Debian: postgresql-client)", name)
		}
		slices.SortFunc(dirs, func(a, b string) int { return cmp.Compare(pgMajor(b), pgMajor(a)) })
		prog = dirs[0]
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// pgMajor is the major version in /usr/lib/postgresql/NN/bin/prog.
func pgMajor(p string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return n
}
