// Package sessioncode makes and checks the one-time codes a customer types
// into the agent. A code is 12 decimal digits, read out in four groups of
// three ("123 456 789 012"): digits are what every customer can type and
// every technician can say on the phone, and 10^12 values keep guessing
// hopeless under the relay's limits (docs/security.md works out the bound).
package sessioncode

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Digits is the length of a code.
const Digits = 12

// Space is the number of possible codes, 10^Digits.
const Space = 1_000_000_000_000

// ErrFormat is returned for input that is not 12 digits.
var ErrFormat = errors.New("a session code has 12 digits")

var space = big.NewInt(Space)

// New draws a uniformly random code.
func New() (string, error) {
	n, err := rand.Int(rand.Reader, space)
	if err != nil {
		return "", fmt.Errorf("sessioncode: %w", err)
	}
	return fmt.Sprintf("%0*d", Digits, n.Int64()), nil
}

// Normalize accepts a code as people type it ("123 456 789 012",
// "123-456-789-012") and returns its 12 digits.
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

// KeySize is the length of the key codes are hashed with.
const KeySize = 32

// Hasher turns a code into what the store keeps: HMAC-SHA256 under a key
// that lives in the data directory, not in the database. A plain hash of
// 10^12 values is a few hours of brute force for anyone holding a copy of
// the database; without the key, the stored values reveal nothing.
type Hasher struct{ key []byte }

// NewHasher returns a Hasher for key, which must be KeySize random bytes.
func NewHasher(key []byte) (*Hasher, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sessioncode: key has %d bytes, want %d", len(key), KeySize)
	}
	return &Hasher{key: append([]byte(nil), key...)}, nil
}

// RandomHasher is a Hasher under a fresh random key.
func RandomHasher() (*Hasher, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("sessioncode: key: %w", err)
	}
	return NewHasher(key)
}

// Hash is what the store keeps instead of the code.
func (h *Hasher) Hash(code string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("meekijk-session-code:" + code))
	return m.Sum(nil)
}

// Format groups a code in threes for reading aloud: "123 456 789 012".
func Format(code string) string {
	if len(code) != Digits {
		return code
	}
	var b strings.Builder
	for i := 0; i < Digits; i += 3 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(code[i : i+3])
	}
	return b.String()
}
