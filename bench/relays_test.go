//go:build bench

package bench

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/pgtest"
	"github.com/meekijk/meekijk/internal/testrig"
)

var (
	clusterRelays = flag.Int("relays", 8, "relay processes sharing one PostgreSQL in the several-relays phase")
	clusterAgents = flag.Int("cluster-agents", 60_000, "idle agents spread over those relays (0: skip the phase)")
	clusterGens   = flag.Int("cluster-gens", 4, "load generator processes for the several-relays phase")
)

// relays is what the several-relays phase found: relay processes sharing
// one PostgreSQL database hold idle agents together; one is killed and its
// agents connect to the others again; then session set-ups on PostgreSQL
// are timed beside set-ups on SQLite, in interleaved rounds.
type relays struct {
	Store string // the shared store, as the relays were given it
	Note  string // why the phase stopped short, if it did

	Relays, Gens int
	RelayCap     int // agents one relay takes at once, as it logged
	Asked, Held  int
	Opened       time.Duration // from the first dial to all held
	Baseline     []int64       // each relay's RSS with no agent
	Loaded       []int64       // each relay's RSS holding its share
	GenRSS       []int64       // each load generator's RSS holding its share

	Killed    int           // agents the killed relay held
	Storm     time.Duration // from kill -9 until every agent was held again
	StormHeld int           // agents held when the storm's wait ended
	Redials   int

	SetupPG, SetupSQLite []float64 // set-ups per second, one per round
	SetupErr             string
}

// PerAgentKB is the relays' RSS growth per agent held.
func (r *relays) PerAgentKB() float64 {
	if r.Held == 0 || len(r.Loaded) != len(r.Baseline) {
		return 0
	}
	var grew int64
	for i := range r.Loaded {
		grew += r.Loaded[i] - r.Baseline[i]
	}
	return float64(grew) / float64(r.Held) / 1024
}

// relayProc is one relay binary of the phase.
type relayProc struct {
	p    *testrig.Proc
	base string
}

// startClusterRelay starts a relay binary on the shared database and data
// directory (the relays of one desk share DATA's keys), and returns it
// with the first admin's password if this relay made that admin.
func startClusterRelay(t *testing.T, data, db string) (relayProc, string, error) {
	p, err := testrig.Start(t, nil, bin.relay, "-addr", "127.0.0.1:0", "-data", data, "-db", db,
		"-company", "Softwarehuis Janssens", "-max-agents-per-ip", strconv.Itoa(benchAgentsPerIP),
		"-sessions-per-hour", strconv.Itoa(benchSessionsPerHour))
	if err != nil {
		return relayProc{}, "", err
	}
	base, err := p.Line("Console: ", 30*time.Second)
	if err != nil {
		return relayProc{}, "", err
	}
	r := relayProc{p: p, base: strings.TrimSuffix(base, "/")}
	// Only the relay that finds the store empty makes the first admin; it
	// prints the line right after the console's address.
	login, err := p.Line("First admin login: ", 2*time.Second)
	if err != nil {
		return r, "", nil
	}
	if f := strings.Fields(login); len(f) == 3 {
		return r, f[2], nil
	}
	return r, "", fmt.Errorf("unexpected admin line %q", login)
}

