package sessioncode

import (
	"errors"
	"testing"
)

func TestNewIsNineDigitsAndVaries(t *testing.T) {
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
		"123456789":     "123456789",
		"123 456 789":   "123456789",
		"123-456-789":   "123456789",
		" 012.345.678 ": "012345678",
	}
	for in, want := range good {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "12345678", "1234567890", "12345678a", "１２３４５６７８９", "123456789;"} {
		if _, err := Normalize(in); !errors.Is(err, ErrFormat) {
			t.Errorf("Normalize(%q) err = %v, want ErrFormat", in, err)
		}
	}
}

func TestFormatAndHash(t *testing.T) {
	if got := Format("123456789"); got != "123 456 789" {
		t.Errorf("Format = %q", got)
	}
	if string(Hash("1")) == string(Hash("2")) || len(Hash("1")) != 32 {
		t.Error("Hash does not distinguish codes")
	}
}
