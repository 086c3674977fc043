// Package console serves the technicians' and admins' web application: the
// embedded plain-JavaScript pages, the JSON API under /api/v1/ they call
// (docs/api.md), and the customers' ticket status pages. Every API route
// needs a login and a role; state-changing routes also need the CSRF token.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/calendar"
	"github.com/meekijk/meekijk/internal/codeguard"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/mail"
	"github.com/meekijk/meekijk/internal/pricing"
	"github.com/meekijk/meekijk/internal/safetext"
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

// SocketFunc serves the console's WebSocket of one session.
type SocketFunc func(w http.ResponseWriter, r *http.Request, user store.User, sessionID int64)

// Config describes the console.
type Config struct {
	Store  *store.Store
	Auth   *auth.Service
	Socket SocketFunc
	// CodeTTL is how long a session code stays valid.
	CodeTTL time.Duration
	// SessionsPerHour caps the sessions one technician starts in an hour;
	// 0 means codeguard.SessionsPerTechnicianPerHour.
	SessionsPerHour int
	// Codes hashes session codes for the store; nil: a random key, so
	// codes work only while this process runs (tests).
	Codes *sessioncode.Hasher
	// AssetsDir, when set, serves the assets from disk instead of the
	// binary, so pages can be edited without rebuilding.
	AssetsDir string
	Now       func() time.Time
	// Recategorized tells the relay's hub that a technician set the work
	// category of a session's ticket, so covered work that became
	// billable is announced to the customer again; nil: nothing to tell.
	Recategorized func(ctx context.Context, sessionID int64) error
	// Ended tells the hub that the API ended a session (a code replaced by
	// a new one for its ticket), so a page open on it says so; nil:
	// nothing to tell.
	Ended func(sessionID int64, by, reason string)
	// Recordings serves session recordings for playback; nil: none.
	Recordings RecordingFiles
	// Mail is the relay's mail worker (nil: no mail): its key seals the
	// SMTP password, and waking it sends what was queued (mail.go).
	Mail *mail.Worker
	// Company is the desk's name, on the customer's download page.
	Company string
	// AgentsDir holds the agent files the download page (/hulp) offers;
	// empty: it offers none, and says so.
	AgentsDir string
	// AttachmentsDir keeps the files customers attach in the portal
	// (portal_files.go), created 0700 when missing; empty: files are
	// refused.
	AttachmentsDir string
}

type console struct {
	Config
	log       *slog.Logger
	catalog   []byte
	status    *statusPages
	downloads *downloads
	// portalLimits throttle the portal's sign-in link requests.
	portalLimits portalLimits
}

// Route is one registered route and who may use it, so a test can check
// that every route is either public on purpose or protected.
type Route struct {
	Pattern string
	Roles   []store.Role // nil: public
}

