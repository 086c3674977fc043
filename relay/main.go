// Command relay is Meekijk's server: the console for technicians and admins,
// the meeting point for agents, and the session store.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/meekijk/meekijk/internal/audit"
	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/codeguard"
	"github.com/meekijk/meekijk/relay/hub"
	"github.com/meekijk/meekijk/relay/server"
)

// version is set at build time by the Makefile (-ldflags -X main.version=...).
var version = "dev"

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return // -h printed the usage, as asked: not a failure
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
}

// usage is what `relay -h` prints before the flags: the subcommands too,
// which flag.FlagSet alone would not list.
const usage = `Usage:
  relay [flags]                  run the relay (flags below)
  relay audit verify [-data DIR] [-db URL] [-checkpoints FILE|none] [-pubkey KEY]
                                 check the audit chain and its signed checkpoints
  relay audit pubkey [-data DIR] print the public key that signs the checkpoints
  relay backup [-data DIR] [-db URL] FILE
                                 copy the database while the relay runs, and check the copy
                                 (with -db: a pg_dump archive, restored with pg_restore)
  relay quote < REQUEST.json     price sessions as the billing would (relay quote -h)

Each subcommand takes -h. Flags of the relay:
`

// quoteUsage is `relay quote -h`: what the request holds, briefly;
// docs/billing.md has all of it.
const quoteUsage = `Usage: relay quote < REQUEST.json

Prints the billing statement of a quote request as indented JSON: the answer
POST /api/v1/quote gives, without a server or a database. The request is one
JSON object (at most 64 KiB; docs/billing.md, "The request"):

  referencePerson  required: true when the contact who asked is a reference person
  contract         required: the customer's contract, or null when there is none
  categoryCovered  required with a contract: true when it covers the ticket's category
  sessions         [{"id", "ticketId", "ticketRef", "outsideHours",
                     "segments": [{"start", "end", "level", "technician": {"id", "name"}}]}]
                   times in RFC 3339 with their offset; level view, control or data_intervention
  settings         optional: timeZone, mergeTicketDay, incrementMinutes, minimumMinutes,
                   outOfHoursSurchargePercent, vatPercent, defaultRates, earlierRules
  customer         optional, for the reader

Keys are case-sensitive; unknown or repeated keys are refused. A bad request
is an error naming the field (sessions[0].segments[1].end: ...) and exit status 1.
`

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// dbFlag is the -db flag of the relay and of its maintenance commands.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", os.Getenv("MEEKIJK_DB"), "the store's PostgreSQL database, postgres://USER:PASSWORD@HOST/DB, which several relays may share (env MEEKIJK_DB); empty: the SQLite database in the data directory")
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "audit":
			return runAudit(args[1:], stdout, stderr)
		case "backup":
			return runBackup(args[1:], stdout, stderr)
		case "quote":
			return runQuote(args[1:], os.Stdin, stdout, stderr)
		case "user":
			return runUser(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var cfg server.Config
	var showVersion bool
	var logLevel slog.Level
	fs.StringVar(&cfg.Addr, "addr", envOr("MEEKIJK_ADDR", "127.0.0.1:8080"), "listen address (env MEEKIJK_ADDR)")
	fs.StringVar(&cfg.DataDir, "data", envOr("MEEKIJK_DATA", "data"), "data directory holding the SQLite database and the key files (env MEEKIJK_DATA)")
	db := dbFlag(fs)
	fs.StringVar(&cfg.Company, "company", envOr("MEEKIJK_COMPANY", "Meekijk"), "the desk's company name shown to customers (env MEEKIJK_COMPANY)")
	codeTTL := fs.String("code-ttl", envOr("MEEKIJK_CODE_TTL", "10m"), "how long a session code stays valid (env MEEKIJK_CODE_TTL)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", os.Getenv("MEEKIJK_TLS_CERT"), "TLS certificate file; with -tls-key serves HTTPS (env MEEKIJK_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", os.Getenv("MEEKIJK_TLS_KEY"), "TLS key file (env MEEKIJK_TLS_KEY)")
	publicURL := fs.String("public-url", os.Getenv("MEEKIJK_PUBLIC_URL"), "the URL technicians and agents reach the relay at, e.g. https://hulp.example.be; requests for another host are refused (env MEEKIJK_PUBLIC_URL)")
	fs.DurationVar(&cfg.CheckpointInterval, "checkpoint-interval", time.Minute, "how often the audit chain's head is sealed in DATA/"+server.CheckpointFile+" (at most 1m; also every 100 entries and at shutdown)")
	fs.StringVar(&cfg.AuditSyslog, "audit-syslog", os.Getenv("MEEKIJK_AUDIT_SYSLOG"), "also send each audit checkpoint to this syslog server (RFC 5424), udp://HOST:PORT or tcp://HOST:PORT (env MEEKIJK_AUDIT_SYSLOG)")
	fs.StringVar(&cfg.TURN.UDPAddr, "turn-udp", os.Getenv("MEEKIJK_TURN_UDP"), "embedded TURN relay's UDP listen address, e.g. 0.0.0.0:3478; empty: no TURN (env MEEKIJK_TURN_UDP)")
	fs.StringVar(&cfg.TURN.TCPAddr, "turn-tcp", os.Getenv("MEEKIJK_TURN_TCP"), "embedded TURN relay's TCP listen address (env MEEKIJK_TURN_TCP)")
	turnPublic := fs.String("turn-public-ip", os.Getenv("MEEKIJK_TURN_PUBLIC_IP"), "the IPv4 address customers and technicians reach the TURN relay at (env MEEKIJK_TURN_PUBLIC_IP)")
	turnRelayIP := fs.String("turn-relay-ip", os.Getenv("MEEKIJK_TURN_RELAY_IP"), "the host's own IPv4 address relayed media is sent from, when -turn-public-ip is a 1:1 NAT's address (env MEEKIJK_TURN_RELAY_IP)")
	fs.StringVar(&cfg.TURN.Allow, "turn-allow", os.Getenv("MEEKIJK_TURN_ALLOW"), "comma-separated private ranges TURN may relay to (default none: loopback and private peers are refused)")
	fs.BoolVar(&cfg.TURN.RelayOnly, "relay-only", false, "send media only through the TURN relay, keeping both sides' addresses private")
	fs.IntVar(&cfg.MaxAgents, "max-agents", 0, "most agent connections at once; 0: as many as the descriptor limit allows, keeping a reserve for the console")
	fs.IntVar(&cfg.MaxAgentsPerIP, "max-agents-per-ip", server.DefaultMaxAgentsPerIP, "most agent connections at once from one address")
	fs.IntVar(&cfg.SessionsPerHour, "sessions-per-hour", codeguard.SessionsPerTechnicianPerHour, "most sessions one technician may start in an hour (load tests raise it)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", os.Getenv("MEEKIJK_METRICS_ADDR"), "serve Prometheus /metrics on this address, e.g. 127.0.0.1:9090; empty: none (env MEEKIJK_METRICS_ADDR)")
	fs.DurationVar(&cfg.Drain, "drain", 0, "on SIGTERM, go on serving connected peers this long with /readyz failing and new agents sent away, before ending the sessions (behind a load balancer: twice its health-check interval)")
	fs.DurationVar(&cfg.Grace, "grace", hub.DefaultGrace, "how long a session keeps the customer's consent while the agent is unreachable")
	fs.StringVar(&cfg.AgentsDir, "agents", os.Getenv("MEEKIJK_AGENTS"), "directory of agent files (agent-windows-amd64.exe, agent-linux-amd64, …) offered to customers on /hulp (env MEEKIJK_AGENTS)")
	fs.StringVar(&cfg.AssetsDir, "assets", "", "serve the console's files from this directory instead of the binary (development)")
	fs.TextVar(&logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn, error")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if showVersion {
		fmt.Fprintln(stdout, "relay", version)
		return nil
	}
	cfg.DB = *db
	ttl, err := time.ParseDuration(*codeTTL)
	if err != nil || ttl <= 0 {
		return fmt.Errorf("-code-ttl %q: want a positive duration such as 10m", *codeTTL)
	}
	if cfg.CheckpointInterval <= 0 || cfg.CheckpointInterval > time.Minute {
		return fmt.Errorf("-checkpoint-interval %v: want a duration above 0 and at most 1m, so the log's tail is never unsealed longer", cfg.CheckpointInterval)
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return fmt.Errorf("-tls-cert and -tls-key go together")
	}
	if *publicURL != "" {
		if cfg.PublicURL, err = server.ParsePublicURL(*publicURL); err != nil {
			return err
		}
		if cfg.TLSCert != "" && cfg.PublicURL.Scheme != "https" {
			return fmt.Errorf("-public-url %q: the relay serves HTTPS, so the URL must start with https://", *publicURL)
		}
	}
	for _, f := range []struct {
		flag, value string
		ip          *net.IP
	}{{"-turn-public-ip", *turnPublic, &cfg.TURN.PublicIP}, {"-turn-relay-ip", *turnRelayIP, &cfg.TURN.RelayIP}} {
		if f.value == "" {
			continue
		}
		if *f.ip = net.ParseIP(f.value); *f.ip == nil {
			return fmt.Errorf("%s %q is not an IP address", f.flag, f.value)
		}
	}
	cfg.CodeTTL, cfg.Version, cfg.Stdout = ttl, version, stdout

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// runAudit: relay audit verify [-data DIR] [-checkpoints FILE|none] [-pubkey KEY]
// and relay audit pubkey [-data DIR].
func runAudit(args []string, stdout, stderr io.Writer) error {
	const usage = "usage: relay audit verify [-data DIR] [-db URL] [-checkpoints FILE|none] [-pubkey KEY], or relay audit pubkey [-data DIR]"
	if len(args) == 0 || (args[0] != "verify" && args[0] != "pubkey") {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("relay audit "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("MEEKIJK_DATA", "data"), "data directory (env MEEKIJK_DATA)")
	db := dbFlag(fs)
	var checkpoints, pubkey *string
	if args[0] == "verify" {
		checkpoints = fs.String("checkpoints", "", "checkpoint file to check the chain against (default DATA/"+server.CheckpointFile+"; a copy kept elsewhere is stronger; none: the chain alone)")
		pubkey = fs.String("pubkey", "", "the checkpoints' public key as printed at first start (default: the key in DATA)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New(usage)
	}
	if args[0] == "pubkey" {
		pub, err := audit.PublicKey(*data)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, audit.FormatPublicKey(pub))
		return nil
	}
	return server.VerifyAudit(context.Background(), *data, *db, *checkpoints, *pubkey, stdout)
}

// runUser: relay user reset-password|reset-totp [-data DIR] LOGIN
func runUser(args []string, stdout, stderr io.Writer) error {
	usage := errors.New("usage: relay user reset-password|reset-totp [-data DIR] LOGIN")
	if len(args) == 0 {
		return usage
	}
	var action func(ctx context.Context, dataDir, db, login string, out io.Writer) error
	switch args[0] {
	case "reset-password":
		action = server.ResetPassword
	case "reset-totp":
		action = server.ResetTOTP
	default:
		return usage
	}
	fs := flag.NewFlagSet("relay user "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("MEEKIJK_DATA", "data"), "data directory (env MEEKIJK_DATA)")
	db := dbFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usage
	}
	return action(context.Background(), *data, *db, fs.Arg(0), stdout)
}

// runBackup: relay backup [-data DIR] FILE
func runBackup(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("MEEKIJK_DATA", "data"), "data directory (env MEEKIJK_DATA)")
	db := dbFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: relay backup [-data DIR] [-db URL] FILE")
	}
	return server.Backup(context.Background(), *data, *db, fs.Arg(0), stdout)
}

// runQuote: relay quote < REQUEST.json
//
// It prints the billing statement of a quote request (docs/billing.md) as
// indented JSON: the answer POST /api/v1/quote gives, without a server or a
// database. stdin is a parameter so a test can feed it.
func runQuote(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay quote", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), quoteUsage) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("usage: relay quote < REQUEST.json")
	}
	in, err := billing.Decode(stdin)
	if err != nil {
		return fmt.Errorf("quote: %w", err)
	}
	st, err := billing.Compute(in)
	if err != nil {
		return fmt.Errorf("quote: %w", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		return fmt.Errorf("quote: writing the statement: %w", err)
	}
	return nil
}
