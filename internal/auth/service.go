package auth

import (
	"context"
	"crypto/hmac"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/store"
)

// CookieName is the console's login cookie; under TLS it is sent as
// "__Host-" + CookieName (cookieName).
const CookieName = "meekijk_login"

// CSRFHeader carries the login's CSRF token on every state-changing request.
const CSRFHeader = "X-CSRF-Token"

// Store is what the service needs of the database.
type Store interface {
	UserByEmail(ctx context.Context, email string) (store.User, error)
	CreateLogin(ctx context.Context, tokenHash []byte, userID int64, csrfToken string, expires time.Time) error
	LoginByToken(ctx context.Context, tokenHash []byte) (store.Login, error)
	DeleteLogin(ctx context.Context, tokenHash []byte) error
	RecordAudit(ctx context.Context, event string, payload any) error
	Setting(ctx context.Context, key string) (string, bool, error)
	SetPassword(ctx context.Context, userID int64, hash string, mustChange bool, keep []byte, event string) error
	UserTOTP(ctx context.Context, userID int64) (store.TOTP, error)
	StartTOTP(ctx context.Context, userID int64, sealed []byte) error
	EnableTOTP(ctx context.Context, userID, step int64, recoveryHashes [][]byte) error
	UseTOTPStep(ctx context.Context, userID, step int64) (bool, error)
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, int, error)
}

// Config tunes the service.
type Config struct {
	// SecureCookies marks cookies Secure and names the login cookie
	// __Host-meekijk_login; set when the relay serves TLS.
	SecureCookies bool
	// LoginTTL is how long a login lasts.
	LoginTTL time.Duration
	// Key seals second-factor secrets and keys the CSRF tokens
	// (LoadKey; 32 bytes).
	Key []byte
	// Issuer names the desk in authenticator apps; "Meekijk" when empty.
	Issuer string
	Now    func() time.Time
}

// Service logs console users in and checks every request.
type Service struct {
	store Store
	log   *slog.Logger
	cfg   Config
	guard *guard
	keys  keys
	// dummyHash is checked when the account does not exist, so a login
	// takes as long for an unknown e-mail as for a wrong password.
	dummyHash string
}

// New returns a Service; Run must run for the aggregated audit rows of
// failed logins to be written.
func New(st Store, log *slog.Logger, cfg Config) (*Service, error) {
	if cfg.LoginTTL == 0 {
		cfg.LoginTTL = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "Meekijk"
	}
	k, err := deriveKeys(cfg.Key)
	if err != nil {
		return nil, err
	}
	dummy, err := HashPassword(NewToken())
	if err != nil {
		return nil, err
	}
	return &Service{
		store:     st,
		log:       log,
		cfg:       cfg,
		guard:     newGuard(log, st.RecordAudit, cfg.Now),
		keys:      k,
		dummyHash: dummy,
	}, nil
}

// Run writes the summaries of failed and throttled logins as their windows
// end, until ctx ends; then it writes the rest and returns.
func (s *Service) Run(ctx context.Context) { s.guard.run(ctx) }

// FlushAudit writes the summaries of every window now, finished or not:
// for shutdown without Run, and for tests.
func (s *Service) FlushAudit(ctx context.Context) { s.guard.flush(ctx, true) }

// ErrBadCredentials is the one answer for an unknown account or a wrong
// password, so logins do not reveal which accounts exist.
var ErrBadCredentials = &httpx.Problem{Status: http.StatusUnauthorized, Code: "bad_credentials", Message: "wrong login or password"}

var (
	errCodeRequired = &httpx.Problem{Status: http.StatusUnauthorized, Code: "code_required", Field: "code",
		Message: "enter the code from your authenticator app, or a recovery code"}
	errBadCode = &httpx.Problem{Status: http.StatusUnauthorized, Code: "bad_code", Field: "code",
		Message: "wrong or already used code"}
)

// Credentials is what a login form sends. Code is the second factor's code
// (or a recovery code); it is needed only for users who set one up.
type Credentials struct {
	Login, Password, Code string
}