// New returns the console's handler and the list of its routes.
func New(cfg Config, log *slog.Logger) (http.Handler, []Route, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionsPerHour <= 0 {
		cfg.SessionsPerHour = codeguard.SessionsPerTechnicianPerHour
	}
	if cfg.Codes == nil {
		var err error
		if cfg.Codes, err = sessioncode.RandomHasher(); err != nil {
			return nil, nil, err
		}
	}
	catJSON, err := i18n.PageJSON("console.", "ticket.", "reason.")
	if err != nil {
		return nil, nil, err
	}
	var assets fs.FS
	if cfg.AssetsDir != "" {
		assets = os.DirFS(cfg.AssetsDir)
	} else if assets, err = fs.Sub(embedded, "assets"); err != nil {
		return nil, nil, err
	}
	status, err := newStatusPages()
	if err != nil {
		return nil, nil, err
	}
	if cfg.AttachmentsDir != "" {
		if err := os.MkdirAll(cfg.AttachmentsDir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("console: attachments directory: %w", err)
		}
	}
	dl, err := newDownloads(cfg.AgentsDir)
	if err != nil {
		return nil, nil, err
	}
	c := &console{Config: cfg, log: log, catalog: catJSON, status: status, downloads: dl, portalLimits: newPortalLimits(cfg.Now)}

	mux := http.NewServeMux()
	var routes []Route
	public := func(pattern string, h http.Handler) {
		mux.Handle(pattern, h)
		routes = append(routes, Route{Pattern: pattern})
	}
	staff := []store.Role{store.RoleAdmin, store.RoleTechnician}
	admin := []store.Role{store.RoleAdmin}
	protect := func(pattern string, h apiFunc, roles []store.Role) {
		mux.Handle(pattern, cfg.Auth.Require(c.handle(h), roles...))
		routes = append(routes, Route{Pattern: pattern, Roles: roles})
	}
	// account routes stay open to a user who must first change their
	// password or set up a second factor (auth.Service.Pending).
	account := func(pattern string, h apiFunc) {
		mux.Handle(pattern, cfg.Auth.RequireAccount(c.handle(h), staff...))
		routes = append(routes, Route{Pattern: pattern, Roles: staff})
	}

	public("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	public("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets, "index.html")
	}))
	public("GET /i18n.json", http.HandlerFunc(c.i18n))
	public("POST /api/v1/login", c.handle(c.login))
	// The customer's status page: no login, the link's secret is the key.
	public("GET /status/{ref}/{secret}", c.handle(c.statusPage))
	// The customer's download page and its files: no login, nothing secret.
	public("GET /hulp", c.handle(c.downloadPage))
	public("GET /hulp/{file}", c.handle(c.downloadFile))

	account("POST /api/v1/logout", c.logout)
	account("GET /api/v1/me", c.me)
	account("POST /api/v1/account/password", c.changePassword)
	account("POST /api/v1/account/totp", c.beginTOTP)
	account("POST /api/v1/account/totp/confirm", c.confirmTOTP)

	protect("GET /api/v1/tickets", c.listTickets, staff)
	protect("POST /api/v1/tickets", c.createTicket, staff)
	protect("GET /api/v1/tickets/{id}", c.ticket, staff)
	protect("PATCH /api/v1/tickets/{id}", c.updateTicket, staff)
	protect("POST /api/v1/tickets/{id}/notes", c.addNote, staff)
	protect("POST /api/v1/tickets/{id}/sessions", c.startSession, staff)
	protect("GET /api/v1/sessions/{id}", c.session, staff)
	protect("GET /api/v1/sessions/{id}/events", c.events, staff)
	protect("GET /ws/console/{id}", c.socket, staff)

	protect("GET /api/v1/customers", c.listCustomers, staff)
	protect("POST /api/v1/customers", c.createCustomer, admin)
	protect("GET /api/v1/customers/{id}", c.customer, staff)
	protect("PUT /api/v1/customers/{id}", c.updateCustomer, admin)
	protect("POST /api/v1/customers/{id}/sites", c.createSite, admin)
	protect("POST /api/v1/customers/{id}/contacts", c.createContact, admin)
	protect("PUT /api/v1/contacts/{id}", c.updateContact, admin)
	protect("POST /api/v1/customers/{id}/contracts", c.createContract, admin)
	protect("POST /api/v1/contracts/{id}/status", c.setContractStatus, admin)
	protect("POST /api/v1/contracts/{id}/rates", c.addContractRate, admin)
	protect("PUT /api/v1/contracts/{id}/coverage/{category}", c.setCoverage, admin)
	protect("GET /api/v1/categories", c.listCategories, staff)
	protect("PUT /api/v1/categories/{id}", c.updateCategory, admin)
	protect("GET /api/v1/rates/default", c.defaultRates, admin)
	protect("POST /api/v1/quote", c.quote, staff)
	protect("GET /api/v1/billing/statement", c.statement, admin)
	protect("GET /api/v1/billing/export.csv", c.exportCSV, admin)
	protect("GET /api/v1/billing/chart.svg", c.chart, admin)
	protect("GET /api/v1/sessions/{id}/billing", c.sessionBilling, staff)
	protect("PUT /api/v1/sessions/{id}/category", c.setSessionCategory, staff)
	protect("POST /api/v1/rates/default", c.addDefaultRate, admin)

	protect("GET /api/v1/calendar", c.getCalendar, staff)
	protect("PUT /api/v1/calendar", c.putCalendar, admin)
	protect("GET /api/v1/settings/consent", c.getConsentTimers, admin)
	protect("PUT /api/v1/settings/consent", c.putConsentTimers, admin)
	protect("GET /api/v1/settings/billing", c.getBillingRules, admin)
	protect("PUT /api/v1/settings/billing", c.putBillingRules, admin)
	protect("GET /api/v1/audit/status", c.auditStatus, admin)
	protect("GET /api/v1/audit/logins", c.auditLogins, admin)
	protect("GET /api/v1/audit/sessions", c.reviewSessions, admin)
	protect("GET /api/v1/audit/sessions/{id}", c.sessionTimeline, admin)
	protect("GET /api/v1/audit/sessions/{id}/evidence", c.evidencePack, admin)
	protect("GET /api/v1/users", c.listUsers, staff)
	protect("POST /api/v1/users", c.createUser, admin)
	protect("PUT /api/v1/users/{id}", c.updateUser, admin)
	protect("POST /api/v1/users/{id}/password-reset", c.resetPassword, admin)
	protect("POST /api/v1/users/{id}/totp-reset", c.resetTOTP, admin)
	protect("GET /api/v1/settings/security", c.getSecurity, admin)
	protect("PUT /api/v1/settings/security", c.putSecurity, admin)
	c.businessRoutes(public, protect, staff, admin) // business.go: prepaid hours, invoices, e-mail
	// The customer portal's page (customerpages.go).
	if err := portalPages(public, assets); err != nil {
		return nil, nil, err
	}
	c.recordingRoutes(protect, staff, admin) // recording.go: playback and the desk's recording rules

	c.portalRoutes(public, protect, staff, admin) // portal*.go: the customer portal
	return mux, routes, nil
}

