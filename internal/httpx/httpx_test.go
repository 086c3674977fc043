package httpx

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSameOrigin(t *testing.T) {
	cases := []struct {
		host, origin string
		want         bool
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"desk.example.be", "https://desk.example.be", true},
		{"127.0.0.1:8080", "", false},
		{"127.0.0.1:8080", "null", false},
		{"127.0.0.1:8080", "http://127.0.0.1:8081", false},
		{"desk.example.be", "https://desk.example.be.evil.example", false},
		{"desk.example.be", "file://desk.example.be", false},
		{"desk.example.be", "http://%zz", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/", nil)
		r.Host = c.host
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := SameOrigin(r); got != c.want {
			t.Errorf("SameOrigin(host %q, origin %q) = %v", c.host, c.origin, got)
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
