// Package console serves the technicians' and admins' web application: the
// embedded plain-JavaScript pages and the JSON API they call. Every API
// route needs a login; state-changing routes also need the CSRF token.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/sessioncode"
	"github.com/meekijk/meekijk/internal/store"
)

//go:embed assets
var embedded embed.FS

// CSP is the console's Content-Security-Policy: our own scripts and styles
// only, no inline code, no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Store is what the console needs of the database.
type Store interface {
	CreateTicket(ctx context.Context, title, customerName string, createdBy int64) (store.Ticket, error)
	Ticket(ctx context.Context, id int64) (store.Ticket, error)
	Tickets(ctx context.Context, limit int) ([]store.Ticket, error)
	CodeInUse(ctx context.Context, codeHash []byte) (bool, error)
	CreateSession(ctx context.Context, ticketID, technicianID int64, codeHash []byte, expires time.Time) (store.Session, error)
	Session(ctx context.Context, id int64) (store.Session, error)
	SessionsForTicket(ctx context.Context, ticketID int64) ([]store.Session, error)
	Events(ctx context.Context, sessionID int64) ([]store.Event, error)
}

// SocketFunc serves the console's WebSocket of one session.
type SocketFunc func(w http.ResponseWriter, r *http.Request, user store.User, sessionID int64)

// Config describes the console.
type Config struct {
	Store  Store
	Auth   *auth.Service
	Socket SocketFunc
	// CodeTTL is how long a session code stays valid.
	CodeTTL time.Duration
	// AssetsDir, when set, serves the assets from disk instead of the
	// binary, so pages can be edited without rebuilding.
	AssetsDir string
	Now       func() time.Time
}

type console struct {
	Config
	log     *slog.Logger
	catalog []byte
}

// New returns the console's handler.
func New(cfg Config, log *slog.Logger) (http.Handler, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	catJSON, err := i18n.PageJSON("console.")
	if err != nil {
		return nil, err
	}
	var assets fs.FS
	if cfg.AssetsDir != "" {
		assets = os.DirFS(cfg.AssetsDir)
	} else if assets, err = fs.Sub(embedded, "assets"); err != nil {
		return nil, err
	}
	c := &console{Config: cfg, log: log, catalog: catJSON}
	staff := []store.Role{store.RoleAdmin, store.RoleTechnician}
	need := func(h http.HandlerFunc) http.Handler { return cfg.Auth.Require(h, staff...) }

	mux := http.NewServeMux()
	files := http.FileServerFS(assets)
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", files))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets, "index.html")
	})
	mux.HandleFunc("GET /i18n.json", c.i18n)
	mux.HandleFunc("POST /api/login", c.login)
	mux.Handle("POST /api/logout", need(c.logout))
	mux.Handle("GET /api/me", need(c.me))
	mux.Handle("GET /api/tickets", need(c.listTickets))
	mux.Handle("POST /api/tickets", need(c.createTicket))
	mux.Handle("GET /api/tickets/{id}", need(c.ticket))
	mux.Handle("POST /api/tickets/{id}/sessions", need(c.startSession))
	mux.Handle("GET /api/sessions/{id}", need(c.session))
	mux.Handle("GET /api/sessions/{id}/events", need(c.events))
	mux.Handle("GET /ws/console/{id}", need(c.socket))
	return mux, nil
}

func (c *console) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		err = httpx.Errorf(http.StatusNotFound, "not_found", "not found")
	}
	httpx.WriteError(w, r, c.log, err)
}

func (c *console) i18n(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(c.catalog)
}

type userJSON struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	Lang  string `json:"lang"`
}

type meJSON struct {
	User      userJSON `json:"user"`
	CSRFToken string   `json:"csrfToken"`
}

func meOf(l store.Login) meJSON {
	u := l.User
	return meJSON{User: userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), Lang: u.Lang}, CSRFToken: l.CSRFToken}
}

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
	l, _ := auth.LoginFrom(r.Context())
	httpx.JSON(w, http.StatusOK, meOf(l))
}

type ticketJSON struct {
	ID           int64         `json:"id"`
	Reference    string        `json:"reference"`
	Title        string        `json:"title"`
	CustomerName string        `json:"customerName"`
	CreatedAt    time.Time     `json:"createdAt"`
	Sessions     []sessionJSON `json:"sessions,omitzero"`
}

func ticketOf(t store.Ticket) ticketJSON {
	return ticketJSON{ID: t.ID, Reference: t.Reference, Title: t.Title, CustomerName: t.CustomerName, CreatedAt: t.CreatedAt}
}

func (c *console) listTickets(w http.ResponseWriter, r *http.Request) {
	ts, err := c.Store.Tickets(r.Context(), 200)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	out := make([]ticketJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, ticketOf(t))
	}
	httpx.JSON(w, http.StatusOK, out)
}

