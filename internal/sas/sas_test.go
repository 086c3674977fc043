package sas

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// vectorA and vectorB are the test vector of docs/protocol.md, which the
// browser's implementation (console/assets/sas.js) is checked against too
// (e2e TestSASVectorInBrowser).
const (
	vectorA    = "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F"
	vectorB    = "ff:fe:fd:fc:fb:fa:f9:f8:f7:f6:f5:f4:f3:f2:f1:f0:ef:ee:ed:ec:eb:ea:e9:e8:e7:e6:e5:e4:e3:e2:e1:e0"
	vectorCode = "842420"
)

func mustParse(t *testing.T, v string) Fingerprint {
	t.Helper()
	fp, err := ParseFingerprint("sha-256", v)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

func TestVector(t *testing.T) {
	a, b := mustParse(t, vectorA), mustParse(t, vectorB)
	if got := Code(a, b); got != vectorCode {
		t.Errorf("Code(A, B) = %s, want %s", got, vectorCode)
	}
	if got := Code(b, a); got != vectorCode {
		t.Errorf("Code(B, A) = %s, want %s: the order must not matter", got, vectorCode)
	}
}

func TestCommitmentVector(t *testing.T) {
	if got, want := Commitment(mustParse(t, vectorA)), "5dc331a3b00ef43ef13477edc72f9d0582700a3b46b474c54f5a09b4f1acfaa4"; got != want {
		t.Errorf("Commitment(A) = %s, want %s", got, want)
	}
}

func TestCodeShape(t *testing.T) {
	a := mustParse(t, vectorA)
	seen := map[string]bool{}
	for i := range 200 {
		var b Fingerprint
		b[0], b[1] = byte(i), byte(i>>8)
		c := Code(a, b)
		if !Valid(c) {
			t.Fatalf("Code gave %q, not 6 digits", c)
		}
		seen[c] = true
	}
	// A man in the middle changes one fingerprint on each side: the code
	// must move with any change of either.
	if len(seen) < 199 {
		t.Errorf("200 different fingerprints gave only %d codes", len(seen))
	}
}

func TestParseFingerprintRefuses(t *testing.T) {
	for _, c := range []struct{ alg, val string }{
		{"sha-1", vectorA},
		{"sha-256", ""},
		{"sha-256", vectorA[:len(vectorA)-3]},
		{"sha-256", vectorA + ":00"},
		{"sha-256", strings.ReplaceAll(vectorA, ":", "")},
		{"sha-256", strings.Replace(vectorA, "0A", "0G", 1)},
		{"sha-256", strings.ReplaceAll(vectorA, ":", "-")},
	} {
		if _, err := ParseFingerprint(c.alg, c.val); !errors.Is(err, ErrFingerprint) {
			t.Errorf("ParseFingerprint(%q, %q) = %v, want ErrFingerprint", c.alg, c.val, err)
		}
	}
	if _, err := ParseFingerprint("SHA-256", strings.ToLower(vectorA)); err != nil {
		t.Errorf("lower-case fingerprint refused: %v", err)
	}
}

func TestValid(t *testing.T) {
	for s, want := range map[string]bool{"000000": true, "123456": true, "12345": false, "1234567": false,
		"12345a": false, "+12345": false, "-12345": false, "": false, " 12345": false} {
		if Valid(s) != want {
			t.Errorf("Valid(%q) = %v", s, !want)
		}
	}
}

func TestAuditHash(t *testing.T) {
	h := AuditHash(7, "123456")
	if len(h) != 64 || h == AuditHash(8, "123456") || h == AuditHash(7, "123457") {
		t.Errorf("audit hash %s does not depend on both the session and the code", h)
	}
	// docs/protocol.md's audit-hash vector.
	if got, want := AuditHash(7, vectorCode), "02bc70953a829633d010ec8852ed44af3abac8498fa3716c94ba8b144475149a"; got != want {
		t.Errorf("AuditHash(7, %s) = %s, want %s", vectorCode, got, want)
	}
}

func FuzzParseFingerprint(f *testing.F) {
	f.Add("sha-256", vectorA)
	f.Add("sha-256", vectorB)
	f.Add("sha-1", "00")
	f.Fuzz(func(t *testing.T, alg, val string) {
		fp, err := ParseFingerprint(alg, val)
		if err != nil {
			return
		}
		if !strings.EqualFold(val, fmt.Sprintf("% X", fp[:])) && !strings.EqualFold(strings.ReplaceAll(val, ":", " "), fmt.Sprintf("% X", fp[:])) {
			t.Errorf("accepted %q as %X", val, fp)
		}
	})
}
