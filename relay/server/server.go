// Package server assembles the relay: the store, logins, the console, the
// signaling hub and the HTTP server, started and stopped in order.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/meekijk/meekijk/console"
	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/pricing"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/relay/hub"
	"github.com/meekijk/meekijk/relay/turnserver"
)

// Config is everything the relay is told at start.
type Config struct {
	// Addr is the listen address; port 0 picks a free one.
	Addr string
	// DataDir holds the SQLite database.
	DataDir string
	// Company is the desk's name, shown to customers in the agent.
	Company string
	// CodeTTL is how long a session code stays valid.
	CodeTTL time.Duration
	// TLSCert and TLSKey, when both set, make the relay serve HTTPS.
	TLSCert, TLSKey string
	// AssetsDir serves the console's files from disk (development).
	AssetsDir string
	// CheckpointInterval is how often the audit chain's head is appended
	// to the checkpoint file; 0 means every 10 minutes.
	CheckpointInterval time.Duration
	// TURN is the embedded TURN relay; off when it has no listener.
	TURN TURNConfig
	// Grace is how long a session keeps the customer's consent while its
	// agent is unreachable; 0 means hub.DefaultGrace.
	Grace   time.Duration
	Version string
	// Stdout receives the lines meant for the person who started the
	// relay: the console URL and, once, the first admin's password. They
	// are kept out of the log on purpose.
	Stdout io.Writer
}

// TURNConfig describes the embedded TURN relay (docs/deploy.md).
type TURNConfig struct {
	UDPAddr, TCPAddr string // listen addresses; both "" turns TURN off
	PublicIP         net.IP // the address customers and technicians reach
	RelayIP          net.IP // the host's address relay sockets bind to, behind a 1:1 NAT
	Allow            string // peer ranges allowed despite being private (CIDRs)
	// RelayOnly keeps media on the TURN relay: neither side's own
	// addresses are offered to the other.
	RelayOnly bool
}

// sessionTURNLifetime bounds how long a session's TURN credentials work: a
// relayed call ends when they expire, so they must outlast any session.
const sessionTURNLifetime = 12 * time.Hour

// Server is a configured relay, ready to Run.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store *store.Store
	hub   *hub.Hub
	http  *http.Server
	// firstAdminPassword is set when this start created the first admin.
	firstAdminPassword string
	routes             []console.Route
	turn               *turnserver.Server
}

// Routes lists every route the relay serves and the roles it needs.
func (s *Server) Routes() []console.Route { return s.routes }

// FirstAdminEmail is the login of the admin created at the first start.
const FirstAdminEmail = "admin"