// Login checks the credentials and, when they are right, sets the login
// cookie and returns the new login. A user with a second factor who sent
// no code gets errCodeRequired: the form then asks for it and sends all
// three again, so no half-logged-in state is kept anywhere.
func (s *Service) Login(w http.ResponseWriter, r *http.Request, c Credentials) (store.Login, error) {
	ip := httpx.ClientIP(r)
	ctx := store.WithActor(r.Context(), store.Actor{Name: "anonymous", IP: ip})
	account := strings.ToLower(strings.TrimSpace(c.Login))
	if err := s.guard.check(ctx, ip, account); err != nil {
		return store.Login{}, err
	}
	u, err := s.store.UserByEmail(ctx, account)
	hash := u.PasswordHash
	if errors.Is(err, store.ErrNotFound) {
		hash = s.dummyHash
	} else if err != nil {
		return store.Login{}, fmt.Errorf("login: %w", err)
	}
	ok, err := CheckPassword(hash, c.Password)
	if err != nil {
		return store.Login{}, fmt.Errorf("login: %w", err)
	}
	if !ok || u.ID == 0 || !u.Active {
		s.guard.fail(ctx, ip, account, "password")
		s.log.Info("login failed", "ip", ip)
		return store.Login{}, ErrBadCredentials
	}
	if u.TOTPEnabled {
		if strings.TrimSpace(c.Code) == "" {
			return store.Login{}, errCodeRequired
		}
		factor, ok, err := s.checkCode(ctx, u.ID, c.Code)
		if err != nil {
			return store.Login{}, fmt.Errorf("login: %w", err)
		}
		if !ok {
			s.guard.fail(ctx, ip, account, factor)
			s.log.Info("login code refused", "ip", ip, "user", u.ID)
			return store.Login{}, errBadCode
		}
	}
	s.guard.succeed(ip, account)
	token := NewToken()
	csrf := s.csrfFor(token)
	expires := s.cfg.Now().Add(s.cfg.LoginTTL)
	if err := s.store.CreateLogin(ctx, HashToken(token), u.ID, s.storedCSRF(csrf), expires); err != nil {
		return store.Login{}, fmt.Errorf("login: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
	s.log.Info("login", "user", u.ID, "ip", ip)
	return store.Login{User: u, CSRFToken: csrf, ExpiresAt: expires}, nil
}

// checkCode checks a second-factor code: six digits are a TOTP code, which
// is spent for its step; anything else is tried as a recovery code, which
// is spent for good. factor names which one was tried.
func (s *Service) checkCode(ctx context.Context, userID int64, code string) (factor string, ok bool, err error) {
	code = strings.TrimSpace(code)
	if len(code) == int(totpDigits) && strings.Trim(code, "0123456789") == "" {
		t, err := s.store.UserTOTP(ctx, userID)
		if err != nil {
			return "totp", false, err
		}
		secret, err := s.keys.openSecret(userID, t.Sealed)
		if err != nil {
			return "totp", false, err
		}
		step, err := matchTOTP(secret, code, s.cfg.Now())
		if err != nil || step == 0 {
			return "totp", false, err
		}
		ok, err := s.store.UseTOTPStep(ctx, userID, step)
		return "totp", ok, err
	}
	ok, remaining, err := s.store.UseRecoveryCode(ctx, userID, s.keys.hashRecovery(userID, code))
	if ok {
		s.log.Info("recovery code used", "user", userID, "remaining", remaining)
	}
	return "recovery", ok, err
}

// Logout ends the request's login and clears the cookie.
func (s *Service) Logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(s.cookieName()); err == nil {
		// Logout is served behind Require, which names the actor in the
		// context for the audit entry.
		if err := s.store.DeleteLogin(r.Context(), HashToken(c.Value)); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
	return nil
}

var errNoLogin = &httpx.Problem{Status: http.StatusUnauthorized, Code: "login_required", Message: "log in first"}

// Authenticate returns the login behind the request's cookie.
func (s *Service) Authenticate(r *http.Request) (store.Login, error) {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" {
		return store.Login{}, errNoLogin
	}
	l, err := s.store.LoginByToken(r.Context(), HashToken(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return store.Login{}, errNoLogin
	}
	if err != nil {
		return store.Login{}, err
	}
	csrf := s.csrfFor(c.Value)
	if !hmac.Equal([]byte(l.CSRFToken), []byte(s.storedCSRF(csrf))) {
		// A login row not made under this key: stored by an older relay
		// or written into the database by hand.
		return store.Login{}, errNoLogin
	}
	l.CSRFToken = csrf
	return l, nil
}

type loginKey struct{}

// LoginFrom returns the login Require stored in the request's context.
func LoginFrom(ctx context.Context) (store.Login, bool) {
	l, ok := ctx.Value(loginKey{}).(store.Login)
	return l, ok
}

// Require lets through requests of a logged-in user with one of the roles.
// Requests that may change state (anything but GET and HEAD) must also come
// from our own origin and carry the login's CSRF token: SameSite cookies
// alone do not cover every old browser or a same-site attacker. A user who
// must first change their password or set up a second factor is refused
// here (403 with the step to take); RequireAccount serves those steps.
func (s *Service) Require(next http.Handler, roles ...store.Role) http.Handler {
	return s.require(next, false, roles)
}

// RequireAccount is Require for the routes a user needs before anything
// else: who they are, logging out, changing their password and setting up
// their second factor.
func (s *Service) RequireAccount(next http.Handler, roles ...store.Role) http.Handler {
	return s.require(next, true, roles)
}

func (s *Service) require(next http.Handler, pendingOK bool, roles []store.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, err := s.Authenticate(r)
		if err != nil {
			httpx.WriteError(w, r, s.log, err)
			return
		}
		if !hasRole(l.User.Role, roles) {
			httpx.WriteError(w, r, s.log, httpx.Errorf(http.StatusForbidden, "forbidden", "your role may not do this"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := CheckCSRF(r, l.CSRFToken); err != nil {
				httpx.WriteError(w, r, s.log, err)
				return
			}
		}
		if !pendingOK {
			step, err := s.Pending(r.Context(), l.User)
			if err != nil {
				httpx.WriteError(w, r, s.log, err)
				return
			}
			if step != "" {
				httpx.WriteError(w, r, s.log, httpx.Errorf(http.StatusForbidden, step+"_required", "finish setting up your account first"))
				return
			}
		}
		ctx := context.WithValue(r.Context(), loginKey{}, l)
		ctx = store.WithActor(ctx, store.Actor{Name: store.ActorName("user", l.User.ID), IP: httpx.ClientIP(r)})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// CheckCSRF checks the Origin and the CSRF token of a state-changing request.
func CheckCSRF(r *http.Request, want string) error {
	if !httpx.SameOrigin(r) {
		return httpx.Errorf(http.StatusForbidden, "bad_origin", "request from a foreign origin")
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return httpx.Errorf(http.StatusForbidden, "bad_csrf", "missing or wrong CSRF token")
	}
	return nil
}

func hasRole(r store.Role, roles []store.Role) bool {
	for _, want := range roles {
		if r == want {
			return true
		}
	}
	return false
}

// CheckOtherPassword checks a password of another kind of account (the
// customer portal's people) under the console's login limits: the same
// per-address, per-network and per-account counts, under account, which
// the caller prefixes so it never names a console user. hash "" (no such
// account, or no password) is checked against a dummy hash, so neither
// the answer nor its time tells whether the account exists. It returns
// ErrBadCredentials for a wrong password, a 429 problem while throttled.
func (s *Service) CheckOtherPassword(r *http.Request, account, hash, pw string) error {
	ip := httpx.ClientIP(r)
	ctx := store.WithActor(r.Context(), store.Actor{Name: "anonymous", IP: ip})
	if err := s.guard.check(ctx, ip, account); err != nil {
		return err
	}
	known := hash != ""
	if !known {
		hash = s.dummyHash
	}
	ok, err := CheckPassword(hash, pw)
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	if !ok || !known {
		s.guard.fail(ctx, ip, account, "password")
		return ErrBadCredentials
	}
	s.guard.succeed(ip, account)
	return nil
}
