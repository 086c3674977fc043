package inject

import (
	"io"
	"log"
	"testing"

	"github.com/jezek/xgb"
	"go.uber.org/goleak"
)

// The tests' X connections and event readers must all be gone at the end.
func TestMain(m *testing.M) {
	// xgb complains on stderr about the missing ~/.Xauthority that Xvfb
	// does not need.
	xgb.Logger = log.New(io.Discard, "", 0)
	goleak.VerifyTestMain(m)
}
