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

func (c *console) login(w http.ResponseWriter, r *http.Request) {
	// The login form has no CSRF token yet; Origin stops login CSRF (a
	// foreign page logging the technician into an attacker's account).
	if !httpx.SameOrigin(r) {
		c.fail(w, r, httpx.Errorf(http.StatusForbidden, "bad_origin", "request from a foreign origin"))
		return
	}
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	l, err := c.Auth.Login(w, r, in.Email, in.Password)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, meOf(l))
}

func (c *console) logout(w http.ResponseWriter, r *http.Request) {
	if err := c.Auth.Logout(w, r); err != nil {
		c.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *console) me(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusOK, meOf(login(r)))
}
