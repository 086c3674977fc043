package httpx

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSameOrigin(t *testing.T) {
	cases := []struct {
		host, origin string
		tls          bool
		want         bool
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080", false, true},
		{"desk.example.be", "https://desk.example.be", true, true},
		// The scheme counts: a plain-HTTP page on the relay's name is
		// another origin than its HTTPS console, and the other way round.
		{"desk.example.be", "http://desk.example.be", true, false},
		{"desk.example.be", "https://desk.example.be", false, false},
		{"127.0.0.1:8080", "", false, false},
		{"127.0.0.1:8080", "null", false, false},
		{"127.0.0.1:8080", "http://127.0.0.1:8081", false, false},
		{"desk.example.be", "https://desk.example.be.evil.example", false, false},
		{"desk.example.be", "file://desk.example.be", false, false},
		{"desk.example.be", "http://%zz", false, false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/", nil)
		r.Host = c.host
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := SameOrigin(r); got != c.want {
			t.Errorf("SameOrigin(host %q, origin %q, tls %v) = %v", c.host, c.origin, c.tls, got)
		}
	}
}

// With a pinned public URL, a request for another Host is refused before
// any handler sees it (DNS rebinding), the Origin must be the public one
// (scheme included, though TLS ends at a proxy), and HSTS is sent for an
// https public URL.
func TestPinOrigin(t *testing.T) {
	public := &url.URL{Scheme: "https", Host: "desk.example.be"}
	var sameOrigin bool
	h := PinOrigin(public, []string{"/healthz"}, SecurityHeaders("default-src 'none'",
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sameOrigin = SameOrigin(r) })))
	cases := []struct {
		path, host, origin string
		status             int
		same               bool
	}{
		{"/api/v1/login", "desk.example.be", "https://desk.example.be", 200, true},
		{"/api/v1/login", "DESK.example.be", "https://desk.example.be", 200, true},
		{"/api/v1/login", "desk.example.be", "http://desk.example.be", 200, false},
		{"/api/v1/login", "evil.example", "http://evil.example", 421, false},
		{"/ws/agent", "evil.example:8080", "", 421, false},
		{"/ws/agent", "127.0.0.1:8080", "", 421, false},
		{"/healthz", "127.0.0.1:8080", "", 200, false},
	}
	for _, c := range cases {
		sameOrigin = false
		r := httptest.NewRequest("POST", c.path, nil)
		r.Host = c.host
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.status || sameOrigin != c.same {
			t.Errorf("%s Host %s Origin %q: %d same-origin %v, want %d %v", c.path, c.host, c.origin, w.Code, sameOrigin, c.status, c.same)
		}
		if w.Code == 200 && w.Header().Get("Strict-Transport-Security") == "" {
			t.Errorf("%s: no HSTS behind an https public URL", c.path)
		}
	}
}

func TestHSTSOnlyUnderTLS(t *testing.T) {
	h := SecurityHeaders("default-src 'none'", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, tlsOn := range []bool{false, true} {
		r := httptest.NewRequest("GET", "/", nil)
		if tlsOn {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("Strict-Transport-Security"); (got != "") != tlsOn {
			t.Errorf("TLS %v: Strict-Transport-Security %q", tlsOn, got)
		}
	}
}

func TestWriteErrorKeepsCausesInternal(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cases := []struct {
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{errors.New("disk full at /var/lib/secret"), 500, "internal", ""},
		{FieldError("title", "title is required"), 400, "invalid", ""},
		{&Problem{Status: 429, Code: "throttled", Message: "slow down", RetryAfter: 1500 * time.Millisecond}, 429, "throttled", "2"},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		WriteError(w, httptest.NewRequest("GET", "/", nil), log, c.err)
		var body map[string]any
		json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != c.status || body["error"] != c.code || w.Header().Get("Retry-After") != c.retryAfter {
			t.Errorf("%v: %d %v Retry-After %q", c.err, w.Code, body, w.Header().Get("Retry-After"))
		}
		if strings.Contains(w.Body.String(), "secret") {
			t.Errorf("internal cause leaked: %s", w.Body.String())
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	var v struct{ A string }
	cases := map[string]int{
		`{"A":"x"}`:       0,
		`{"A":"x","B":1}`: 400,
		`{"A":"x"} {}`:    400,
		`not json`:        400,
		`{"A":"` + strings.Repeat("x", 100) + `"}`: 413,
	}
	for body, want := range cases {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		err := DecodeJSON(httptest.NewRecorder(), r, &v, 64)
		var p *Problem
		switch {
		case want == 0 && err != nil:
			t.Errorf("%q: %v", body, err)
		case want != 0 && (!errors.As(err, &p) || p.Status != want):
			t.Errorf("%q: %v, want status %d", body, err, want)
		}
	}
}

func TestClientIP(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[::1]:5000"
	r.Header.Set("X-Forwarded-For", "1.2.3.4")
	if got := ClientIP(r); got != "::1" {
		t.Errorf("ClientIP = %q, want ::1 (X-Forwarded-For is not trusted)", got)
	}
}
