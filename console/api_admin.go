package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/calendar"
	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/pricing"
	"github.com/meekijk/meekijk/internal/store"
)

const settingCalendar = pricing.SettingCalendar

type calendarStatusJSON struct {
	calendar.Calendar
	OpenNow     bool      `json:"openNow"`
	NextOpening time.Time `json:"nextOpening,omitzero"`
	// Default says no admin saved a calendar yet: the page says so and
	// names the default closure in its own language.
	Default bool `json:"default,omitempty"`
}

func (c *console) getCalendar(w http.ResponseWriter, r *http.Request) error {
	cal, saved, err := pricing.LoadCalendarSaved(r.Context(), c.Store)
	if err != nil {
		return err
	}
	now := c.Now()
	out := calendarStatusJSON{Calendar: cal, OpenNow: cal.IsOpen(now), Default: !saved}
	if next, ok := cal.NextOpening(now); ok {
		out.NextOpening = next
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (c *console) putCalendar(w http.ResponseWriter, r *http.Request) error {
	// weekly is required: a client that leaves it out would otherwise
	// close the desk for good without meaning to. An explicit [] still
	// closes it, on purpose.
	var in struct {
		calendar.Calendar
		Weekly *[]calendar.Period `json:"weekly"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 64<<10); err != nil {
		// Name the entry as validation does ("calendar.weekly[2].from").
		if p, ok := errors.AsType[*httpx.Problem](err); ok && p.Field != "" {
			p.Field = "calendar." + p.Field
		}
		return err
	}
	if in.Weekly == nil {
		return httpx.FieldError("calendar.weekly", "calendar.weekly is required: the opening periods, or [] to close the desk")
	}
	cal := in.Calendar
	cal.Weekly = *in.Weekly
	if err := cal.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(cal)
	if err != nil {
		return err
	}
	if err := c.Store.SetSetting(r.Context(), settingCalendar, string(b)); err != nil {
		return err
	}
	c.log.Info("support calendar changed", "user", login(r).User.ID)
	return c.getCalendar(w, r)
}

func (c *console) listUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := c.Store.Users(r.Context())
	if err != nil {
		return err
	}
	out := make([]userJSON, 0, len(users))
	for _, u := range users {
		out = append(out, userOf(u))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

type userIn struct {
	Email     string `json:"email"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Lang      string `json:"lang"`
	Languages string `json:"languages"`
	Active    *bool  `json:"active"`
}

func (in *userIn) validate() error {
	if in.Lang == "" {
		in.Lang = "nl"
	}
	if in.Languages == "" {
		in.Languages = in.Lang
	}
	var err error
	in.Name, err = text("name", in.Name, 200, false)
	var langErr error
	for _, l := range strings.Split(in.Languages, ",") {
		if !helpdesk.OneOf(strings.TrimSpace(l), helpdesk.Languages) {
			langErr = httpx.FieldError("languages", "languages must be a comma-separated list of nl, fr, en")
		}
	}
	return firstErr(err, oneOf("role", in.Role, helpdesk.Roles), oneOf("lang", in.Lang, helpdesk.Languages), langErr)
}

// createUser adds a technician or admin with a random password, shown in
// this answer only; the admin passes it on and the user changes it.
func (c *console) createUser(w http.ResponseWriter, r *http.Request) error {
	var in userIn
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return err
	}
	email, err := text("email", in.Email, 254, false)
	if err == nil && !looksLikeEmail(email) {
		err = httpx.FieldError("email", "email %q is not an e-mail address", email)
	}
	if err := firstErr(err, in.validate()); err != nil {
		return err
	}
	password := auth.NewPassword()
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	u, err := c.Store.CreateUser(r.Context(), store.User{Email: email, Name: in.Name, Role: store.Role(in.Role),
		Lang: in.Lang, Languages: in.Languages, PasswordHash: hash})
	if errors.Is(err, store.ErrConflict) {
		return &store.FieldError{Field: "email", Err: err}
	}
	if err != nil {
		return err
	}
	c.log.Info("user created", "user", u.ID, "role", u.Role, "by", login(r).User.ID)
	httpx.JSON(w, http.StatusCreated, struct {
		userJSON
		Password string `json:"password"`
	}{userOf(u), password})
	return nil
}

func (c *console) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in userIn
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return err
	}
	if in.Email != "" {
		return httpx.FieldError("email", "the e-mail address is the login and cannot change")
	}
	if err := in.validate(); err != nil {
		return err
	}
	active := in.Active == nil || *in.Active
	u, err := c.Store.UpdateUser(r.Context(), store.User{ID: id, Name: in.Name, Role: store.Role(in.Role), Lang: in.Lang,
		Languages: in.Languages, Active: active})
	if err != nil {
		return err
	}
	c.log.Info("user changed", "user", u.ID, "role", u.Role, "active", u.Active, "by", login(r).User.ID)
	httpx.JSON(w, http.StatusOK, userOf(u))
	return nil
}

