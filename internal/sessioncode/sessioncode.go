// Package sessioncode makes and checks the one-time codes a customer types
// into the agent. A code is 9 decimal digits: easy to read out on the phone,
// and with a billion values, guessing one of the few live codes is hopeless
// under the relay's rate limits.
package sessioncode

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Digits is the length of a code.
const Digits = 9

// ErrFormat is returned for input that is not 9 digits.
var ErrFormat = errors.New("a session code has 9 digits")

var space = big.NewInt(1_000_000_000)

// New draws a uniformly random code.
func New() (string, error) {
	n, err := rand.Int(rand.Reader, space)
	if err != nil {
		return "", fmt.Errorf("sessioncode: %w", err)
	}
	return fmt.Sprintf("%09d", n.Int64()), nil
}

// Normalize accepts a code as people type it ("123 456 789", "123-456-789")
// and returns its 9 digits.
func Normalize(input string) (string, error) {
	var b strings.Builder
	for _, r := range input {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '\u00a0':
		default:
			return "", ErrFormat
		}
	}
	if b.Len() != Digits {
		return "", ErrFormat
	}
	return b.String(), nil
}

// Hash is what the store keeps instead of the code.
func Hash(code string) []byte {
	h := sha256.Sum256([]byte("meekijk-session-code:" + code))
	return h[:]
}

// Format groups a code in threes for reading aloud: "123 456 789".
func Format(code string) string {
	if len(code) != Digits {
		return code
	}
	return code[0:3] + " " + code[3:6] + " " + code[6:9]
}
