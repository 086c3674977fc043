package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/audit"
	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/store"
)

func TestFlags(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr string
		wantOut string
	}{
		{[]string{"--version"}, "", "relay dev"},
		{[]string{"-code-ttl", "soon"}, "-code-ttl", ""},
		{[]string{"-code-ttl", "-5m"}, "-code-ttl", ""},
		{[]string{"-tls-cert", "c.pem"}, "go together", ""},
		{[]string{"-nonsense"}, "flag provided but not defined", ""},
		{[]string{"-public-url", "ftp://desk.example.be"}, "-public-url", ""},
		{[]string{"-public-url", "https://desk.example.be/console"}, "-public-url", ""},
		{[]string{"-public-url", "desk.example.be"}, "-public-url", ""},
		{[]string{"-tls-cert", "c.pem", "-tls-key", "k.pem", "-public-url", "http://desk.example.be"}, "https://", ""},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		err := run(c.args, &out, &errOut)
		if c.wantErr == "" && err != nil {
			t.Errorf("%v: %v", c.args, err)
		}
		if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%v: err %v, want %q", c.args, err, c.wantErr)
		}
		if !strings.Contains(out.String(), c.wantOut) {
			t.Errorf("%v: printed %q, want %q", c.args, out.String(), c.wantOut)
		}
	}
}

// `relay user reset-password` is the way back in for an admin who lost
// their password: a new one printed once, to be changed at the next login,
// and an audit entry.
func TestUserResetPassword(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "meekijk.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.BootstrapAdmin(ctx, store.User{Email: "admin", Name: "Admin", PasswordHash: "x"}, 0); err != nil {
		t.Fatal(err)
	}
	st.Close()

	var out, errOut bytes.Buffer
	if err := run([]string{"user", "reset-password", "-data", dir, "admin"}, &out, &errOut); err != nil {
		t.Fatalf("reset-password: %v (%s)", err, errOut.String())
	}
	line, _, _ := strings.Cut(out.String(), "\n")
	pw, ok := strings.CutPrefix(line, "New password for admin: ")
	if !ok || len(pw) < 20 {
		t.Fatalf("printed %q", out.String())
	}
	st, err = store.Open(ctx, filepath.Join(dir, "meekijk.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByEmail(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := auth.CheckPassword(u.PasswordHash, pw); !ok || err != nil {
		t.Errorf("the printed password does not log in (%v)", err)
	}
	if !u.MustChangePassword {
		t.Error("the admin is not asked to change the printed password")
	}
	rows, err := st.AuditEntries(ctx, store.AuditFilter{Events: []string{"user.password_reset"}, Limit: 10})
	if err != nil || len(rows) != 1 || rows[0].Actor != "relay" {
		t.Errorf("audit %+v (%v), want one user.password_reset by relay", rows, err)
	}

	for _, args := range [][]string{
		{"user", "reset-password", "-data", dir, "nobody@example.com"},
		{"user", "reset-password", "-data", filepath.Join(dir, "missing"), "admin"},
		{"user", "reset-password", "-data", dir},
		{"user", "rename"},
	} {
		if err := run(args, &out, &errOut); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestHelp: relay -h lists the subcommands and relay quote -h explains the
// request; both are flag.ErrHelp, which main turns into exit status 0
// (issue 19, item 8).
func TestHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"relay audit verify", "relay audit pubkey", "relay backup", "relay quote", "-audit-syslog"}},
		{[]string{"quote", "-h"}, []string{"referencePerson", "contract         required", "case-sensitive"}},
		{[]string{"audit", "verify", "-h"}, []string{"-pubkey", "-checkpoints"}},
	} {
		var out, errOut bytes.Buffer
		err := run(c.args, &out, &errOut)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%v: %v, want flag.ErrHelp", c.args, err)
		}
		for _, w := range c.want {
			if !strings.Contains(errOut.String(), w) {
				t.Errorf("%v does not mention %q:\n%s", c.args, w, errOut.String())
			}
		}
	}
}

// TestAuditPubkey: relay audit pubkey prints the key that signs the
// checkpoints; -checkpoint-interval may not leave the tail unsealed longer
// than a minute.
func TestAuditPubkey(t *testing.T) {
	dir := t.TempDir()
	key, _, err := audit.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"audit", "pubkey", "-data", dir}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if want := audit.FormatPublicKey(key.Public().(ed25519.PublicKey)) + "\n"; out.String() != want {
		t.Fatalf("printed %q, want %q", out.String(), want)
	}
	if err := run([]string{"-checkpoint-interval", "10m"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "at most 1m") {
		t.Fatalf("-checkpoint-interval 10m: %v", err)
	}
}
