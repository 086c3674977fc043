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
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/protocol"
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
	// Level is the consent level granted: "", view, control or
	// data_intervention.
	Level protocol.Level `json:"level,omitempty"`
	// Prompt is the question on screen, if any; while one is shown the
	// agent ignores the technician's input.
	Prompt  *Prompt  `json:"prompt,omitempty"`
	Screens []Screen `json:"screens,omitempty"`
	// Screen is the index of the shared (or to be shared) screen.
	Screen int `json:"screen"`
	// ScreenGone is set while the shared screen is no longer connected
	// (a monitor unplugged): the customer picks another one.
	ScreenGone bool       `json:"screenGone,omitempty"`
	Chat       []ChatLine `json:"chat,omitempty"`
	Transfers  []Transfer `json:"transfers,omitempty"`
	// MaxFileBytes is the largest file the customer may send.
	MaxFileBytes int64 `json:"maxFileBytes,omitempty"`
	// Link is "" while the relay is reachable, "reconnecting" while it is
	// not (no input reaches the computer), "lost" once sharing stopped
	// for it.
	Link string `json:"link,omitempty"`
	// Recording is set while the session is recorded.
	Recording bool `json:"recording,omitempty"`
	// Clipboard says what the technician last did with the customer's
	// clipboard ("read" or "written") and when (Unix ms), so the page can
	// tell them.
	Clipboard   string `json:"clipboard,omitempty"`
	ClipboardAt int64  `json:"clipboardAt,omitempty"`
	ClipChars   int    `json:"clipChars,omitempty"`
	// SAS is the verification code of the connection the screen travels
	// on (internal/sas), once its first frame went out; SASConfirmed is
	// set when the technician confirmed the customer read the same one.
	SAS          string `json:"sas,omitempty"`
	SASConfirmed bool   `json:"sasConfirmed,omitempty"`
}

// Prompt kinds.
const (
	PromptConsent   = "consent"   // a consent level: view, control, data intervention
	PromptReconfirm = "reconfirm" // keep sharing?
	PromptScreen    = "screen"    // the technician asks to see another screen
	PromptFile      = "file"      // the technician offers a file
	// PromptKeep asks whether the work may go on at the level in force:
	// it became billable, or overran its approved estimate (Prompt.Keep).
	PromptKeep = "keep"
	// PromptRecording asks whether the session may be recorded.
	PromptRecording = "recording"
)

// Prompt is one question to the customer. ID changes with every prompt, so
// a click on a question that is no longer shown answers nothing.
type Prompt struct {
	ID    int64          `json:"id"`
	Kind  string         `json:"kind"`
	Level protocol.Level `json:"level,omitempty"`
	// Lines, Statements and Acceptance are the question's text, worded by
	// internal/consent (consent prompts) or the agent.
	Lines      []string `json:"lines"`
	Statements []string `json:"statements,omitempty"`
	Acceptance string   `json:"acceptance,omitempty"`
	// Estimate is the statement approving the technician's estimate: the
	// customer ticks it before Yes is enabled.
	Estimate string `json:"estimate,omitempty"`
	// Keep is why a PromptKeep is asked: "renotice" or "overrun".
	Keep string `json:"keep,omitempty"`
	// DeadlineMs is when an unanswered prompt expires (Unix ms), or 0.
	DeadlineMs int64 `json:"deadlineMs,omitempty"`
	// Folders are where an offered file may be saved (PromptFile).
	Folders []string `json:"folders,omitempty"`
}

