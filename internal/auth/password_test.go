package auth_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/auth"
)

func TestHashAndCheckPassword(t *testing.T) {
	const pw = "correct horse battery staple"
	h1, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	// The parameters are part of the stored string so they can be raised
	// later without breaking old hashes; pin what is written today.
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not carry the expected argon2id parameters", h1)
	}
	h2, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: no random salt")
	}
	cases := []struct {
		name string
		hash string
		pw   string
		want bool
	}{
		{"right password", h1, pw, true},
		{"right password, second hash", h2, pw, true},
		{"wrong password", h1, "correct horse battery stapl", false},
		{"empty password", h1, "", false},
		{"case matters", h1, strings.ToUpper(pw), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := auth.CheckPassword(tc.hash, tc.pw)
			if err != nil {
				t.Fatalf("CheckPassword: %v", err)
			}
			if ok != tc.want {
				t.Errorf("CheckPassword = %v, want %v", ok, tc.want)
			}
		})
	}
}

func TestCheckPasswordMalformedHash(t *testing.T) {
	good, err := auth.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	cases := map[string]string{
		"empty":             "",
		"plain text":        "pw",
		"too few parts":     strings.Join(parts[:5], "$"),
		"too many parts":    good + "$extra",
		"argon2i variant":   with(1, "argon2i"),
		"bcrypt":            "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"other version":     with(2, "v=16"),
		"garbled version":   with(2, "version"),
		"garbled params":    with(3, "m=x,t=2,p=1"),
		"missing params":    with(3, "m=19456"),
		"salt not base64":   with(4, "!!!!"),
		"key not base64":    with(5, "!!!!"),
		"padded base64 key": with(5, base64.StdEncoding.EncodeToString([]byte("a"))),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			ok, err := auth.CheckPassword(h, "pw")
			if err == nil || ok {
				t.Errorf("CheckPassword(%q) = %v, %v; want false and an error", h, ok, err)
			}
		})
	}
}

// Hashes come from the database, so a damaged row must give an error, not
// crash the login handler or, worse, accept any password.
func TestCheckPasswordDegenerateParameters(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString([]byte("saltsaltsaltsalt"))
	key := base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	cases := map[string]string{
		"zero passes":  fmt.Sprintf("$argon2id$v=19$m=19456,t=0,p=1$%s$%s", salt, key),
		"zero threads": fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=0$%s$%s", salt, key),
		"empty key":    fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=1$%s$", salt),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("CheckPassword panicked: %v", r)
				}
			}()
			ok, err := auth.CheckPassword(h, "anything")
			if err == nil || ok {
				t.Errorf("CheckPassword = %v, %v; want false and an error", ok, err)
			}
		})
	}
}

func TestNewPassword(t *testing.T) {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	seen := map[string]bool{}
	used := map[rune]bool{}
	for range 50 {
		pw := auth.NewPassword()
		if len(pw) != 20 {
			t.Fatalf("NewPassword() = %q, %d characters, want 20", pw, len(pw))
		}
		for _, r := range pw {
			if !strings.ContainsRune(alphabet, r) {
				t.Fatalf("NewPassword() = %q contains %q, outside the alphabet", pw, r)
			}
			used[r] = true
		}
		if strings.ContainsAny(pw, "0O1lI") {
			t.Fatalf("NewPassword() = %q contains a look-alike character", pw)
		}
		if seen[pw] {
			t.Fatalf("NewPassword() repeated %q", pw)
		}
		seen[pw] = true
	}
	// 1000 draws from 56 symbols miss one with negligible probability; a
	// broken mapping (e.g. always the first half) would show here.
	if len(used) < len(alphabet)-2 {
		t.Errorf("only %d of %d symbols used in 1000 characters", len(used), len(alphabet))
	}
}

func TestNewTokenAndHashToken(t *testing.T) {
	a, b := auth.NewToken(), auth.NewToken()
	if a == b {
		t.Fatal("two tokens are equal")
	}
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q: %d bytes, %v; want 32 URL-safe bytes", a, len(raw), err)
	}
	if !bytes.Equal(auth.HashToken(a), auth.HashToken(a)) || bytes.Equal(auth.HashToken(a), auth.HashToken(b)) {
		t.Error("HashToken is not a deterministic function of the token")
	}
	if len(auth.HashToken(a)) != 32 {
		t.Errorf("HashToken length %d, want 32", len(auth.HashToken(a)))
	}
}
