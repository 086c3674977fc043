package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/meekijk/meekijk/relay/server"
)

// The benchmark measures what the relay can carry, so it lifts the caps a
// desk runs with: its idle agents come from a few loopback addresses and
// its one technician starts thousands of sessions.
const (
	benchAgentsPerIP     = 1 << 20
	benchSessionsPerHour = 1 << 20
)

// Relay is the relay's own server code running in this process: what the
// cheap tests talk to, and what the benchmark profiles the heap of.
type Relay struct {
	Base, Password string
	done           chan error
}

// StartRelay runs a relay on a free loopback port with its database in dir
// until ctx ends; Wait returns its exit.
func StartRelay(ctx context.Context, dir string, log *slog.Logger) (*Relay, error) {
	pr, pw := io.Pipe()
	srv, err := server.New(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: dir, Company: "Bench", Version: "bench", Stdout: pw,
		MaxAgentsPerIP: benchAgentsPerIP, SessionsPerHour: benchSessionsPerHour}, log)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r := &Relay{done: make(chan error, 1)}
	go func() {
		r.done <- srv.Run(ctx)
		pw.Close()
	}()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timeout := time.After(15 * time.Second)
	for r.Base == "" || r.Password == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				return nil, fmt.Errorf("relay stopped before announcing itself: %w", <-r.done)
			}
			if u, ok := strings.CutPrefix(l, "Console: "); ok {
				r.Base = strings.TrimSuffix(u, "/")
			}
			if f := strings.Fields(l); len(f) == 6 && f[0] == "First" {
				r.Password = f[5]
			}
		case <-timeout:
			return nil, fmt.Errorf("relay did not announce itself within 15 s")
		}
	}
	// The rest of its announcements are not needed, but must be read.
	go func() {
		for range lines {
		}
	}()
	return r, nil
}

// Wait returns the relay's exit, once ctx has ended.
func (r *Relay) Wait() error { return <-r.done }