// measureRelays runs the several-relays phase; it fills what it reached
// and says in Note where it stopped.
func measureRelays(t *testing.T) *relays {
	r := &relays{Relays: *clusterRelays, Gens: *clusterGens, Asked: *clusterAgents}
	if r.Asked <= 0 {
		return nil
	}
	raiseFDLimit()
	db := pgtest.NewDatabase(t)
	// Debian keeps each major version's programs in /usr/lib/postgresql/N/bin.
	r.Store = "PostgreSQL " + filepath.Base(filepath.Dir(pgtest.Cluster(t).BinDir())) + ", one database for all relays"
	data := t.TempDir()
	var (
		procs    []relayProc
		password string
	)
	for range r.Relays {
		p, pw, err := startClusterRelay(t, data, db)
		if err != nil {
			r.Note = fmt.Sprintf("relay %d did not start: %v", len(procs)+1, err)
			return r
		}
		procs = append(procs, p)
		if pw != "" {
			password = pw
		}
	}
	defer func() {
		for _, p := range procs {
			p.p.Stop()
		}
	}()
	time.Sleep(time.Second)
	r.RelayCap = loggedAgentCap(procs[0].p.Stderr())
	var bases []string
	for _, p := range procs {
		rss, _ := RSS(p.p.Pid())
		r.Baseline = append(r.Baseline, rss)
		bases = append(bases, p.base)
	}

	gens, err := startGens(t, r.Gens, bases)
	if err != nil {
		r.Note = err.Error()
		return r
	}
	defer func() {
		for _, g := range gens {
			_ = g.CloseInput()
			g.Stop()
		}
	}()
	start := time.Now()
	held, failed := openSpread(gens, r.Asked)
	r.Opened, r.Held = time.Since(start), held
	if failed != "" || held < r.Asked {
		r.Note = fmt.Sprintf("held %d of %d asked: %s", held, r.Asked, failed)
		return r
	}
	time.Sleep(2 * time.Second) // let the relays settle their buffers
	for _, p := range procs {
		rss, _ := RSS(p.p.Pid())
		r.Loaded = append(r.Loaded, rss)
	}
	for _, g := range gens {
		rss, _ := RSS(g.Pid())
		r.GenRSS = append(r.GenRSS, rss)
	}

	// The storm: the first relay dies at once, as on a power cut; its
	// agents find the others.
	victim := procs[0]
	r.Killed = held / r.Relays
	if err := victim.p.Signal(syscall.SIGKILL); err != nil {
		r.Note = "kill -9 of a relay: " + err.Error()
		return r
	}
	<-victim.p.Done()
	killedAt := time.Now()
	procs = procs[1:]
	for deadline := killedAt.Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		h, redials, err := countGens(gens)
		if err != nil {
			r.Note = err.Error()
			return r
		}
		r.StormHeld, r.Redials, r.Storm = h, redials, time.Since(killedAt)
		if h >= held {
			break
		}
		if time.Now().After(deadline) {
			r.Note = fmt.Sprintf("2 minutes after the kill, %d of %d agents were held again", h, held)
			return r
		}
	}
	for _, g := range gens {
		_ = g.CloseInput()
		g.Stop()
	}
	gens = nil
	time.Sleep(2 * time.Second) // the relays notice the closed sockets

	r.SetupPG, r.SetupSQLite, r.SetupErr = setupRates(t, procs[0].base, password)
	return r
}

