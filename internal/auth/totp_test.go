package auth

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestLoadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFile)
	key, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || len(key) != keyLen {
		t.Errorf("key file mode %v, %d bytes; want 0600 and %d", fi.Mode().Perm(), len(key), keyLen)
	}
	again, err := LoadKey(path)
	if err != nil || string(again) != string(key) {
		t.Errorf("second load gave another key (%v)", err)
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path); err == nil {
		t.Error("a damaged key file was accepted")
	}
}

// A sealed secret opens only with the same key and for the same user.
func TestSealedSecretBoundToKeyAndUser(t *testing.T) {
	k1, _ := deriveKeys(make([]byte, keyLen))
	other := make([]byte, keyLen)
	other[0] = 1
	k2, _ := deriveKeys(other)
	sealed := k1.sealSecret(7, "JBSWY3DPEHPK3PXP")
	if s, err := k1.openSecret(7, sealed); err != nil || s != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("open: %q %v", s, err)
	}
	if _, err := k1.openSecret(8, sealed); err == nil {
		t.Error("opened as another user")
	}
	if _, err := k2.openSecret(7, sealed); err == nil {
		t.Error("opened with another key")
	}
	if _, err := k1.openSecret(7, sealed[:5]); err == nil {
		t.Error("opened a truncated secret")
	}
}

func TestMatchTOTP(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXP"
	now := time.Unix(1_800_000_000, 0)
	step := now.Unix() / totpPeriod
	for d := int64(-3); d <= 3; d++ {
		code, err := totp.GenerateCodeCustom(secret, now.Add(time.Duration(d)*totpPeriod*time.Second), totpOpts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := matchTOTP(secret, code, now)
		want := int64(0)
		if d >= -totpSkew && d <= totpSkew {
			want = step + d
		}
		if err != nil || got != want {
			t.Errorf("code of step %+d: matched step %d (%v), want %d", d, got, err, want)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if got, _ := matchTOTP(secret, bad, now); got != 0 {
			t.Errorf("%q matched step %d", bad, got)
		}
	}
}

func TestRecoveryCodeTyping(t *testing.T) {
	k, _ := deriveKeys(make([]byte, keyLen))
	code := newRecoveryCode()
	if len(code) != 14 || code[4] != '-' || code[9] != '-' {
		t.Fatalf("recovery code %q, want xxxx-xxxx-xxxx", code)
	}
	want := k.hashRecovery(3, code)
	for _, typed := range []string{code, " " + code + " ", normalizeRecovery(code), "  " + string([]byte(code)[:4]) + " " + code[5:9] + " " + code[10:]} {
		if string(k.hashRecovery(3, typed)) != string(want) {
			t.Errorf("%q does not match %q", typed, code)
		}
	}
	if string(k.hashRecovery(4, code)) == string(want) {
		t.Error("the hash is not bound to the user")
	}
}
