package server

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/store"
)

// cliActor names the relay's command line in the audit log: whoever can
// run it on the host holds the data directory anyway.
var cliActor = store.Actor{Name: "relay"}

// ResetPassword gives the user with this login (e-mail, or "admin") a new
// random password, printed once on out, for an admin who lost theirs. The
// user's logins end and they must choose a new password at the next login.
// It works while the relay runs: SQLite lets both write in turn.
func ResetPassword(ctx context.Context, dataDir, db, login string, out io.Writer) error {
	return onUser(ctx, dataDir, db, login, "reset password", func(ctx context.Context, st *store.Store, u store.User) error {
		pw, err := auth.ResetPassword(ctx, st, u.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "New password for %s: %s\n(shown only this once; it must be changed at the next login)\n", u.Email, pw)
		return nil
	})
}

// ResetTOTP removes the second factor of the user with this login, for an
// admin who lost their phone and their recovery codes.
func ResetTOTP(ctx context.Context, dataDir, db, login string, out io.Writer) error {
	return onUser(ctx, dataDir, db, login, "reset second factor", func(ctx context.Context, st *store.Store, u store.User) error {
		if err := st.ResetTOTP(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(out, "Second factor of %s removed; set it up again after logging in.\n", u.Email)
		return nil
	})
}

// onUser runs fn, as the command line, on the user with this login in the
// existing database of dataDir (or db).
func onUser(ctx context.Context, dataDir, db, login, what string, fn func(context.Context, *store.Store, store.User) error) error {
	st, err := openExisting(ctx, dataDir, db)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx = store.WithActor(ctx, cliActor)
	u, err := st.UserByEmail(ctx, strings.TrimSpace(login))
	if err == nil {
		err = fn(ctx, st, u)
	}
	if err != nil {
		return fmt.Errorf("%s of %q: %w", what, login, err)
	}
	return nil
}
