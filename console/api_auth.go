package console

import (
	"net/http"
	"strings"

	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/store"
)

type userJSON struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Lang      string `json:"lang"`
	Languages string `json:"languages"`
	Active    bool   `json:"active"`
	// TOTPEnabled: the user set up a second factor.
	TOTPEnabled bool `json:"totpEnabled"`
	// MustChangePassword: an admin reset the password, and the user has
	// not chosen their own yet.
	MustChangePassword bool `json:"mustChangePassword"`
}

func userOf(u store.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), Lang: u.Lang, Languages: u.Languages, Active: u.Active,
		TOTPEnabled: u.TOTPEnabled, MustChangePassword: u.MustChangePassword}
}

type meJSON struct {
	User      userJSON `json:"user"`
	CSRFToken string   `json:"csrfToken"`
	// Pending is the step the user must take before anything else:
	// "password_change", "totp_enrolment" or "".
	Pending string `json:"pending"`
}

func (c *console) meOf(r *http.Request, l store.Login) (meJSON, error) {
	step, err := c.Auth.Pending(r.Context(), l.User)
	return meJSON{User: userOf(l.User), CSRFToken: l.CSRFToken, Pending: step}, err
}

func (c *console) login(w http.ResponseWriter, r *http.Request) error {
	// The login form has no CSRF token yet; Origin stops login CSRF (a
	// foreign page logging the technician into an attacker's account).
	if !httpx.SameOrigin(r) {
		return httpx.Errorf(http.StatusForbidden, "bad_origin", "request from a foreign origin")
	}
	var in struct {
		// Email is the login: an e-mail address, or the first admin's
		// "admin"; the name stays for the API's sake.
		Email    string `json:"email"`
		Password string `json:"password"`
		Code     string `json:"code"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return err
	}
	l, err := c.Auth.Login(w, r, auth.Credentials{Login: in.Email, Password: in.Password, Code: in.Code})
	if err != nil {
		return err
	}
	me, err := c.meOf(r, l)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, me)
	return nil
}

func (c *console) logout(w http.ResponseWriter, r *http.Request) error {
	if err := c.Auth.Logout(w, r); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *console) me(w http.ResponseWriter, r *http.Request) error {
	me, err := c.meOf(r, login(r))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, me)
	return nil
}

// changePassword: the user's own, with the current one as proof.
func (c *console) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return err
	}
	if err := c.Auth.ChangePassword(r, in.Current, in.New); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// beginTOTP starts setting up the user's second factor: the QR code and
// the secret for their authenticator app.
func (c *console) beginTOTP(w http.ResponseWriter, r *http.Request) error {
	e, err := c.Auth.BeginTOTP(r.Context(), login(r).User)
	if err != nil {
		return err
	}
	// The secret is in this answer only; it must not linger in a cache.
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, map[string]string{"secret": e.Secret, "url": e.URL, "qr": e.QR})
	return nil
}

// confirmTOTP turns the second factor on with its first code and answers
// the recovery codes, shown this once.
func (c *console) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	codes, err := c.Auth.ConfirmTOTP(r, strings.TrimSpace(in.Code))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, map[string][]string{"recoveryCodes": codes})
	return nil
}

// resetPassword: an admin gives a user a new password, shown in this
// answer only; the user must change it at their next login.
func (c *console) resetPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	pw, err := auth.ResetPassword(r.Context(), c.Store, id)
	if err != nil {
		return err
	}
	c.log.Info("password reset", "user", id, "by", login(r).User.ID)
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, map[string]string{"password": pw})
	return nil
}

// resetTOTP: an admin removes a user's second factor (a lost phone).
func (c *console) resetTOTP(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := c.Store.ResetTOTP(r.Context(), id); err != nil {
		return err
	}
	c.log.Info("second factor reset", "user", id, "by", login(r).User.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type securityJSON struct {
	// TOTPRequired: who must use a second factor (auth.Policies).
	TOTPRequired string `json:"totpRequired"`
}

func (c *console) getSecurity(w http.ResponseWriter, r *http.Request) error {
	p, err := c.Auth.Policy(r.Context())
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, securityJSON{p})
	return nil
}

func (c *console) putSecurity(w http.ResponseWriter, r *http.Request) error {
	var in securityJSON
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	if err := oneOf("totpRequired", in.TOTPRequired, auth.Policies); err != nil {
		return err
	}
	if err := c.Store.SetSetting(r.Context(), auth.SettingTOTPPolicy, in.TOTPRequired); err != nil {
		return err
	}
	c.log.Info("second-factor policy changed", "policy", in.TOTPRequired, "by", login(r).User.ID)
	return c.getSecurity(w, r)
}
