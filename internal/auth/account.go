package auth

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/store"
)

// Steps a login must take before it may do anything else (Pending).
const (
	StepPasswordChange = "password_change"
	StepTOTPEnrolment  = "totp_enrolment"
)

// SettingTOTPPolicy is the settings key of who must use a second factor.
const SettingTOTPPolicy = "totp_required"

// Who must use a second factor.
const (
	PolicyOff      = "off"      // whoever wants to
	PolicyAdmins   = "admins"   // every admin
	PolicyEveryone = "everyone" // every user
)

// Policies lists the valid values of SettingTOTPPolicy.
var Policies = []string{PolicyOff, PolicyAdmins, PolicyEveryone}

// Policy returns who must use a second factor.
func (s *Service) Policy(ctx context.Context) (string, error) {
	v, ok, err := s.store.Setting(ctx, SettingTOTPPolicy)
	if err != nil || !ok {
		return PolicyOff, err
	}
	return v, nil
}

// Pending returns the step u must take before using the console: a
// password change an admin's reset asked for, then the second factor the
// desk requires; "" when there is none.
func (s *Service) Pending(ctx context.Context, u store.User) (string, error) {
	if u.MustChangePassword {
		return StepPasswordChange, nil
	}
	if u.TOTPEnabled {
		return "", nil
	}
	p, err := s.Policy(ctx)
	if err != nil {
		return "", err
	}
	if p == PolicyEveryone || (p == PolicyAdmins && u.Role == store.RoleAdmin) {
		return StepTOTPEnrolment, nil
	}
	return "", nil
}

// Password length bounds: long enough for a passphrase to be worth it,
// short enough that argon2id is never fed megabytes.
const (
	minPassword = 12
	maxPassword = 256
)

// CheckNewPassword validates a password a user chose.
func CheckNewPassword(field, pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case n < minPassword:
		return &httpx.Problem{Status: http.StatusBadRequest, Code: "password_short", Field: field,
			Message: fmt.Sprintf("the new password needs at least %d characters", minPassword)}
	case n > maxPassword:
		return httpx.FieldError(field, "the new password is longer than %d characters", maxPassword)
	}
	return nil
}

// ChangePassword sets a new password for the request's user, who proves it
// is them with the current one; wrong ones count as failed logins from the
// request's address. Every other login of the user ends, this one stays.
func (s *Service) ChangePassword(r *http.Request, current, next string) error {
	l, ok := LoginFrom(r.Context())
	if !ok {
		return errNoLogin
	}
	// Counted under the same name a login form counts it, so changing the
	// password is no way around the login limits.
	ip, account := httpx.ClientIP(r), strings.ToLower(l.User.Email)
	if err := s.guard.check(r.Context(), ip, account); err != nil {
		return err
	}
	ok, err := CheckPassword(l.User.PasswordHash, current)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !ok {
		s.guard.fail(r.Context(), ip, account, "password")
		return &httpx.Problem{Status: http.StatusBadRequest, Code: "wrong_password", Field: "current", Message: "the current password is wrong"}
	}
	if err := CheckNewPassword("new", next); err != nil {
		return err
	}
	if next == current {
		return &httpx.Problem{Status: http.StatusBadRequest, Code: "password_same", Field: "new", Message: "the new password is the current one"}
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	c, err := r.Cookie(CookieName)
	if err != nil {
		return errNoLogin
	}
	if err := s.store.SetPassword(r.Context(), l.User.ID, hash, false, HashToken(c.Value), "user.password_changed"); err != nil {
		return err
	}
	s.log.Info("password changed", "user", l.User.ID)
	return nil
}

// PasswordSetter is what ResetPassword needs of the database.
type PasswordSetter interface {
	SetPassword(ctx context.Context, userID int64, hash string, mustChange bool, keep []byte, event string) error
}

// ResetPassword gives a user a new random password, ends all their logins
// and makes them choose their own at the next login. It returns the new
// password, to be shown once to whoever asked (an admin in the console,
// or `relay user reset-password` for a lost admin password).
func ResetPassword(ctx context.Context, st PasswordSetter, userID int64) (string, error) {
	pw := NewPassword()
	hash, err := HashPassword(pw)
	if err != nil {
		return "", err
	}
	if err := st.SetPassword(ctx, userID, hash, true, nil, "user.password_reset"); err != nil {
		return "", err
	}
	return pw, nil
}

// BeginTOTP starts setting up a second factor for u: a new secret, kept
// sealed until the first code confirms it.
func (s *Service) BeginTOTP(ctx context.Context, u store.User) (Enrolment, error) {
	e, err := newEnrolment(s.cfg.Issuer, u.Email)
	if err != nil {
		return Enrolment{}, err
	}
	if err := s.store.StartTOTP(ctx, u.ID, s.keys.sealSecret(u.ID, e.Secret)); err != nil {
		return Enrolment{}, err
	}
	return e, nil
}

// ConfirmTOTP checks the first code of the waiting secret and, when it is
// right, turns the second factor on and returns the recovery codes, to be
// shown once: only keyed hashes of them are kept. Wrong codes are
// throttled like wrong passwords.
func (s *Service) ConfirmTOTP(r *http.Request, code string) ([]string, error) {
	l, ok := LoginFrom(r.Context())
	if !ok {
		return nil, errNoLogin
	}
	ctx, ip, account := r.Context(), httpx.ClientIP(r), strings.ToLower(l.User.Email)
	if err := s.guard.check(ctx, ip, account); err != nil {
		return nil, err
	}
	t, err := s.store.UserTOTP(ctx, l.User.ID)
	if err != nil {
		return nil, err
	}
	if t.Sealed == nil || t.Enabled {
		return nil, &store.FieldError{Field: "totp", Err: fmt.Errorf("%w: no second factor waiting for confirmation", store.ErrConflict)}
	}
	secret, err := s.keys.openSecret(l.User.ID, t.Sealed)
	if err != nil {
		return nil, err
	}
	step, err := matchTOTP(secret, code, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	if step == 0 {
		s.guard.fail(ctx, ip, account, "totp")
		return nil, &httpx.Problem{Status: http.StatusBadRequest, Code: "bad_code", Field: "code", Message: "wrong code"}
	}
	codes := make([]string, recoveryCodes)
	hashes := make([][]byte, recoveryCodes)
	for i := range codes {
		codes[i] = newRecoveryCode()
		hashes[i] = s.keys.hashRecovery(l.User.ID, codes[i])
	}
	if err := s.store.EnableTOTP(ctx, l.User.ID, step, hashes); err != nil {
		return nil, err
	}
	s.log.Info("second factor set up", "user", l.User.ID)
	return codes, nil
}
