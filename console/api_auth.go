package console

import (
	"net/http"

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
}

func userOf(u store.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), Lang: u.Lang, Languages: u.Languages, Active: u.Active}
}

type meJSON struct {
	User      userJSON `json:"user"`
	CSRFToken string   `json:"csrfToken"`
}

func meOf(l store.Login) meJSON { return meJSON{User: userOf(l.User), CSRFToken: l.CSRFToken} }

func (c *console) login(w http.ResponseWriter, r *http.Request) error {
	// The login form has no CSRF token yet; Origin stops login CSRF (a
	// foreign page logging the technician into an attacker's account).
	if !httpx.SameOrigin(r) {
		return httpx.Errorf(http.StatusForbidden, "bad_origin", "request from a foreign origin")
	}
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return err
	}
	l, err := c.Auth.Login(w, r, in.Email, in.Password)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, meOf(l))
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
	httpx.JSON(w, http.StatusOK, meOf(login(r)))
	return nil
}
