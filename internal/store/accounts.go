package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SetPassword replaces a user's password hash and ends every login of the
// user except the one whose token hash is keep (nil: all of them), so a
// changed or reset password shuts out whoever knew the old one. mustChange
// forces the user to choose a new one at their next login (an admin's
// reset); event names the audit entry ("user.password_changed",
// "user.password_reset").
func (s *Store) SetPassword(ctx context.Context, userID int64, hash string, mustChange bool, keep []byte, event string) error {
	err := s.audited(ctx, event, map[string]any{"user": userID, "mustChange": mustChange}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ?, must_change_password = ? WHERE id = ?", hash, mustChange, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM logins WHERE user_id = ? AND token_hash IS NOT ?", userID, keep)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set password of user %d: %w", userID, err)
	}
	return nil
}

// TOTP is what the store keeps of a user's second factor.
type TOTP struct {
	// Sealed is the secret encrypted with the relay's key (internal/auth);
	// nil when the user has none.
	Sealed []byte
	// Enabled is false while an enrolment waits for its first code.
	Enabled bool
	// LastStep is the last 30-second step a code was accepted for.
	LastStep int64
}

// UserTOTP returns a user's second factor.
func (s *Store) UserTOTP(ctx context.Context, userID int64) (TOTP, error) {
	var t TOTP
	err := s.db.QueryRowContext(ctx, "SELECT totp_secret, totp_enabled_at IS NOT NULL, totp_last_step FROM users WHERE id = ?", userID).
		Scan(&t.Sealed, &t.Enabled, &t.LastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return TOTP{}, fmt.Errorf("store: totp of user %d: %w", userID, ErrNotFound)
	}
	if err != nil {
		return TOTP{}, fmt.Errorf("store: totp of user %d: %w", userID, err)
	}
	return t, nil
}

// StartTOTP keeps a new sealed secret waiting for its first code. A user
// who already confirmed a second factor cannot replace it this way: an
// admin resets it first, so a stolen login cannot swap the phone.
func (s *Store) StartTOTP(ctx context.Context, userID int64, sealed []byte) error {
	err := s.audited(ctx, "user.totp_enrolment_started", map[string]any{"user": userID}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET totp_secret = ?, totp_last_step = 0 WHERE id = ? AND totp_enabled_at IS NULL", sealed, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &FieldError{"totp", fmt.Errorf("%w: a second factor is already set up", ErrConflict)}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: start totp of user %d: %w", userID, err)
	}
	return nil
}

// EnableTOTP confirms the waiting secret (its first code was for step) and
// replaces the user's recovery codes with these hashes.
func (s *Store) EnableTOTP(ctx context.Context, userID, step int64, recoveryHashes [][]byte) error {
	err := s.audited(ctx, "user.totp_enabled", map[string]any{"user": userID, "recoveryCodes": len(recoveryHashes)}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET totp_enabled_at = ?, totp_last_step = ? WHERE id = ? AND totp_secret IS NOT NULL AND totp_enabled_at IS NULL",
			s.nowMS(), step, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &FieldError{"totp", fmt.Errorf("%w: no second factor waiting for confirmation", ErrConflict)}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE user_id = ?", userID); err != nil {
			return err
		}
		for _, h := range recoveryHashes {
			if _, err := tx.ExecContext(ctx, "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)", userID, h); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: enable totp of user %d: %w", userID, err)
	}
	return nil
}

// UseTOTPStep records that a code for step was accepted. It reports false
// when a code for this step or a later one was already used: the same code
// typed twice (or seen over a shoulder) does not log in a second time.
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, "UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?", step, userID, step)
	if err != nil {
		return false, fmt.Errorf("store: use totp step of user %d: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseRecoveryCode spends one unused recovery code with this hash; it
// reports whether there was one, and how many remain unused.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (ok bool, remaining int, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
			s.nowMS(), userID, hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ok = true
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL", userID).Scan(&remaining); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, "", "user.recovery_code_used", map[string]any{"user": userID, "remaining": remaining})
	})
	if err != nil {
		return false, 0, fmt.Errorf("store: use recovery code of user %d: %w", userID, err)
	}
	return ok, remaining, nil
}

// ResetTOTP removes a user's second factor and recovery codes (an admin,
// for a lost phone) and ends the user's logins; the user sets up a new one
// at their next login if the desk requires it.
func (s *Store) ResetTOTP(ctx context.Context, userID int64) error {
	err := s.audited(ctx, "user.totp_reset", map[string]any{"user": userID}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = 0 WHERE id = ?", userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE user_id = ?", userID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM logins WHERE user_id = ?", userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: reset totp of user %d: %w", userID, err)
	}
	return nil
}
