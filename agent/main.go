// Command agent is the program a customer starts to let a technician see
// their screen. It shares nothing until the customer allows it.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/meekijk/meekijk/agent/app"
	"github.com/meekijk/meekijk/agent/indicator"
	"github.com/meekijk/meekijk/agent/inject"
	"github.com/meekijk/meekijk/internal/i18n"
)

// version is set at build time by the Makefile (-ldflags -X main.version=...).
var version = "dev"

// relayURL is the desk's relay, baked in at build time (make agent
// RELAY_URL=https://...: -ldflags -X main.relayURL=...) so that the code
// signature covers it: a customer runs the file and needs no address.
// Configuration is never appended to a signed file; -relay and
// MEEKIJK_RELAY still override it.
var relayURL = ""

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return // -h printed the usage, as asked: not a failure
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg app.Config
	var showVersion, noBrowser bool
	var logLevel slog.Level
	fs.StringVar(&cfg.RelayURL, "relay", cmp.Or(os.Getenv("MEEKIJK_RELAY"), relayURL), "the help desk's relay, e.g. https://support.example.be (env MEEKIJK_RELAY; default: the one built in)")
	fs.StringVar(&cfg.Code, "code", "", "the session code the technician gave (optional; the page asks for it)")
	fs.IntVar(&cfg.Display, "display", 0, "which monitor to share, counted from 0 (the first); not the X display, which comes from the DISPLAY environment variable as usual")
	lang := fs.String("lang", "", "language of the page: nl, fr or en (default: from the system locale)")
	iceAllow := fs.String("ice-allow", "", "comma-separated networks (CIDR) WebRTC may use, e.g. 127.0.0.0/8 (default: all)")
	folders := fs.String("files-dir", "", "comma-separated folders the customer may save received files in (default: Downloads, Desktop and Documents in the home folder)")
	maxFileMB := fs.Int64("max-file-mb", 2048, "largest file sent or received, in MiB")
	fs.BoolVar(&noBrowser, "no-browser", false, "do not open the page in the default browser; only print its address")
	fs.TextVar(&logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn, error")
	fs.BoolVar(&cfg.StageTimes, "stage-times", false, "log each picture's capture, encoding and sending times and each button press's arrival (for the benchmark)")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if showVersion {
		fmt.Fprintln(stdout, "agent", version)
		if relayURL != "" {
			fmt.Fprintln(stdout, "relay", relayURL)
		}
		return nil
	}
	if cfg.RelayURL == "" {
		return fmt.Errorf("-relay is required: the address of your help desk's relay")
	}
	nets, err := parseNets(*iceAllow)
	if err != nil {
		return err
	}
	cfg.AllowedNets = nets
	cfg.Lang = i18n.FromEnv(os.Getenv)
	if *lang != "" {
		cfg.Lang, cfg.LangChosen = i18n.Parse(*lang), true
	}
	cfg.Version, cfg.Stdout, cfg.OpenBrowser = version, stdout, !noBrowser
	cfg.FileFolders = fileFolders(*folders)
	if *maxFileMB <= 0 {
		return fmt.Errorf("-max-file-mb must be positive")
	}
	cfg.MaxFileBytes = *maxFileMB << 20

	logOut, closeLog := logWriter(stderr)
	defer closeLog()
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: logLevel}))
	// Windows: capture.NewScreen says which capture it chose through slog's
	// default logger.
	slog.SetDefault(log)
	release, err := singleInstance()
	if err != nil {
		msg := "Meekijk is already running on this computer."
		if cat, lerr := i18n.Load(); lerr == nil {
			msg = cat.T(cfg.Lang, "agent.error.already_running")
		}
		tellUser(msg)
		return fmt.Errorf("%s (%w)", msg, err)
	}
	defer release()
	// Remote control needs the display; without it the agent still shares
	// the screen and tells the technician control is not possible.
	if robot, err := inject.New(""); err != nil {
		log.Warn("remote control unavailable", "err", err)
	} else {
		defer robot.Close()
		cfg.Injector, cfg.Clipboard = robot, robot
	}
	// No flag turns the indicator off: sharing is never invisible where
	// a window can be shown.
	if ind, err := indicator.New("", log.With("component", "indicator")); err != nil {
		log.Warn("no sharing indicator on this desktop; the page alone shows the sharing", "err", err)
	} else {
		cfg.Indicator = ind
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(cfg, log)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// fileFolders lists the folders offered for received files: the ones given,
// or the usual ones that exist in the customer's home folder.
func fileFolders(list string) []string {
	var out []string
	for _, part := range strings.Split(list, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	if len(out) > 0 {
		return out
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	for _, dir := range userFolders(home) {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			out = append(out, dir)
		}
	}
	if len(out) == 0 {
		out = append(out, home)
	}
	return out
}

func parseNets(s string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("-ice-allow %q: %w", part, err)
		}
		out = append(out, n)
	}
	return out, nil
}
