// Package server assembles the relay: the store, logins, the console, the
// signaling hub and the HTTP server, started and stopped in order.
package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/meekijk/meekijk/console"
	"github.com/meekijk/meekijk/internal/audit"
	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/mail"
	"github.com/meekijk/meekijk/internal/pricing"
	"github.com/meekijk/meekijk/internal/privfile"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/safetext"
	"github.com/meekijk/meekijk/internal/sessioncode"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/relay/hub"
	"github.com/meekijk/meekijk/relay/turnserver"
)

// Config is everything the relay is told at start.
type Config struct {
	// Addr is the listen address; port 0 picks a free one.
	Addr string
	// DataDir holds the SQLite database and the key files (which every
	// relay sharing a PostgreSQL database must share too).
	DataDir string
	// DB, when set, is the postgres:// URL of the store (-db); "": the
	// SQLite database in DataDir.
	DB string
	// Company is the desk's name, shown to customers in the agent.
	Company string
	// CodeTTL is how long a session code stays valid.
	CodeTTL time.Duration
	// TLSCert and TLSKey, when both set, make the relay serve HTTPS.
	TLSCert, TLSKey string
	// PublicURL is the scheme and host technicians and agents use to
	// reach the relay (-public-url); when set, requests for any other
	// Host are refused and Origin must match it exactly (DNS rebinding,
	// a TLS-terminating proxy). nil: the request's own Host and scheme.
	PublicURL *url.URL
	// AssetsDir serves the console's files from disk (development).
	AssetsDir string
	// AgentsDir holds the agent files the customer's download page offers.
	AgentsDir string
	// CheckpointInterval is how often the audit chain's head is sealed
	// (also every 100 entries and at shutdown); 0 means every minute.
	CheckpointInterval time.Duration
	// AuditSyslog, "udp://HOST:PORT" or "tcp://HOST:PORT", also sends each
	// checkpoint to syslog (RFC 5424); "" sends none.
	AuditSyslog string
	// TURN is the embedded TURN relay; off when it has no listener.
	TURN TURNConfig
	// Grace is how long a session keeps the customer's consent while its
	// agent is unreachable; 0 means hub.DefaultGrace.
	Grace time.Duration
	// MaxAgents caps the agent connections open at once; 0, or more than
	// the descriptor limit allows, means what that limit allows
	// (agentCap). MaxAgentsPerIP caps them per address; 0 means
	// DefaultMaxAgentsPerIP.
	MaxAgents, MaxAgentsPerIP int
	// SessionsPerHour caps the sessions one technician starts in an hour;
	// 0 means codeguard.SessionsPerTechnicianPerHour. Only load tests
	// raise it: live codes stay capped whatever it is.
	SessionsPerHour int
	// MetricsAddr, when set, serves /metrics (Prometheus) on its own
	// listener, e.g. 127.0.0.1:9090 (metrics.go says why not beside the
	// console).
	MetricsAddr string
	// Drain is how long the relay goes on serving its connected peers,
	// /readyz answering 503 and new agents turned away, after it is told
	// to stop and before it ends the sessions: behind a load balancer,
	// long enough for its health check to notice (docs/deploy.md). 0 stops
	// at once, as a single relay should.
	Drain   time.Duration
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
	auth               *auth.Service
	mail               *mail.Worker // sends the mail queue while Run runs
	checkpointer       *checkpointer
	newAuditKey        bool // created this start: Run prints its public half
}

// Routes lists every route the relay serves and the roles it needs.
func (s *Server) Routes() []console.Route { return s.routes }

// ParsePublicURL checks a -public-url: http or https, a host, nothing after
// it (the console lives at the root).
func ParsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("-public-url %q: want the relay's scheme and host, such as https://hulp.example.be", s)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// KeyFile, in the data directory, holds the HMAC key session codes are
// stored under. It is kept out of the database on purpose: a copy of the
// database alone reveals no code (docs/security.md). CSRF tokens are keyed
// under auth.KeyFile.
const KeyFile = "hmac.key"

// FirstAdminEmail is the login of the admin created at the first start.
const FirstAdminEmail = "admin"

// DefaultCentsPerHour is the desk's hourly rate set at the first start
// (docs/billing.md), so billable work can be priced before an admin has
// set the desk's own rate on the rates page.
const DefaultCentsPerHour = 8500