// loggedAgentCap reads the cap on agent connections a relay logged at
// start ("agent connection caps" total=N); 0 if it did not.
func loggedAgentCap(log string) int {
	m := regexp.MustCompile(`msg="agent connection caps" total=(\d+)`).FindStringSubmatch(log)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// startGens starts load generators that each spread their agents over
// bases and dial again after a drop.
func startGens(t *testing.T, n int, bases []string) ([]*testrig.Proc, error) {
	var gens []*testrig.Proc
	for range n {
		// Eight source addresses give ~225k ephemeral ports, shared.
		g, err := child(t, "loadgen", "MEEKIJK_BENCH_RELAY="+strings.Join(bases, ","),
			"MEEKIJK_BENCH_SOURCES=8", "MEEKIJK_BENCH_REDIAL=1")
		if err != nil {
			return nil, fmt.Errorf("load generator: %w", err)
		}
		gens = append(gens, g)
	}
	return gens, nil
}

// openSpread asks the generators for total agents between them, in
// parallel, and returns how many they hold and the first failure.
func openSpread(gens []*testrig.Proc, total int) (int, string) {
	var (
		mu     sync.Mutex
		held   int
		failed string
		wg     sync.WaitGroup
	)
	for i, g := range gens {
		share := total / len(gens)
		if i == 0 {
			share += total % len(gens)
		}
		wg.Go(func() {
			ans, err := g.Ask(fmt.Sprintf("open %d", share), "held ", 3*time.Minute)
			mu.Lock()
			defer mu.Unlock()
			var h, o int
			fmt.Sscanf(ans, "%d opened %d err", &h, &o)
			held += h
			msg := ""
			if err != nil {
				msg = err.Error()
			} else if _, m, ok := strings.Cut(ans, " err "); ok && m != "-" {
				msg = m
			}
			if msg != "" && failed == "" {
				failed = msg
			}
		})
	}
	wg.Wait()
	return held, failed
}

// countGens sums what the generators hold now and how often they redialled.
func countGens(gens []*testrig.Proc) (held, redials int, err error) {
	for _, g := range gens {
		ans, err := g.Ask("count", "held ", 10*time.Second)
		if err != nil {
			return 0, 0, err
		}
		var h, rd int
		if _, err := fmt.Sscanf(ans, "%d redials %d", &h, &rd); err != nil {
			return 0, 0, fmt.Errorf("load generator said %q: %w", ans, err)
		}
		held += h
		redials += rd
	}
	return held, redials, nil
}

// setupRates times session set-ups on a relay of the PostgreSQL desk and
// on a fresh single relay with SQLite, in interleaved rounds, so a drift
// of the machine hits both alike.
func setupRates(t *testing.T, pgBase, password string) (pg, sqlite []float64, failure string) {
	lite, liteBase, litePassword, err := startRelayBinary(t)
	if err != nil {
		return nil, nil, "SQLite relay: " + err.Error()
	}
	defer lite.Stop()
	type desk struct {
		name  string
		api   *API
		rates *[]float64
	}
	var desks []desk
	for _, d := range []struct {
		name, base, password string
		rates                *[]float64
	}{{"PostgreSQL", pgBase, password, &pg}, {"SQLite", liteBase, litePassword, &sqlite}} {
		api, err := LoginAPI(d.base, "admin", d.password)
		if err != nil {
			return pg, sqlite, d.name + ": " + err.Error()
		}
		desks = append(desks, desk{d.name, api, d.rates})
	}
	for range *rounds {
		for _, d := range desks {
			// A fresh ticket each round: the round's end may leave its
			// last session running, and a ticket has one at a time.
			ticket, err := d.api.NewTicket("Bakkerij Peeters", "Kassa print geen tickets")
			if err != nil {
				return pg, sqlite, d.name + ": " + err.Error()
			}
			rate, _, err := d.api.SetupRate(context.Background(), ticket, 4, 2000, 5*time.Second)
			if err != nil {
				return pg, sqlite, d.name + ": " + err.Error()
			}
			*d.rates = append(*d.rates, rate)
		}
	}
	return pg, sqlite, ""
}

// The several-relays phase alone, for working on it:
// go test -tags bench -run TestRelaysPhase -v ./bench -args -cluster-agents 2000
func TestRelaysPhase(t *testing.T) {
	r := measureRelays(t)
	for _, s := range relaysSection(r) {
		var b strings.Builder
		s.write(&b)
		t.Log("\n" + b.String())
	}
	if r != nil && r.Note != "" {
		t.Error(r.Note)
	}
}

// relaysSection reports the several-relays phase.
func relaysSection(r *relays) []Section {
	if r == nil {
		return nil
	}
	s := Section{Title: "Several relays on one PostgreSQL"}
	var text []string
	text = append(text, fmt.Sprintf("%d relay binaries on %s, one data directory (shared keys); each takes at most %d agents "+
		"at once (relay/server/limits.go: half of its descriptor limit after a reserve, the other half kept for what "+
		"sessions open), so the relays left after one is killed must hold its agents too. %d load generators "+
		"(this test binary in a helper role, each below its own open-file limit) dial the relays in turn, "+
		"directly: HAProxy is one process with the same 20,000-descriptor limit and two sockets per agent, so "+
		"it would cap the figure near 10,000. A dropped agent dials again as the agent does (back-off from "+
		"250-500 ms, jitter) and tries the next relay when one refuses, as HAProxy's redispatch would.",
		r.Relays, r.Store, r.RelayCap, r.Gens))
	if r.Held > 0 {
		per := "-"
		if k := r.PerAgentKB(); k > 0 {
			per = fmt.Sprintf("%.1f KB", k)
		}
		var relayMB, genMB float64
		for i := range r.Loaded {
			relayMB += float64(r.Loaded[i]) / 1e6
		}
		for _, g := range r.GenRSS {
			genMB += float64(g) / 1e6
		}
		s.Header = []string{"figure", "measured"}
		s.Rows = [][]string{
			{"idle agents held at once, all relays", fmt.Sprintf("%d of %d asked", r.Held, r.Asked)},
			{"time to connect them all", fmt.Sprintf("%.1f s (%.0f agents/s)", r.Opened.Seconds(), float64(r.Held)/r.Opened.Seconds())},
			{"relays' RSS, together", fmt.Sprintf("%.0f MB", relayMB)},
			{"relay RSS per idle agent", per},
			{"load generators' RSS, together", fmt.Sprintf("%.0f MB", genMB)},
		}
		if r.Storm > 0 {
			s.Rows = append(s.Rows,
				[]string{"kill -9 of one relay: its agents", fmt.Sprint(r.Killed)},
				[]string{"until every agent was held again", fmt.Sprintf("%.1f s (%d held, %d redials)", r.Storm.Seconds(), r.StormHeld, r.Redials)})
		}
		if len(r.SetupPG) > 0 {
			s.Rows = append(s.Rows, []string{"session set-ups/s, PostgreSQL (a relay of this desk, after the storm)", SpreadOf(r.SetupPG).Format(1)})
		}
		if len(r.SetupSQLite) > 0 {
			s.Rows = append(s.Rows, []string{"session set-ups/s, SQLite (a single relay, rounds interleaved)", SpreadOf(r.SetupSQLite).Format(1)})
		}
	}
	if r.Note != "" {
		text = append(text, "Stopped short: "+r.Note+".")
	}
	if r.SetupErr != "" {
		text = append(text, "Set-up rates stopped: "+r.SetupErr+".")
	}
	s.Text = strings.Join(text, "\n\n")
	return []Section{s}
}
