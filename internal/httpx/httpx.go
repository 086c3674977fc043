// Package httpx holds the HTTP conventions shared by the relay's API, the
// console and the agent's local page: JSON answers, one mapping from errors
// to statuses that keeps internal causes out of responses, security headers,
// and same-origin checks.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/wirejson"
)

// Problem is an error with a user-facing answer. Code is stable for clients
// to translate; Message is English for logs and API users.
type Problem struct {
	Status     int
	Code       string
	Message    string
	Field      string
	RetryAfter time.Duration
	Err        error // internal cause, logged, never sent
}

func (p *Problem) Error() string {
	if p.Err != nil {
		return fmt.Sprintf("%s: %v", p.Message, p.Err)
	}
	return p.Message
}

func (p *Problem) Unwrap() error { return p.Err }

// Errorf builds a Problem.
func Errorf(status int, code, format string, args ...any) *Problem {
	return &Problem{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError is a 400 naming the field at fault.
func FieldError(field, format string, args ...any) *Problem {
	return &Problem{Status: http.StatusBadRequest, Code: "invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}

// JSON writes v with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type errorBody struct {
	Error      string `json:"error"`
	Message    string `json:"message"`
	Field      string `json:"field,omitempty"`
	RetryAfter int    `json:"retryAfter,omitempty"`
}

// WriteError answers with err's Problem, or a bare 500 for anything else;
// the cause goes to the log only.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var p *Problem
	if !errors.As(err, &p) {
		p = &Problem{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error", Err: err}
	}
	if p.Status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	body := errorBody{Error: p.Code, Message: p.Message, Field: p.Field}
	if p.RetryAfter > 0 {
		secs := int((p.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		body.RetryAfter = secs
	}
	JSON(w, p.Status, body)
}

// DecodeJSON reads a JSON body of at most maxBytes into v exactly
// (internal/wirejson): keys match case-sensitively and once, and unknown
// keys are refused, so a typo in a client is an error instead of a silent
// default. Broken JSON is "bad_json"; JSON that does not fit is "invalid"
// with the field named as the body spells it ("defaultRates[0].centsPerHour").
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, maxBytes int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return Errorf(http.StatusRequestEntityTooLarge, "too_large", "request body over %d bytes", maxBytes)
		}
		return Errorf(http.StatusBadRequest, "bad_json", "reading the request body: %v", err)
	}
	err = wirejson.Unmarshal(body, v)
	var we *wirejson.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &we) && !we.Syntax:
		return FieldError(we.Path, "%s", we.Error())
	}
	return Errorf(http.StatusBadRequest, "bad_json", "request body is not JSON: %v", err)
}

// SecurityHeaders sets the headers every response of ours carries. Over
// HTTPS (served, or behind a proxy named by PinOrigin) that includes HSTS:
// once a browser has seen the relay over TLS, a network attacker cannot
// bring it back to plain HTTP to read the login cookie or the codes.
func SecurityHeaders(csp string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if scheme(r) == "https" {
			// A year, the usual figure; not includeSubDomains, which
			// would bind other hosts of the desk's domain too.
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

type publicKey struct{}

// PinOrigin serves only requests addressed to public (the relay's
// -public-url): a request with another Host is answered 421 Misdirected
// Request. This is what stops DNS rebinding: a page at evil.example whose
// name now resolves to the relay sends Host: evil.example and Origin:
// http://evil.example, which match each other but not the relay. The
// paths in open (a health check by address) are served whatever the Host.
// SameOrigin then compares Origin with public itself, scheme included,
// which also holds behind a proxy that terminates TLS.
func PinOrigin(public *url.URL, open []string, next http.Handler) http.Handler {
	origin := &url.URL{Scheme: public.Scheme, Host: public.Host}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Host, public.Host) && !slices.Contains(open, r.URL.Path) {
			http.Error(w, "this relay answers only at "+origin.String(), http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), publicKey{}, origin)))
	})
}

// scheme is the scheme the client used: the pinned public URL's, else
// https when the request came over TLS.
func scheme(r *http.Request) string {
	if pub, ok := r.Context().Value(publicKey{}).(*url.URL); ok {
		return pub.Scheme
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// SameOrigin reports whether the request's Origin header names the origin
// the request was sent to: scheme and host, so that a plain-HTTP page on
// the relay's name cannot act on its HTTPS console. Under PinOrigin the
// origin must be the public URL's. A request without Origin is not
// same-origin: every browser sends it on WebSocket upgrades and on fetch
// POSTs.
func SameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if pub, ok := r.Context().Value(publicKey{}).(*url.URL); ok {
		return u.Scheme == pub.Scheme && strings.EqualFold(u.Host, pub.Host)
	}
	return u.Scheme == scheme(r) && u.Host == r.Host
}

// ClientIP is the address the request came from. Meekijk does not trust
// X-Forwarded-For: a relay behind a proxy gets a setting for it when needed.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
