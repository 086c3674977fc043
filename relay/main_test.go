package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

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
