package server

import (
	"os"
	"testing"

	"github.com/meekijk/meekijk/internal/pgtest"
)

// TestMain stops the PostgreSQL cluster that tests with -db start
// (internal/pgtest), after all tests.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
