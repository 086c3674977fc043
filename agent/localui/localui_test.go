package localui_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/agent/localui"
)

const wait = 5 * time.Second

type env struct {
	t       *testing.T
	srv     *localui.Server
	actions chan localui.Action
	origin  string // http://127.0.0.1:PORT
	port    string
	token   string
	client  *http.Client
}

var initial = localui.State{Phase: localui.PhaseCode, Lang: "nl", Code: "123456789"}

// start runs a page server until the test ends, and checks that Run stops
// when its context is cancelled.
func start(t *testing.T) *env {
	t.Helper()
	return startWith(t, localui.Options{})
}

func startWith(t *testing.T, opts localui.Options) *env {
	t.Helper()
	actions := make(chan localui.Action, 1)
	srv, err := localui.New(slog.New(slog.DiscardHandler), actions, initial, opts)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != "127.0.0.1" {
		t.Fatalf("page served on %s, want loopback only", u.Host)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	client := &http.Client{Transport: &http.Transport{}, Timeout: wait}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil after cancel", err)
			}
		case <-time.After(wait):
			t.Error("Run did not return after its context was cancelled")
		}
		client.CloseIdleConnections()
	})
	return &env{t: t, srv: srv, actions: actions, origin: "http://" + u.Host, port: u.Port(),
		token: strings.Trim(u.Path, "/"), client: client}
}

type answer struct {
	status int
	header http.Header
	body   string
}

// do sends a request; host and origin override the Host and Origin headers
// when set.
func (e *env) do(method, path, host, origin, body string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.origin+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func TestPageIsServed(t *testing.T) {
	e := start(t)
	a := e.do("GET", "/"+e.token+"/", "", "", "")
	if a.status != 200 || !strings.Contains(a.body, "<title>Meekijk</title>") {
		t.Fatalf("page: %d %.200s", a.status, a.body)
	}
	if got := a.header.Get("Content-Security-Policy"); got != localui.CSP {
		t.Errorf("CSP = %q, want %q", got, localui.CSP)
	}
	if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("security headers missing: %v", a.header)
	}
	if a := e.do("GET", "/"+e.token+"/app.js", "", "", ""); a.status != 200 {
		t.Errorf("app.js: %d", a.status)
	}
	a = e.do("GET", "/"+e.token+"/i18n.json", "", "", "")
	var cat map[string]map[string]string
	if err := json.Unmarshal([]byte(a.body), &cat); err != nil || len(cat) == 0 {
		t.Fatalf("i18n.json: %d %v", a.status, err)
	}
	for k := range cat {
		if !strings.HasPrefix(k, "agent.") {
			t.Errorf("customer page catalog has key %q", k)
		}
	}
}

func TestGuardRefuses(t *testing.T) {
	e := start(t)
	// Same length, last character changed: only the comparison itself can
	// tell it apart.
	last := e.token[len(e.token)-1]
	flip := byte('A')
	if last == 'A' {
		flip = 'B'
	}
	wrongToken := e.token[:len(e.token)-1] + string(flip)
	page := "/" + e.token + "/"
	cases := []struct {
		name, path, host, origin string
		want                     int
	}{
		{"right token", page, "", "", 200},
		{"localhost by name", page, "localhost:" + e.port, "", 200},
		{"same origin", page, "", e.origin, 200},
		{"no token", "/", "", "", 403},
		{"asset without token", "/app.js", "", "", 403},
		{"token without slash", "/" + e.token, "", "", 403},
		{"wrong token of the same length", "/" + wrongToken + "/", "", "", 403},
		{"token in another case", "/" + strings.ToUpper(e.token) + "/", "", "", 403},
		{"foreign host (DNS rebinding)", page, "attacker.example:" + e.port, "", 403},
		{"loopback host on another port", page, "127.0.0.1:1", "", 403},
		{"host without port", page, "127.0.0.1", "", 403},
		{"foreign origin", page, "", "http://attacker.example", 403},
		{"null origin", page, "", "null", 403},
		{"origin on another port", page, "", "http://127.0.0.1:1", 403},
		{"events with foreign origin", page + "events", "", "http://attacker.example", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "token in another case" && strings.ToUpper(e.token) == e.token {
				t.Skip("token has no letters to change")
			}
			a := e.do("GET", tc.path, tc.host, tc.origin, "")
			if a.status != tc.want {
				t.Fatalf("status %d, want %d", a.status, tc.want)
			}
			if a.header.Get("Content-Security-Policy") != localui.CSP {
				t.Error("no CSP on the answer")
			}
			if tc.want == 403 && strings.Contains(a.body, "<html") {
				t.Error("a refused request got the page")
			}
		})
	}
}

