package pgtest

import (
	"context"
	"database/sql"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// Two tests' databases are separate and each starts empty.
func TestDatabasesAreFreshAndSeparate(t *testing.T) {
	ctx := context.Background()
	var urls []string
	for i := 0; i < 2; i++ {
		urls = append(urls, NewDatabase(t))
	}
	if urls[0] == urls[1] {
		t.Fatalf("same database twice: %s", urls[0])
	}
	for i, u := range urls {
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("database %d has %d tables, want a fresh one", i, n)
		}
		if _, err := db.ExecContext(ctx, "CREATE TABLE only_here (x INTEGER)"); err != nil {
			t.Fatal(err)
		}
	}
}

// The server does not run as root (PostgreSQL refuses to) and listens on
// loopback only.
func TestServerRunsAsNonRootOnLoopback(t *testing.T) {
	u := NewDatabase(t)
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var listen string
	if err := db.QueryRow("SHOW listen_addresses").Scan(&listen); err != nil {
		t.Fatal(err)
	}
	if listen != "127.0.0.1" {
		t.Fatalf("listen_addresses = %q", listen)
	}
	if running.cmd.SysProcAttr.Credential != nil && running.cmd.SysProcAttr.Credential.Uid == 0 {
		t.Fatal("postgres started as root")
	}
	if os.Geteuid() == 0 && running.cred == nil {
		t.Fatal("tests run as root but the server was given no other user")
	}
}
