// Package wirejsontest checks, in the tests of every wire decoder, that
// inexact input is refused the same way.
package wirejsontest

import (
	"errors"
	"strings"
	"testing"
)

// Refuses runs each case, {name, input, want}, as a subtest: decode must
// fail on input with an error that wraps sentinel and contains want.
func Refuses(t *testing.T, decode func([]byte) error, sentinel error, cases [][3]string) {
	t.Helper()
	for _, c := range cases {
		name, input, want := c[0], c[1], c[2]
		t.Run(name, func(t *testing.T) {
			err := decode([]byte(input))
			if !errors.Is(err, sentinel) || !strings.Contains(err.Error(), want) {
				t.Fatalf("decode(%s): %v, want an error wrapping %q and naming %q", input, err, sentinel, want)
			}
		})
	}
}
