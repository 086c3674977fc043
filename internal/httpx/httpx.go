// Package httpx holds the HTTP conventions shared by the relay's API, the
// console and the agent's local page: JSON answers, one mapping from errors
// to statuses that keeps internal causes out of responses, security headers,
// and same-origin checks.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
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

// SecurityHeaders sets the headers every response of ours carries.
func SecurityHeaders(csp string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// SameOrigin reports whether the request's Origin header names the host the
// request was sent to. A request without Origin is not same-origin: every
// browser sends it on WebSocket upgrades and on fetch POSTs.
func SameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return u.Host == r.Host && (u.Scheme == "http" || u.Scheme == "https")
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
