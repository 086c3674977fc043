// Package localui serves the agent's page for the customer: where they type
// the code, see who is asking, and choose Allow, Deny or Stop.
//
// The page is served on 127.0.0.1 at a random port under a random token
// (http://127.0.0.1:PORT/TOKEN/). Other programs on the machine, and web
// pages in the customer's browser, can reach 127.0.0.1 too: every request
// must carry the token, name our own host (against DNS rebinding) and, when
// it has an Origin, come from our own origin.
package localui

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
)

//go:embed assets
var embedded embed.FS

// CSP of the page: our own script and style only.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Phases of the customer's page.
const (
	PhaseCode       = "code"       // waiting for the customer to type a code
	PhaseConnecting = "connecting" // code sent, waiting for the relay
	PhaseAsk        = "ask"        // the consent question is on screen
	PhaseSharing    = "sharing"
	PhaseDeclined   = "declined"
	PhaseEnded      = "ended"
)

// State is what the page shows. The agent publishes a new one on every change.
type State struct {
	Phase       string `json:"phase"`
	Lang        string `json:"lang"`
	Error       string `json:"error,omitempty"` // a catalog key suffix: wrong_code, relay, ...
	RetryAfter  int    `json:"retryAfter,omitempty"`
	Code        string `json:"code,omitempty"` // pre-filled from the command line
	Technician  string `json:"technician,omitempty"`
	Company     string `json:"company,omitempty"`
	TicketRef   string `json:"ticketRef,omitempty"`
	TicketTitle string `json:"ticketTitle,omitempty"`
	EndedBy     string `json:"endedBy,omitempty"`
}

// Action is something the customer did on the page.
type Action struct {
	Kind  string // "code", "allow", "deny", "stop", "lang"
	Value string // the code or the language
}

// Server is the local page's HTTP server.
type Server struct {
	log     *slog.Logger
	token   string
	ln      net.Listener
	http    *http.Server
	actions chan<- Action
	catalog []byte

	mu    sync.Mutex // guards the following
	state State
	subs  map[chan State]struct{}
}

// New listens on a random loopback port. Actions from the page are sent on
// actions; the caller must keep receiving from it.
func New(log *slog.Logger, actions chan<- Action, initial State) (*Server, error) {
	catJSON, err := i18n.PageJSON("agent.")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("localui: listen: %w", err)
	}
	s := &Server{log: log, token: auth.NewToken(), ln: ln, actions: actions, catalog: catJSON,
		state: initial, subs: map[chan State]struct{}{}}
	assets, err := fs.Sub(embedded, "assets")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	prefix := "/" + s.token
	mux.Handle("GET "+prefix+"/", http.StripPrefix(prefix, http.FileServerFS(assets)))
	mux.HandleFunc("GET "+prefix+"/i18n.json", s.i18n)
	mux.HandleFunc("GET "+prefix+"/events", s.events)
	mux.HandleFunc("POST "+prefix+"/action", s.action)
	s.http = &http.Server{
		Handler:           httpx.SecurityHeaders(CSP, s.guard(mux)),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// URL is the page's address, token included: print it, open it, never log it.
func (s *Server) URL() string { return fmt.Sprintf("http://%s/%s/", s.ln.Addr(), s.token) }

// guard refuses requests without the token, for another host, or from a
// foreign origin. The token is compared in constant time before routing.
func (s *Server) guard(next http.Handler) http.Handler {
	port := s.ln.Addr().(*net.TCPAddr).Port
	hosts := map[string]bool{fmt.Sprintf("127.0.0.1:%d", port): true, fmt.Sprintf("localhost:%d", port): true}
	want := []byte("/" + s.token + "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := []byte(r.URL.Path)
		if len(p) < len(want) || subtle.ConstantTimeCompare(p[:len(want)], want) != 1 {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if !hosts[r.Host] {
			http.Error(w, "forbidden host", http.StatusForbidden)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !httpx.SameOrigin(r) {
			http.Error(w, "forbidden origin", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("localui: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.mu.Lock()
	for ch := range s.subs {
		close(ch)
		delete(s.subs, ch)
	}
	s.mu.Unlock()
	err := s.http.Shutdown(shutCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.http.Close()
	}
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return err
}

// Publish shows a new state on every open page.
func (s *Server) Publish(st State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = st
	for ch := range s.subs {
		// Only the newest state matters: replace an unread one.
		select {
		case <-ch:
		default:
		}
		ch <- st
	}
}

func (s *Server) i18n(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(s.catalog)
}

// events streams states to the page (Server-Sent Events).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch := make(chan State, 1)
	s.mu.Lock()
	ch <- s.state
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	for {
		select {
		case st, ok := <-ch:
			if !ok {
				return
			}
			b, _ := json.Marshal(st)
			if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
				return
			}
			flusher.Flush()
		case <-r.Context().Done():
			return
		}
	}
}

var validActions = map[string]bool{"code": true, "allow": true, "deny": true, "stop": true, "lang": true}

// action receives the customer's clicks. A page from elsewhere cannot post
// here: besides the token, a POST must carry our own Origin.
func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	if !httpx.SameOrigin(r) {
		http.Error(w, "forbidden origin", http.StatusForbidden)
		return
	}
	var in struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		httpx.WriteError(w, r, s.log, err)
		return
	}
	if !validActions[in.Kind] {
		httpx.WriteError(w, r, s.log, httpx.FieldError("kind", "unknown action %q", in.Kind))
		return
	}
	select {
	case s.actions <- Action{Kind: in.Kind, Value: strings.TrimSpace(in.Value)}:
		w.WriteHeader(http.StatusNoContent)
	case <-r.Context().Done():
	}
}