// New opens the store and builds the relay.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = 10 * time.Minute
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	// Shown to every customer in the agent, like the names staff type.
	cfg.Company = safetext.Line(cfg.Company)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	key, created, err := privfile.Key(filepath.Join(cfg.DataDir, KeyFile), sessioncode.KeySize)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if created {
		log.Info("new HMAC key for session codes; back it up apart from the database", "file", KeyFile)
	}
	codes, err := sessioncode.NewHasher(key)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	where, err := StoreLocation(cfg.DataDir, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	st, err := store.Open(ctx, where)
	if err != nil {
		return nil, err
	}
	log.Info("store open", "store", st.String())
	s := &Server{cfg: cfg, log: log, store: st}
	if err := s.bootstrap(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if s.checkpointer, s.newAuditKey, err = newCheckpointer(cfg, st, log.With("component", "audit")); err != nil {
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
	// The key sealing second factors lives beside the database, not in it.
	authKey, err := auth.LoadKey(filepath.Join(cfg.DataDir, auth.KeyFile))
	if err != nil {
		st.Close()
		return nil, err
	}
	s.auth, err = auth.New(st, log.With("component", "auth"),
		auth.Config{SecureCookies: cfg.TLSCert != "" || cfg.PublicURL != nil && cfg.PublicURL.Scheme == "https",
			Key: authKey, Issuer: cfg.Company})
	if err != nil {
		st.Close()
		return nil, err
	}
	// Mail (internal/mail): the key sealing the SMTP password lives beside
	// the database, and one worker, started by Run, sends the queue.
	mailKey, err := mail.LoadKey(cfg.DataDir)
	if err != nil {
		st.Close()
		return nil, err
	}
	s.mail = mail.NewWorker(st, mailKey, mail.Sender{}, log.With("component", "mail"), nil, console.Receipts(st, nil))
	pricer := pricing.New(st, nil)
	maxAgents, err := agentCap(cfg.MaxAgents)
	if err != nil {
		st.Close()
		return nil, err
	}
	if cfg.MaxAgentsPerIP <= 0 {
		cfg.MaxAgentsPerIP = DefaultMaxAgentsPerIP
	}
	log.Info("agent connection caps", "total", maxAgents, "per_ip", cfg.MaxAgentsPerIP)
	hubCfg := hub.Config{Company: cfg.Company, Software: cfg.Version, Codes: codes,
		MaxAgents: maxAgents, MaxAgentsPerIP: cfg.MaxAgentsPerIP, Cost: pricer.CostNotice, Billable: pricer.BillableTime, Grace: cfg.Grace}
	if err := s.startTURN(&hubCfg); err != nil {
		st.Close()
		return nil, err
	}
	var hubStore hub.Store = st
	if s.turn != nil {
		hubStore = revokingStore{Store: st, turn: s.turn}
	}
	// The hub starts nothing until Run; from here on, a failure closes
	// the TURN listeners and the store.
	s.hub = hub.New(hubStore, log.With("component", "hub"), hubCfg)
	consoleHandler, routes, err := console.New(console.Config{
		Store: st, Auth: s.auth, Socket: s.hub.ServeConsole, CodeTTL: cfg.CodeTTL, Codes: codes,
		SessionsPerHour: cfg.SessionsPerHour, AssetsDir: cfg.AssetsDir,
		Company: cfg.Company, AgentsDir: cfg.AgentsDir,
		Recategorized: s.hub.Recategorized, Ended: s.hub.Ended, Mail: s.mail,
	}, log.With("component", "console"))
	if err != nil {
		return nil, errors.Join(err, s.closeTURN(), st.Close())
	}
	mux := http.NewServeMux()
	mux.Handle("/", consoleHandler)
	// Public on purpose: agents authenticate with their one-time code, and
	// a health check must work without a login.
	mux.HandleFunc("GET /ws/agent", s.hub.ServeAgent)
	// healthz: the process serves; readyz: it takes new agents and its
	// store answers (metrics.go).
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", s.readyz)
	s.routes = append(routes, console.Route{Pattern: "GET /ws/agent"}, console.Route{Pattern: "GET /healthz"}, console.Route{Pattern: "GET /readyz"})
	handler := httpx.SecurityHeaders(console.CSP, mux)
	if cfg.PublicURL != nil {
		// A health check by address (a load balancer, a monitor) needs
		// no name and changes nothing.
		handler = httpx.PinOrigin(cfg.PublicURL, []string{"/healthz", "/readyz"}, handler)
	}
	s.http = &http.Server{
		Handler: handler,
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
	created, err := s.store.BootstrapAdmin(ctx, store.User{Email: FirstAdminEmail, Name: "Admin", PasswordHash: hash}, DefaultCentsPerHour)
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
	if s.cfg.PublicURL != nil {
		url = s.cfg.PublicURL.Scheme + "://" + s.cfg.PublicURL.Host + "/"
	}
	s.log.Info("relay listening", "url", url, "version", s.cfg.Version)
	fmt.Fprintf(s.cfg.Stdout, "Meekijk relay %s\nConsole: %s\nStore: %s\n", s.cfg.Version, url, s.store)
	if s.cfg.PublicURL != nil {
		fmt.Fprintf(s.cfg.Stdout, "Listening on %s\n", ln.Addr())
	}
	if s.firstAdminPassword != "" {
		fmt.Fprintf(s.cfg.Stdout, "First admin login: %s  password: %s\n(shown only this once; keep it safe)\n"+
			"Default hourly rate: EUR %d.%02d (change it in the console under Rates)\n",
			FirstAdminEmail, s.firstAdminPassword, DefaultCentsPerHour/100, DefaultCentsPerHour%100)
		s.firstAdminPassword = ""
	}
	if s.newAuditKey {
		pub := s.checkpointer.key.Public().(ed25519.PublicKey)
		fmt.Fprintf(s.cfg.Stdout, "Audit checkpoint key: %s\n(keep a copy elsewhere; `relay audit pubkey` prints it again)\n", audit.FormatPublicKey(pub))
	}
	if s.cfg.CheckpointInterval <= 0 {
		s.cfg.CheckpointInterval = time.Minute
	}
	// Not stopped by ctx: the checkpointer and the login guard stop on
	// return, after the HTTP server and the hub have shut down, so the
	// last checkpoint seals what was recorded while shutting down (the
	// guard's last summaries among it). Deferred stops run last first:
	// the checkpointer stops last. The hub's link watcher stops with ctx.
	background := context.WithoutCancel(ctx)
	defer runOwned(background, func(ctx context.Context) { s.checkpointer.run(ctx, s.cfg.CheckpointInterval) })()
	defer runOwned(ctx, s.hub.Run)()
	defer runOwned(background, s.auth.Run)()
	// The mail worker stops with ctx; what it has not sent stays queued.
	defer runOwned(ctx, s.mail.Run)()
	if s.cfg.MetricsAddr != "" {
		stop, err := s.serveMetrics()
		if err != nil {
			return err
		}
		defer stop()
	}
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
		s.drain(serveErr)
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

// drain goes on serving for cfg.Drain with new agents turned away and
// /readyz failing, so a load balancer sends new connections elsewhere
// before the sessions here end; the agents then resume theirs through it
// on another relay. A serve that fails meanwhile ends the wait.
func (s *Server) drain(serveErr chan error) {
	if s.cfg.Drain <= 0 {
		return
	}
	s.hub.Drain()
	s.log.Info("relay draining", "for", s.cfg.Drain)
	t := time.NewTimer(s.cfg.Drain)
	defer t.Stop()
	select {
	case <-t.C:
	case err := <-serveErr:
		serveErr <- err // Run reads it again
	}
}

// serveMetrics serves /metrics on cfg.MetricsAddr until the returned stop
// is called.
func (s *Server) serveMetrics() (stop func(), err error) {
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("server: metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	s.log.Info("metrics listening", "addr", ln.Addr())
	fmt.Fprintf(s.cfg.Stdout, "Metrics: http://%s/metrics\n", ln.Addr())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics serve", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

// runOwned runs run(ctx) in a goroutine and returns the function that
// cancels it and waits until it has returned: Run defers it, so the
// goroutine never outlives the server.
func runOwned(ctx context.Context, run func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
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
