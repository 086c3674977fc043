//go:build !bench

package bench

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	quietX()
	os.Exit(m.Run())
}
