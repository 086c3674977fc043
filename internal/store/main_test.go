package store

import (
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

// sqliteOnly skips a test on PostgreSQL, saying why.
func sqliteOnly(t *testing.T, why string) {
	t.Helper()
	if backend != SQLite {
		t.Skip("SQLite only: " + why)
	}
}