// consentTimersJSON is the desk's time-boxed consent, in seconds.
type consentTimersJSON struct {
	ReconfirmSeconds       int `json:"reconfirmSeconds"`
	ReconfirmAnswerSeconds int `json:"reconfirmAnswerSeconds"`
	// History lists the saved values, newest first (answers only).
	History []store.SettingChange `json:"history,omitempty"`
}

// settingHistoryLength is how many past values a settings page shows.
const settingHistoryLength = 20

func (c *console) getConsentTimers(w http.ResponseWriter, r *http.Request) error {
	t, err := c.Store.ConsentTimers(r.Context())
	if err != nil {
		return err
	}
	hist, err := c.Store.SettingHistory(r.Context(), settingHistoryLength, store.SettingReconfirmEvery, store.SettingReconfirmAnswer)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, consentTimersJSON{int(t.Every / time.Second), int(t.Answer / time.Second), hist})
	return nil
}

// billingRulesJSON is the desk's billing rules with the hourly rates they
// apply and the history of the rules.
type billingRulesJSON struct {
	store.BillingRules
	// DefaultRates is the desk's rate history for customers without a
	// contract, oldest first (POST /api/v1/rates/default adds one).
	DefaultRates []billing.Rate        `json:"defaultRates"`
	History      []store.SettingChange `json:"history"`
}

func (c *console) getBillingRules(w http.ResponseWriter, r *http.Request) error {
	loc, err := c.deskLocation(r.Context())
	if err != nil {
		return err
	}
	set, err := c.Store.BillingSettings(r.Context(), loc.String())
	if err != nil {
		return err
	}
	hist, err := c.Store.SettingHistory(r.Context(), settingHistoryLength, store.SettingBilling)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, billingRulesJSON{BillingRules: store.RulesOf(set), DefaultRates: set.DefaultRates, History: hist})
	return nil
}

// putBillingRules sets the desk's billing rules: every field, as the
// statement applies them all together.
func (c *console) putBillingRules(w http.ResponseWriter, r *http.Request) error {
	var in store.BillingRules
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	err := c.Store.SetBillingRules(r.Context(), in)
	if fe, ok := errors.AsType[*billing.FieldError](err); ok {
		return httpx.FieldError(fe.Field, "%s", fe.Err.Error())
	}
	if err != nil {
		return err
	}
	c.log.Info("billing rules changed", "user", login(r).User.ID, "rules", in)
	return c.getBillingRules(w, r)
}

// putConsentTimers sets how often agents ask customers whether to keep
// sharing, and how long they wait for the answer. The bounds keep a desk
// from asking so often that customers click through, or never.
func (c *console) putConsentTimers(w http.ResponseWriter, r *http.Request) error {
	var in consentTimersJSON
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	if in.ReconfirmSeconds < 5 || in.ReconfirmSeconds > 8*3600 {
		return httpx.FieldError("reconfirmSeconds", "between 5 seconds and 8 hours")
	}
	if in.ReconfirmAnswerSeconds < 5 || in.ReconfirmAnswerSeconds > 600 {
		return httpx.FieldError("reconfirmAnswerSeconds", "between 5 and 600 seconds")
	}
	err := c.Store.SetConsentTimers(r.Context(), store.ConsentTimers{
		Every: time.Duration(in.ReconfirmSeconds) * time.Second, Answer: time.Duration(in.ReconfirmAnswerSeconds) * time.Second})
	if err != nil {
		return err
	}
	c.log.Info("consent timers changed", "user", login(r).User.ID, "every_s", in.ReconfirmSeconds, "answer_s", in.ReconfirmAnswerSeconds)
	return c.getConsentTimers(w, r)
}
