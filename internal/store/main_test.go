package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/meekijk/meekijk/internal/pgtest"
)

// backend is the engine this run of the package's tests uses: TestMain
// runs every test twice, on SQLite and then on PostgreSQL (a fresh
// database per test, on one cluster started by internal/pgtest), so each
// test, including those added later, covers both.
var backend = SQLite

func TestMain(m *testing.M) {
	code := m.Run()
	backend = Postgres
	fmt.Println("store: the same tests on PostgreSQL")
	if pgCode := pgtest.Run(m); pgCode != 0 {
		code = pgCode
	}
	os.Exit(code)
}

// testDSN is a new, empty database of this run's backend: an SQLite file
// in the test's temporary directory or a PostgreSQL URL.
func testDSN(t *testing.T) string {
	t.Helper()
	if backend == Postgres {
		return pgtest.NewDatabase(t)
	}
	return filepath.Join(t.TempDir(), "meekijk.db")
}

// migratedDSN is testDSN with the schema in place. On PostgreSQL it is a
// copy of a database migrated once per run, which saves most of each
// test's set-up time there; the migrations themselves run on empty
// databases in TestReopenKeepsDataAndSchemaVersion, TestConcurrentOpen...
// and in making the template.
func migratedDSN(t *testing.T) string {
	t.Helper()
	if backend != Postgres {
		return testDSN(t)
	}
	return pgtest.NewDatabaseFrom(t, pgtest.Template(t, "meekijk_migrated", func(url string) error {
		s, err := Open(context.Background(), url)
		if err != nil {
			return err
		}
		return s.Close()
	}))
}

// sqliteOnly skips a test on PostgreSQL, saying why.
func sqliteOnly(t *testing.T, why string) {
	t.Helper()
	if backend != SQLite {
		t.Skip("SQLite only: " + why)
	}
}
