//go:build bench

package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/testrig"
)

// loadgenChild holds idle agents on the relays named in the environment
// (MEEKIJK_BENCH_RELAY, comma-separated, dialled in turn; with
// MEEKIJK_BENCH_REDIAL=1 dropped agents connect again): "open N" adds N
// and answers "held H opened O err E"; "count" answers "held H redials R";
// end of input ends it.
func loadgenChild() int {
	sources, _ := strconv.Atoi(os.Getenv("MEEKIJK_BENCH_SOURCES"))
	agents, err := NewIdleAgents(sources, strings.Split(os.Getenv("MEEKIJK_BENCH_RELAY"), ",")...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	agents.Redial = os.Getenv("MEEKIJK_BENCH_REDIAL") == "1"
	defer agents.Close()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "count" {
			fmt.Printf("held %d redials %d\n", agents.Held(), agents.Redials())
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "open "))
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: bad command", sc.Text())
			return 1
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		opened, err := agents.Open(ctx, n, 64)
		cancel()
		msg := "-"
		if err != nil {
			msg = strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Printf("held %d opened %d err %s\n", agents.Held(), opened, msg)
	}
	return 0
}

// memStats is what the profiled relay reports of its memory.
type memStats struct {
	HeapInuse, StackInuse, Sys uint64
	Goroutines                 int
}

func readMemStats() memStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memStats{HeapInuse: m.HeapInuse, StackInuse: m.StackInuse, Sys: m.Sys, Goroutines: runtime.NumGoroutine()}
}

// relayProfileChild runs the relay's server code in this process so its
// heap can be profiled: it prints "relay URL" and "base {memstats}", then
// on "profile FILE" writes a heap profile and answers "stats {memstats}".
func relayProfileChild() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "meekijk-bench-relay")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	r, err := StartRelay(ctx, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, _ := json.Marshal(readMemStats())
	fmt.Printf("relay %s\nbase %s\n", r.Base, b)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		path, ok := strings.CutPrefix(sc.Text(), "profile ")
		if !ok {
			continue
		}
		st := readMemStats() // GC first: the profile shows what is live
		f, err := os.Create(path)
		if err == nil {
			err = errors.Join(pprof.Lookup("heap").WriteTo(f, 0), f.Close())
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "heap profile:", err)
			return 1
		}
		b, _ := json.Marshal(st)
		fmt.Printf("stats %s\n", b)
	}
	cancel()
	_ = r.Wait()
	return 0
}

// child starts this test binary again in a helper role.
func child(t *testing.T, role string, env ...string) (*testrig.Proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return testrig.Start(t, append(env, roleEnv+"="+role), self)
}

// capacityStep is one measurement of the relay under idle agents.
type capacityStep struct {
	Agents int
	RSS    int64
}

// capacity is what the relay-capacity stage found.
type capacity struct {
	FDLimit   uint64
	FDNote    string
	Baseline  int64 // RSS with no agent
	Steps     []capacityStep
	StopNote  string // why the stepping stopped short, if it did
	CapNote   string // the relay's own cap on agents, when it ended the steps
	SetupRate float64
	Setups    int
	SetupErr  error

	Profile       string // go tool pprof -top of the in-process relay
	PerAgentHeap  float64
	PerAgentStack float64
	PerAgentGos   float64
	ProfileAgents int
}

// raiseFDLimit lifts this process's open-file limit (inherited by the
// relay and the load generators) as far as the system lets it.
func raiseFDLimit() (uint64, string) {
	var lim syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	want := syscall.Rlimit{Cur: 1 << 20, Max: 1 << 20}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		return lim.Max, fmt.Sprintf("raising RLIMIT_NOFILE beyond its hard limit %d was refused (%v): this sandbox lacks CAP_SYS_RESOURCE", lim.Max, err)
	}
	return want.Max, ""
}

