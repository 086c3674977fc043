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
	"github.com/meekijk/meekijk/internal/throttle"
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
}

// Config tunes the service.
type Config struct {
	// SecureCookies marks cookies Secure and names the login cookie
	// __Host-meekijk_login; set when the relay serves TLS.
	SecureCookies bool
	// Key is the relay's HMAC key (data directory, not the database) the
	// CSRF tokens are derived and stored under; nil: a random one.
	Key []byte
	// LoginTTL is how long a login lasts.
	LoginTTL time.Duration
	Now      func() time.Time
}

// Service logs console users in and checks every request.
type Service struct {
	store Store
	log   *slog.Logger
	cfg   Config
	// Failures are limited per address and per account, so neither one
	// address trying many accounts nor many addresses trying one account
	// gets far.
	byIP      *throttle.Limiter
	byAccount *throttle.Limiter
	// dummyHash is checked when the account does not exist, so a login
	// takes as long for an unknown e-mail as for a wrong password.
	dummyHash string
}

// New returns a Service.
func New(st Store, log *slog.Logger, cfg Config) (*Service, error) {
	if cfg.LoginTTL == 0 {
		cfg.LoginTTL = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Key == nil {
		cfg.Key = newKey()
	}
	dummy, err := HashPassword(NewToken())
	if err != nil {
		return nil, err
	}
	return &Service{
		store:     st,
		log:       log,
		cfg:       cfg,
		byIP:      throttle.New(10, 15*time.Minute, 100_000, cfg.Now),
		byAccount: throttle.New(5, 15*time.Minute, 100_000, cfg.Now),
		dummyHash: dummy,
	}, nil
}

// ErrBadCredentials is the one answer for an unknown account or a wrong
// password, so logins do not reveal which accounts exist.
var ErrBadCredentials = &httpx.Problem{Status: http.StatusUnauthorized, Code: "bad_credentials", Message: "wrong e-mail or password"}

// Login checks the credentials and, when they are right, sets the login
// cookie and returns the new login.
func (s *Service) Login(w http.ResponseWriter, r *http.Request, email, password string) (store.Login, error) {
	ip := httpx.ClientIP(r)
	ctx := store.WithActor(r.Context(), store.Actor{Name: "anonymous", IP: ip})
	account := strings.ToLower(strings.TrimSpace(email))
	for _, check := range []struct {
		l   *throttle.Limiter
		key string
	}{{s.byIP, ip}, {s.byAccount, account}} {
		if ok, wait := check.l.Check(check.key); !ok {
			s.log.Warn("login throttled", "ip", ip)
			return store.Login{}, &httpx.Problem{Status: http.StatusTooManyRequests, Code: "throttled",
				Message: "too many failed logins; try again later", RetryAfter: wait}
		}
	}
	u, err := s.store.UserByEmail(ctx, account)
	hash := u.PasswordHash
	if errors.Is(err, store.ErrNotFound) {
		hash = s.dummyHash
	} else if err != nil {
		return store.Login{}, fmt.Errorf("login: %w", err)
	}
	ok, err := CheckPassword(hash, password)
	if err != nil {
		return store.Login{}, fmt.Errorf("login: %w", err)
	}
	if !ok || u.ID == 0 || !u.Active {
		s.byIP.Fail(ip)
		s.byAccount.Fail(account)
		s.log.Info("login failed", "ip", ip)
		// The account typed is kept (the password never is): admins review
		// failed logins, and throttled ones are not recorded at all, so a
		// flood cannot grow the log faster than the throttle allows.
		if err := s.store.RecordAudit(ctx, "login_failed", map[string]any{"account": account}); err != nil {
			return store.Login{}, fmt.Errorf("login: %w", err)
		}
		return store.Login{}, ErrBadCredentials
	}
	s.byAccount.Reset(account)
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
// alone do not cover every old browser or a same-site attacker.
func (s *Service) Require(next http.Handler, roles ...store.Role) http.Handler {
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