// New opens the store and builds the relay.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = 10 * time.Minute
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, "meekijk.db"))
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, store: st}
	if err := s.bootstrap(ctx); err != nil {
		st.Close()
		return nil, err
	}
	// Sessions open when the last relay died (kill -9, a crash) cannot go
	// on as if nothing happened: their consent and media are gone.
	interrupted, err := st.InterruptOpen(store.WithActor(ctx, store.Actor{Name: "relay"}), "relay")
	if err != nil {
		st.Close()
		return nil, err
	}
	if len(interrupted) > 0 {
		log.Warn("sessions left open by the previous run are interrupted; their agents may resume them", "sessions", interrupted)
	}
	authn, err := auth.New(st, log.With("component", "auth"), auth.Config{SecureCookies: cfg.TLSCert != ""})
	if err != nil {
		st.Close()
		return nil, err
	}
	pricer := pricing.New(st, nil)
	hubCfg := hub.Config{Company: cfg.Company, Software: cfg.Version, Cost: pricer.CostNotice, Billable: pricer.BillableTime, Grace: cfg.Grace}
	if err := s.startTURN(&hubCfg); err != nil {
		st.Close()
		return nil, err
	}
	// The hub starts nothing until Run; from here on, a failure closes
	// the TURN listeners and the store.
	s.hub = hub.New(st, log.With("component", "hub"), hubCfg)
	consoleHandler, routes, err := console.New(console.Config{
		Store: st, Auth: authn, Socket: s.hub.ServeConsole, CodeTTL: cfg.CodeTTL, AssetsDir: cfg.AssetsDir,
		Recategorized: s.hub.Recategorized,
	}, log.With("component", "console"))
	if err != nil {
		return nil, errors.Join(err, s.closeTURN(), st.Close())
	}
	mux := http.NewServeMux()
	mux.Handle("/", consoleHandler)
	// Public on purpose: agents authenticate with their one-time code, and
	// a health check must work without a login.
	mux.HandleFunc("GET /ws/agent", s.hub.ServeAgent)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	s.routes = append(routes, console.Route{Pattern: "GET /ws/agent"}, console.Route{Pattern: "GET /healthz"})
	s.http = &http.Server{
		Handler: httpx.SecurityHeaders(console.CSP, mux),
		// Slow clients must not hold connections open forever; WebSockets
		// are exempt once upgraded (wsconn sets its own deadlines).
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// startTURN starts the embedded TURN relay when configured, and gives the
// hub per-session credentials for it. The secret is new at every start:
// credentials die with the relay, as its sessions do.
func (s *Server) startTURN(hubCfg *hub.Config) error {
	tc := s.cfg.TURN
	if tc.UDPAddr == "" && tc.TCPAddr == "" {
		if tc.RelayOnly {
			return errors.New("server: relay-only needs a TURN listener (-turn-udp or -turn-tcp)")
		}
		return nil
	}
	allow, err := turnserver.ParsePolicy(tc.Allow)
	if err != nil {
		return fmt.Errorf("server: TURN policy: %w", err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	s.turn, err = turnserver.New(turnserver.Config{Realm: "meekijk", UDPAddr: tc.UDPAddr, TCPAddr: tc.TCPAddr,
		PublicIP: tc.PublicIP, RelayIP: tc.RelayIP, Secret: secret, Allow: allow, Logger: s.log.With("component", "turn")})
	if err != nil {
		return fmt.Errorf("server: TURN: %w", err)
	}
	policy := ""
	if tc.RelayOnly {
		policy = "relay"
	}
	hubCfg.ICE = func(sessionID int64) ([]protocol.ICEServer, string) {
		return s.turn.ICEServers(sessionID, time.Now().Add(sessionTURNLifetime)), policy
	}
	udp, tcp := s.turn.Addrs()
	s.log.Info("TURN relay listening", "udp", udp, "tcp", tcp, "relay_only", tc.RelayOnly)
	return nil
}

// bootstrap creates the first admin with a random password on the very first
// start of a database.
func (s *Server) bootstrap(ctx context.Context) error {
	password := auth.NewPassword()
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	created, err := s.store.BootstrapAdmin(ctx, store.User{Email: FirstAdminEmail, Name: "Admin", PasswordHash: hash})
	if err != nil {
		return err
	}
	if created {
		s.firstAdminPassword = password
		s.log.Info("first admin created", "login", FirstAdminEmail)
	}
	return nil
}

// Run serves until ctx ends, then shuts down in reverse order of start:
// stop accepting, tell connected peers, close TURN and the store. Every
// way out, a failed listen or a failed serve included, unwinds the same.
func (s *Server) Run(ctx context.Context) (err error) {
	defer func() {
		err = errors.Join(err, s.closeTURN(), s.store.Close())
	}()
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen: %w", err)
	}
	scheme := "http"
	if s.cfg.TLSCert != "" {
		scheme = "https"
	}
	url := fmt.Sprintf("%s://%s/", scheme, ln.Addr())
	s.log.Info("relay listening", "url", url, "version", s.cfg.Version)
	fmt.Fprintf(s.cfg.Stdout, "Meekijk relay %s\nConsole: %s\n", s.cfg.Version, url)
	if s.firstAdminPassword != "" {
		fmt.Fprintf(s.cfg.Stdout, "First admin login: %s  password: %s\n(shown only this once; keep it safe)\n",
			FirstAdminEmail, s.firstAdminPassword)
		s.firstAdminPassword = ""
	}
	if s.cfg.CheckpointInterval <= 0 {
		s.cfg.CheckpointInterval = 10 * time.Minute
	}
	// The checkpoints and the hub's link watcher run until Run returns.
	bgCtx, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { s.checkpoints(bgCtx, s.cfg.CheckpointInterval) })
	background.Go(func() { s.hub.Run(bgCtx) })
	defer func() {
		stopBackground()
		background.Wait()
	}()
	serveErr := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			serveErr <- s.http.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			serveErr <- s.http.Serve(ln)
		}
	}()
	var errs []error
	served := false
	select {
	case err := <-serveErr:
		// Serve closed ln; the sessions still go down as at a stop.
		errs = append(errs, fmt.Errorf("server: serve: %w", err))
		served = true
	case <-ctx.Done():
	}
	s.log.Info("relay shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.http.Shutdown(shutCtx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	if err := s.hub.Shutdown(shutCtx); err != nil {
		errs = append(errs, err)
	}
	if !served {
		if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// closeTURN closes the TURN listeners, if any, once.
func (s *Server) closeTURN() error {
	if s.turn == nil {
		return nil
	}
	t := s.turn
	s.turn = nil
	if err := t.Close(); err != nil {
		return fmt.Errorf("turn: %w", err)
	}
	return nil
}