// measureCapacity starts a fresh relay and steps idle agents up to
// maxAgents or the first failure, reading its RSS at each step; then runs
// session set-ups on it.
func measureCapacity(t *testing.T) *capacity {
	c := &capacity{}
	c.FDLimit, c.FDNote = raiseFDLimit()
	relay, base, password, err := startRelayBinary(t)
	if err != nil {
		c.StopNote = err.Error()
		return c
	}
	time.Sleep(time.Second)
	c.Baseline, _ = RSS(relay.Pid())
	// Each generator holds at most its own limit; three outnumber one relay.
	gens := make([]*testrig.Proc, 0, 3)
	for range 3 {
		// Four source addresses give ~112k ephemeral ports, shared.
		g, err := child(t, "loadgen", "MEEKIJK_BENCH_RELAY="+base, "MEEKIJK_BENCH_SOURCES=4")
		if err != nil {
			c.StopNote = err.Error()
			return c
		}
		gens = append(gens, g)
	}
	held := 0
	deadline := time.Now().Add(3 * time.Minute)
	// The relay takes at most its cap of agents at once (it says so at
	// start): the last step asks for exactly that many.
	relayCap := loggedAgentCap(relay.Stderr())
	steps := []int{1000, 2000, 5000, 10_000, 15_000, 20_000, 30_000, 40_000, 50_000}
	if relayCap > 0 && relayCap < *maxAgents {
		steps = append(slices.DeleteFunc(steps, func(n int) bool { return n >= relayCap }), relayCap)
		c.CapNote = fmt.Sprintf("The relay takes at most %d agent connections at once (relay/server/limits.go: half of its "+
			"descriptor limit after a reserve; the other half is kept for what sessions open), so the steps end there.", relayCap)
	}
	for _, step := range steps {
		if step > *maxAgents {
			break
		}
		if time.Now().After(deadline) {
			c.StopNote = "stopped: the stepping ran out of its 3 minutes"
			break
		}
		total, failed := 0, ""
		for i, g := range gens {
			share := (step - held) / len(gens)
			if i == 0 {
				share += (step - held) % len(gens)
			}
			ans, err := g.Ask(fmt.Sprintf("open %d", share), "held ", 2*time.Minute)
			if err != nil {
				failed = err.Error()
				break
			}
			var h, o int
			var msg string
			fmt.Sscanf(ans, "%d opened %d err", &h, &o)
			if _, m, ok := strings.Cut(ans, " err "); ok && m != "-" {
				msg = m
			}
			total += h
			if msg != "" && failed == "" {
				failed = msg
			}
		}
		held = total
		time.Sleep(2 * time.Second) // let the relay settle its buffers
		rss, err := RSS(relay.Pid())
		if err != nil {
			c.StopNote = "the relay died: " + relay.Stderr()
			break
		}
		c.Steps = append(c.Steps, capacityStep{Agents: held, RSS: rss})
		if failed != "" || held < step {
			c.StopNote = fmt.Sprintf("stopped at %d held of %d asked: %s", held, step, failed)
			break
		}
	}
	for _, g := range gens {
		_ = g.CloseInput()
		g.Stop()
	}
	time.Sleep(2 * time.Second) // the relay notices the closed sockets
	api, err := LoginAPI(base, "admin", password)
	if err == nil {
		var ticket int64
		if ticket, err = api.NewTicket("Bakkerij Peeters", "Kassa print geen tickets"); err == nil {
			c.SetupRate, c.Setups, err = api.SetupRate(context.Background(), ticket, 4, 5000, 10*time.Second)
		}
	}
	c.SetupErr = err
	profileRelay(t, c)
	return c
}

// startRelayBinary starts the real relay binary on a free loopback port.
func startRelayBinary(t *testing.T) (p *testrig.Proc, base, password string, err error) {
	p, err = testrig.Start(t, nil, bin.relay, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-company", "Softwarehuis Janssens",
		"-max-agents-per-ip", strconv.Itoa(benchAgentsPerIP), "-sessions-per-hour", strconv.Itoa(benchSessionsPerHour))
	if err != nil {
		return nil, "", "", err
	}
	if base, err = p.Line("Console: ", 20*time.Second); err != nil {
		return nil, "", "", err
	}
	login, err := p.Line("First admin login: ", 20*time.Second)
	if err != nil {
		return nil, "", "", err
	}
	f := strings.Fields(login) // admin password: X
	if len(f) != 3 {
		return nil, "", "", fmt.Errorf("unexpected admin line %q", login)
	}
	return p, strings.TrimSuffix(base, "/"), f[2], nil
}

// profileRelay holds idle agents on the relay's code in a child process
// and takes its heap profile: what an idle agent costs, by allocation site.
func profileRelay(t *testing.T, c *capacity) {
	const n = 5000
	r, err := child(t, "relay-profile")
	if err != nil {
		c.Profile = err.Error()
		return
	}
	base, err := r.Line("relay ", 20*time.Second)
	if err != nil {
		c.Profile = err.Error()
		return
	}
	var before, after memStats
	line, err := r.Line("base ", 20*time.Second)
	if err == nil {
		err = json.Unmarshal([]byte(line), &before)
	}
	var agents *IdleAgents
	if err == nil {
		agents, err = NewIdleAgents(2, base)
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		c.ProfileAgents, err = agents.Open(ctx, n, 64)
		cancel()
		defer agents.Close()
	}
	heap := t.TempDir() + "/relay.heap"
	if err == nil {
		time.Sleep(2 * time.Second)
		line, err = r.Ask("profile "+heap, "stats ", time.Minute)
	}
	if err == nil {
		err = json.Unmarshal([]byte(line), &after)
	}
	if err != nil {
		c.Profile = "profile failed: " + err.Error()
		return
	}
	k := float64(c.ProfileAgents)
	c.PerAgentHeap = float64(after.HeapInuse-before.HeapInuse) / k
	c.PerAgentStack = float64(after.StackInuse-before.StackInuse) / k
	c.PerAgentGos = float64(after.Goroutines-before.Goroutines) / k
	self, _ := os.Executable()
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=14", "-sample_index=inuse_space", self, heap).CombinedOutput()
	if err != nil {
		c.Profile = fmt.Sprintf("go tool pprof: %v: %s", err, out)
		return
	}
	c.Profile = trimPprof(string(out))
}

// trimPprof drops pprof's preamble lines about files and build ids.
func trimPprof(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") || strings.HasPrefix(l, "Time:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}