func TestActions(t *testing.T) {
	e := start(t)
	path := "/" + e.token + "/action"
	cases := []struct {
		name, origin, body string
		want               int
		action             *localui.Action
	}{
		{"allow", e.origin, `{"kind":"allow"}`, 204, &localui.Action{Kind: "allow"}},
		{"code, trimmed", e.origin, `{"kind":"code","value":" 123 456 789 "}`, 204, &localui.Action{Kind: "code", Value: "123 456 789"}},
		{"deny", e.origin, `{"kind":"deny"}`, 204, &localui.Action{Kind: "deny"}},
		{"no origin", "", `{"kind":"allow"}`, 403, nil},
		{"foreign origin", "http://attacker.example", `{"kind":"allow"}`, 403, nil},
		{"unknown kind", e.origin, `{"kind":"share_everything"}`, 400, nil},
		{"empty kind", e.origin, `{}`, 400, nil},
		{"unknown field", e.origin, `{"kind":"allow","force":true}`, 400, nil},
		{"not json", e.origin, `kind=allow`, 400, nil},
		{"body over limit", e.origin, `{"kind":"code","value":"` + strings.Repeat("1", 40<<10) + `"}`, 413, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do("POST", path, "", tc.origin, tc.body)
			if a.status != tc.want {
				t.Fatalf("status %d %s, want %d", a.status, a.body, tc.want)
			}
			if tc.action == nil {
				select {
				case got := <-e.actions:
					t.Errorf("refused request delivered %+v", got)
				default:
				}
				return
			}
			select {
			case got := <-e.actions:
				if got != *tc.action {
					t.Errorf("action %+v, want %+v", got, *tc.action)
				}
			case <-time.After(wait):
				t.Fatal("no action delivered")
			}
		})
	}
	// Only a POST acts: a GET falls through to the (missing) file.
	if a := e.do("GET", path, "", e.origin, ""); a.status != http.StatusNotFound {
		t.Errorf("GET action: %d, want 404", a.status)
	}
	select {
	case got := <-e.actions:
		t.Errorf("GET delivered %+v", got)
	default:
	}
}

// sse reads the data lines of an event stream.
type sse struct {
	lines chan string
}

func (e *env) openEvents() (*sse, *http.Response) {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.origin+"/"+e.token+"/events", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	// No client timeout: the stream stays open; the server's shutdown ends it.
	resp, err := (&http.Client{Transport: e.client.Transport}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	s := &sse{lines: make(chan string, 16)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				s.lines <- d
			}
		}
	}()
	return s, resp
}

func (s *sse) next(t *testing.T) localui.State {
	t.Helper()
	select {
	case d, ok := <-s.lines:
		if !ok {
			t.Fatal("event stream ended")
		}
		var st localui.State
		if err := json.Unmarshal([]byte(d), &st); err != nil {
			t.Fatalf("data %q: %v", d, err)
		}
		return st
	case <-time.After(wait):
		t.Fatal("no event")
		return localui.State{}
	}
}

func TestEventsStreamState(t *testing.T) {
	e := start(t)
	s, resp := e.openEvents()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if got := s.next(t); !reflect.DeepEqual(got, initial) {
		t.Errorf("first event %+v, want the current state %+v", got, initial)
	}
	ask := localui.State{Phase: localui.PhaseAsk, Lang: "fr", Technician: "Tina Peeters", Company: "Acme",
		TicketRef: "2026-000001", TicketTitle: "Kassa"}
	e.srv.Publish(ask)
	if got := s.next(t); !reflect.DeepEqual(got, ask) {
		t.Errorf("published %+v, stream got %+v", ask, got)
	}
	// A page opened later starts from the newest state.
	late, _ := e.openEvents()
	if got := late.next(t); !reflect.DeepEqual(got, ask) {
		t.Errorf("late page got %+v, want %+v", got, ask)
	}
	// Bursts may skip states, but the newest one always arrives.
	for _, p := range []string{localui.PhaseSharing, localui.PhaseEnded} {
		e.srv.Publish(localui.State{Phase: p, Lang: "fr"})
	}
	for {
		if got := s.next(t); got.Phase == localui.PhaseEnded {
			break
		}
	}
}

func TestRunEndsOpenStreams(t *testing.T) {
	actions := make(chan localui.Action)
	srv, err := localui.New(slog.New(slog.DiscardHandler), actions, initial, localui.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL() + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(wait):
		t.Fatal("Run kept waiting for an open event stream")
	}
	// The stream was ended by the server, not left hanging.
	if _, err := io.ReadAll(br); err != nil {
		t.Errorf("stream ended with %v, want a clean end", err)
	}
}

func TestUploadKeepsTheFileForTheAgent(t *testing.T) {
	dir := t.TempDir()
	e := startWith(t, localui.Options{UploadDir: dir, MaxUpload: 1000})
	path := "/" + e.token + "/upload?name=" + url.QueryEscape("offerte é.pdf")
	if a := e.do("POST", path, "", "http://evil.example", "x"); a.status != http.StatusForbidden {
		t.Errorf("foreign origin: status %d", a.status)
	}
	if a := e.do("POST", path, "", e.origin, strings.Repeat("x", 1001)); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: status %d", a.status)
	}
	if a := e.do("POST", "/"+e.token+"/upload", "", e.origin, "x"); a.status != http.StatusBadRequest {
		t.Errorf("no name: status %d", a.status)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("refused uploads left %v", left)
	}
	if a := e.do("POST", path, "", e.origin, "%PDF-1.7"); a.status != http.StatusNoContent {
		t.Fatalf("upload: status %d %s", a.status, a.body)
	}
	act := <-e.actions
	if act.Kind != "sendfile" || act.Value != "offerte é.pdf" || filepath.Dir(act.Path) != dir {
		t.Fatalf("action %+v", act)
	}
	if b, err := os.ReadFile(act.Path); err != nil || string(b) != "%PDF-1.7" {
		t.Errorf("kept %q, %v", b, err)
	}
}