// requiredText validates a short required text field.
func requiredText(field, v string, max int) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", httpx.FieldError(field, "%s is required", field)
	case utf8.RuneCountInString(v) > max:
		return "", httpx.FieldError(field, "%s is longer than %d characters", field, max)
	}
	return v, nil
}

func (c *console) createTicket(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title        string `json:"title"`
		CustomerName string `json:"customerName"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 8<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	title, err := requiredText("title", in.Title, 200)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	customer, err := requiredText("customerName", in.CustomerName, 200)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	l, _ := auth.LoginFrom(r.Context())
	t, err := c.Store.CreateTicket(r.Context(), title, customer, l.User.ID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.log.Info("ticket created", "ticket", t.Reference, "user", l.User.ID)
	httpx.JSON(w, http.StatusCreated, ticketOf(t))
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, httpx.Errorf(http.StatusNotFound, "not_found", "not found")
	}
	return id, nil
}

func (c *console) ticket(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	t, err := c.Store.Ticket(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	sessions, err := c.Store.SessionsForTicket(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	out := ticketOf(t)
	out.Sessions = []sessionJSON{}
	for _, s := range sessions {
		out.Sessions = append(out.Sessions, c.sessionOf(s))
	}
	httpx.JSON(w, http.StatusOK, out)
}

type sessionJSON struct {
	ID            int64     `json:"id"`
	TicketID      int64     `json:"ticketId"`
	TicketRef     string    `json:"ticketRef"`
	TicketTitle   string    `json:"ticketTitle"`
	CustomerName  string    `json:"customerName"`
	Technician    string    `json:"technician"`
	Status        string    `json:"status"`
	CodeExpired   bool      `json:"codeExpired"`
	CreatedAt     time.Time `json:"createdAt"`
	CodeExpiresAt time.Time `json:"codeExpiresAt"`
	// CodeValidForMs is the code's remaining life by the relay's clock, so
	// pages need not trust their own.
	CodeValidForMs int64     `json:"codeValidForMs"`
	EndedAt        time.Time `json:"endedAt,omitzero"`
	EndedBy        string    `json:"endedBy,omitempty"`
	EndReason      string    `json:"endReason,omitempty"`
}

func (c *console) sessionOf(s store.Session) sessionJSON {
	return sessionJSON{ID: s.ID, TicketID: s.TicketID, TicketRef: s.TicketRef, TicketTitle: s.TicketTitle,
		CustomerName: s.CustomerName, Technician: s.TechnicianName, Status: s.Status,
		CodeExpired: s.CodeExpired(c.Now()), CreatedAt: s.CreatedAt, CodeExpiresAt: s.CodeExpiresAt,
		CodeValidForMs: max(0, s.CodeExpiresAt.Sub(c.Now()).Milliseconds()),
		EndedAt:        s.EndedAt, EndedBy: s.EndedBy, EndReason: s.EndReason}
}

// startSession opens a remote session on a ticket and returns its code: the
// only time the code is ever shown, since the store keeps only its hash.
func (c *console) startSession(w http.ResponseWriter, r *http.Request) {
	ticketID, err := pathID(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	code, hash, err := c.freshCode(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	l, _ := auth.LoginFrom(r.Context())
	s, err := c.Store.CreateSession(r.Context(), ticketID, l.User.ID, hash, c.Now().Add(c.CodeTTL))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.log.Info("session created", "session", s.ID, "ticket", s.TicketRef, "user", l.User.ID)
	httpx.JSON(w, http.StatusCreated, struct {
		Session sessionJSON `json:"session"`
		Code    string      `json:"code"`
	}{c.sessionOf(s), sessioncode.Format(code)})
}

// freshCode draws a code no waiting session uses. With a billion codes and a
// handful live, the first draw almost always wins; the bound stops a broken
// random source from looping forever.
func (c *console) freshCode(ctx context.Context) (string, []byte, error) {
	for range 10 {
		code, err := sessioncode.New()
		if err != nil {
			return "", nil, err
		}
		hash := sessioncode.Hash(code)
		inUse, err := c.Store.CodeInUse(ctx, hash)
		if err != nil {
			return "", nil, err
		}
		if !inUse {
			return code, hash, nil
		}
	}
	return "", nil, errors.New("console: no free session code after 10 draws")
}

func (c *console) session(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	s, err := c.Store.Session(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, c.sessionOf(s))
}

type eventJSON struct {
	At     time.Time       `json:"at"`
	Kind   string          `json:"kind"`
	Actor  string          `json:"actor"`
	Detail json.RawMessage `json:"detail"`
}

func (c *console) events(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if _, err := c.Store.Session(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	evs, err := c.Store.Events(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	out := make([]eventJSON, 0, len(evs))
	for _, e := range evs {
		out = append(out, eventJSON{At: e.At, Kind: e.Kind, Actor: e.Actor, Detail: e.Detail})
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (c *console) socket(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	l, _ := auth.LoginFrom(r.Context())
	c.Socket(w, r, l.User, id)
}