// apiFunc is a handler that returns its failure instead of answering it.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// handle answers an apiFunc's error through fail: one place maps every
// failure, and no handler can forget to stop after answering one.
func (c *console) handle(h apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			c.fail(w, r, err)
		}
	}
}

// fail answers err, mapping store and validation errors to what a client
// can act on: 404 for unknown ids, 400 or 409 naming the field at fault.
func (c *console) fail(w http.ResponseWriter, r *http.Request, err error) {
	var fe *store.FieldError
	var ce *calendar.FieldError
	var le *store.LimitError
	switch {
	case errors.As(err, &le):
		err = &httpx.Problem{Status: http.StatusTooManyRequests, Code: "too_many_" + le.Limit,
			Message: le.Error(), RetryAfter: le.Until.Sub(c.Now())}
	case errors.As(err, &fe) && errors.Is(err, store.ErrConflict):
		err = &httpx.Problem{Status: http.StatusConflict, Code: "conflict", Field: fe.Field, Message: fe.Err.Error()}
	case errors.As(err, &fe):
		err = httpx.FieldError(fe.Field, "%s", fe.Err.Error())
	case errors.As(err, &ce):
		err = httpx.FieldError("calendar."+ce.Field, "%s", ce.Error())
	case errors.Is(err, store.ErrNotFound):
		err = httpx.Errorf(http.StatusNotFound, "not_found", "not found")
	}
	httpx.WriteError(w, r, c.log, err)
}

func (c *console) i18n(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(c.catalog)
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, httpx.Errorf(http.StatusNotFound, "not_found", "not found")
	}
	return id, nil
}

// answerSaved ends a create or update handler: its store error, or the
// saved row as the client sees it (view) with status.
func answerSaved[T, V any](w http.ResponseWriter, status int, saved T, err error, view func(T) V) error {
	if err != nil {
		return err
	}
	httpx.JSON(w, status, view(saved))
	return nil
}

func queryID(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, httpx.FieldError(name, "%s must be a positive number", name)
	}
	return id, nil
}

// text validates a text field: trimmed, at most max characters, required
// unless optional. A control character is refused; format characters
// (bidi overrides, zero-width characters) are dropped by safetext, so no
// title or name staff type reaches a customer's consent question or status
// page able to read as something else.
func text(field, v string, max int, optional bool) (string, error) {
	refused := strings.ContainsFunc(v, func(r rune) bool { return r < ' ' && r != '\n' && r != '\t' })
	v = strings.TrimSpace(safetext.Lines(v))
	switch {
	case v == "" && !optional:
		return "", httpx.FieldError(field, "%s is required", field)
	case utf8.RuneCountInString(v) > max:
		return "", httpx.FieldError(field, "%s is longer than %d characters", field, max)
	case refused:
		return "", httpx.FieldError(field, "%s contains control characters", field)
	}
	return v, nil
}

// oneOf validates a word from a fixed list.
func oneOf(field, v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return httpx.FieldError(field, "%s must be one of %s", field, strings.Join(allowed, ", "))
}

// date validates a YYYY-MM-DD date.
func date(field, v string, optional bool) (string, error) {
	if v == "" && optional {
		return "", nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return "", httpx.FieldError(field, "%s must be a date as YYYY-MM-DD", field)
	}
	return v, nil
}

// firstErr returns the first non-nil error: validation stops at the first
// field at fault, and the answer names it.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func login(r *http.Request) store.Login {
	l, _ := auth.LoginFrom(r.Context())
	return l
}

// calendarOf returns the desk's support calendar.
func (c *console) calendarOf(ctx context.Context) (calendar.Calendar, error) {
	return pricing.LoadCalendar(ctx, c.Store)
}