// Screen is one of the customer's screens.
type Screen struct {
	Index  int    `json:"index"`
	Name   string `json:"name"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// ChatLine is a chat message as the relay stamped it.
type ChatLine struct {
	From string `json:"from"`
	Text string `json:"text"`
	At   int64  `json:"at"`
}

// Transfer is a file on its way, either direction.
type Transfer struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Direction string `json:"direction"` // protocol.FileToCustomer or FileFromCustomer
	Size      int64  `json:"size"`
	Bytes     int64  `json:"bytes"`
	// State: waiting, active, done, failed, declined.
	State string `json:"state"`
	// Path is where a received file was saved.
	Path string `json:"path,omitempty"`
}

// Action is something the customer did on the page.
type Action struct {
	// Kind is one of validActions.
	Kind string
	// Value is the code, the language, the chat text, the screen index,
	// or a prompt answer (JSON: see Answer).
	Value string
	// Path is the uploaded file (Kind "sendfile"); the receiver of the
	// action owns it and removes it.
	Path string
}

// Answer is the page's answer to a prompt, the Value of "yes" and "no".
type Answer struct {
	ID int64 `json:"id"`
	// Confirmed is the customer's answer to each statement, in order.
	Confirmed []bool `json:"confirmed,omitempty"`
	// EstimateApproved: the customer ticked the estimate's statement.
	EstimateApproved bool `json:"estimateApproved,omitempty"`
	// Name is what the customer typed to sign an acceptance.
	Name string `json:"name,omitempty"`
	// Folder is the index in Prompt.Folders to save a file in.
	Folder int `json:"folder,omitempty"`
}

// Options configures the page server.
type Options struct {
	// UploadDir holds files the customer sends, until they are sent.
	UploadDir string
	// MaxUpload is the largest file the customer may send, in bytes.
	MaxUpload int64
}

// Server is the local page's HTTP server.
type Server struct {
	log     *slog.Logger
	token   string
	ln      net.Listener
	http    *http.Server
	actions chan<- Action
	catalog []byte
	opts    Options

	mu    sync.Mutex // guards the following
	state State
	subs  map[chan State]struct{}
}

// New listens on a random loopback port. Actions from the page are sent on
// actions; the caller must keep receiving from it.
func New(log *slog.Logger, actions chan<- Action, initial State, opts Options) (*Server, error) {
	catJSON, err := i18n.PageJSON("agent.")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("localui: listen: %w", err)
	}
	s := &Server{log: log, token: auth.NewToken(), ln: ln, actions: actions, catalog: catJSON, opts: opts,
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
	mux.HandleFunc("POST "+prefix+"/upload", s.upload)
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

// The customer's actions on the page (Action.Kind), the words app.js posts.
const (
	ActionCode             = "code"
	ActionAllow            = "allow" // the view question
	ActionDeny             = "deny"
	ActionStop             = "stop"
	ActionLang             = "lang"
	ActionBrowserLang      = "browser_lang" // the browser's language, until the desk's is known
	ActionYes              = "yes"          // answers to the prompt on screen
	ActionNo               = "no"
	ActionStopControl      = "stop_control" // stepping down
	ActionStopIntervention = "stop_intervention"
	ActionScreen           = "screen"
	ActionChat             = "chat"
	// ActionSASMismatch: the technician reads another verification code.
	ActionSASMismatch = "sas_mismatch"
	// ActionSendFile comes from the upload route, never from the action
	// route.
	ActionSendFile = "sendfile"
)

var validActions = map[string]bool{
	ActionCode: true, ActionAllow: true, ActionDeny: true, ActionStop: true, ActionLang: true,
	ActionBrowserLang: true, ActionYes: true, ActionNo: true, ActionStopControl: true, ActionStopIntervention: true,
	ActionScreen: true, ActionChat: true, ActionSASMismatch: true,
}

// maxActionBytes bounds an action's body: a chat line of 2000 characters
// is at most 8 KB of UTF-8, more once JSON-escaped.
const maxActionBytes = 32 << 10

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
	if err := httpx.DecodeJSON(w, r, &in, maxActionBytes); err != nil {
		httpx.WriteError(w, r, s.log, err)
		return
	}
	if !validActions[in.Kind] {
		httpx.WriteError(w, r, s.log, httpx.FieldError("kind", "unknown action %q", in.Kind))
		return
	}
	s.send(w, r, Action{Kind: in.Kind, Value: strings.TrimSpace(in.Value)})
}

// send hands an action to the agent, unless the page went away first.
func (s *Server) send(w http.ResponseWriter, r *http.Request, act Action) bool {
	select {
	case s.actions <- act:
		w.WriteHeader(http.StatusNoContent)
		return true
	case <-r.Context().Done():
		return false
	}
}

// upload receives a file the customer chose to send to the technician: the
// raw bytes as the body, the name in the query. The file is kept in
// UploadDir until the agent has sent it. A body over MaxUpload is refused
// and nothing of it is kept.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if !httpx.SameOrigin(r) {
		http.Error(w, "forbidden origin", http.StatusForbidden)
		return
	}
	name := r.URL.Query().Get("name")
	if name == "" || len(name) > 1024 || s.opts.UploadDir == "" {
		http.Error(w, "a file name is required", http.StatusBadRequest)
		return
	}
	if r.ContentLength > s.opts.MaxUpload {
		http.Error(w, "file too large", http.StatusRequestEntityTooLarge)
		return
	}
	f, err := os.CreateTemp(s.opts.UploadDir, "upload-*")
	if err != nil {
		s.log.Error("keep uploaded file", "err", err)
		http.Error(w, "cannot keep the file", http.StatusInternalServerError)
		return
	}
	n, err := io.Copy(f, http.MaxBytesReader(w, r.Body, s.opts.MaxUpload))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "file too large", http.StatusRequestEntityTooLarge)
			return
		}
		s.log.Info("upload failed", "err", err, "bytes", n)
		http.Error(w, "upload failed", http.StatusBadRequest)
		return
	}
	if !s.send(w, r, Action{Kind: ActionSendFile, Value: name, Path: f.Name()}) {
		_ = os.Remove(f.Name())
	}
}
