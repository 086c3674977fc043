package sessioncode

import (
	"bytes"
	"errors"
	"testing"
)

func TestNewIsTwelveDigitsAndVaries(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		c, err := New()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Normalize(c); err != nil || len(c) != Digits {
			t.Fatalf("New() = %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 99 {
		t.Errorf("100 codes gave only %d distinct values", len(seen))
	}
}

func TestNormalize(t *testing.T) {
	good := map[string]string{
		"123456789012":      "123456789012",
		"123 456 789 012":   "123456789012",
		"123-456-789-012":   "123456789012",
		" 012.345.678.901 ": "012345678901",
	}
	for in, want := range good {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "123456789", "12345678901", "1234567890123", "12345678901a", "１２３４５６７８９０１２", "123456789012;"} {
		if _, err := Normalize(in); !errors.Is(err, ErrFormat) {
			t.Errorf("Normalize(%q) err = %v, want ErrFormat", in, err)
		}
	}
}

func TestFormatAndHash(t *testing.T) {
	if got := Format("123456789012"); got != "123 456 789 012" {
		t.Errorf("Format = %q", got)
	}
	h, err := NewHasher(bytes.Repeat([]byte{1}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(h.Hash("1"), h.Hash("2")) || len(h.Hash("1")) != 32 {
		t.Error("Hash does not distinguish codes")
	}
	other, _ := NewHasher(bytes.Repeat([]byte{2}, KeySize))
	if bytes.Equal(h.Hash("123456789012"), other.Hash("123456789012")) {
		t.Error("the hash of a code does not depend on the key")
	}
	if _, err := NewHasher([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}
