//go:build bench

package bench

import (
	"cmp"
	"context"
	"fmt"
	"image"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/xvfb"
)

// stage is everything the Meekijk and VNC measurements share.
type stage struct {
	t        *testing.T
	dir      string
	display  string
	base     string
	api      *API
	ticket   int64
	console  context.Context
	customer context.Context
	browser  context.Context
	marker   *Marker
	counter  uint16
	pinCore  int // the agent is pinned to this core when >= 0 (busy CPU)
}

func newStage(t *testing.T) (*stage, error) {
	s := &stage{t: t, dir: t.TempDir(), display: xvfb.Start(t, screenSize.X, screenSize.Y), pinCore: -1}
	_, base, password, err := startRelayBinary(t)
	if err != nil {
		return nil, err
	}
	s.base = base
	if s.api, err = LoginAPI(base, "admin", password); err != nil {
		return nil, err
	}
	// The ticket's customer has no contract, so control is billable, and
	// billable work needs a price before it may be asked for.
	if err = s.api.Do("POST", "/api/v1/rates/default", map[string]any{"centsPerHour": 8500, "effectiveFrom": "2020-01-01"}, 200, nil); err != nil {
		return nil, err
	}
	if s.ticket, err = s.api.NewTicket("Bakkerij Peeters", "Kassa print geen tickets"); err != nil {
		return nil, err
	}
	browser, err := startBrowser(t)
	if err != nil {
		return nil, err
	}
	s.browser = browser
	if s.console, err = tab(t, browser); err != nil {
		return nil, err
	}
	if err := consoleLogin(s.console, base, password); err != nil {
		return nil, err
	}
	if s.customer, err = tab(t, s.browser); err != nil {
		return nil, err
	}
	if s.marker, err = NewMarker(s.display); err != nil {
		return nil, err
	}
	t.Cleanup(s.marker.Close)
	s.counter = 1
	_, err = s.marker.Paint(s.counter)
	return s, err
}

// condition is the state of the customer's PC a set of rounds runs in.
type condition struct {
	name string
	busy bool // a busy loop shares the core the agent and x11vnc are pinned to
}

// screenSize is the bench display's, the customer's screen.
var screenSize = image.Pt(1920, 1080)

var conditions = []condition{{name: "quiet"}, {name: "busy CPU", busy: true}}

// condResult is everything measured in one condition, round by round.
type condResult struct {
	cond      condition
	allow     []time.Duration
	timeline  string                   // the steps from Allow to the first frame, of the last session
	meekijk   map[string][]phaseResult // by workload, one per round
	novnc     map[string][]phaseResult
	sharp     []sharpness // Meekijk, then noVNC
	input     []Dist      // one per round
	inputNote string      // why a round measured no input latency
	// inputStages splits the last round's input latency at the agent.
	inputStages string
}

// results is everything TestBench measured, for the report.
type results struct {
	conds      []*condResult
	native     []phaseResult // the Go RFB client on x11vnc, one quiet round
	perfIdle   string
	perfBusy   string
	perfLoaded string // moving a window with the busy loop beside the agent
	capacity   *capacity
	relays     *relays
	windows    *windowsFigures
	errs       []string
	loadBefore string // /proc/loadavg when the run began
}

func (r *results) fail(what string, err error) {
	r.errs = append(r.errs, fmt.Sprintf("%s: %v", what, err))
}

func TestBench(t *testing.T) {
	start := time.Now()
	r := &results{loadBefore: loadAvg()}
	ctx, cancel := context.WithTimeout(context.Background(), 14*time.Minute)
	defer cancel()
	defer func() {
		if err := writeReport(r, time.Since(start)); err != nil {
			t.Error(err)
		}
		for _, e := range r.errs {
			t.Error(e)
		}
	}()
	s, err := newStage(t)
	if err != nil {
		r.fail("set up", err)
		return
	}
	peerTab, err := tab(t, s.browser)
	if err != nil {
		r.fail("set up", err)
		return
	}
	peer, err := startNoVNC(ctx, s, peerTab)
	if err != nil {
		r.fail("noVNC", err)
		return
	}
	defer peer.stop()
	for _, c := range conditions {
		cr := s.runCondition(ctx, r, c, peer)
		r.conds = append(r.conds, cr)
		if ctx.Err() != nil {
			r.fail(c.name, ctx.Err())
			return
		}
	}
	peer.stop()

	// The native viewer: the bound of what x11vnc itself delivers,
	// without a browser, once, on the quiet machine.
	if v, err := startVNC(ctx, s.display); err != nil {
		r.fail("x11vnc with the Go RFB client", err)
	} else {
		for _, w := range workloads() {
			res := s.measure(ctx, w, v)
			if res.err != nil {
				r.fail("native viewer "+w.name, res.err)
			}
			r.native = append(r.native, res)
		}
		v.stop()
	}
	w := measureWindows(ctx, s.display, bin.agent)
	if w.failure != nil {
		r.fail("Windows agent", w.failure)
	}
	r.windows = &w
	if *withCapacity {
		r.capacity = measureCapacity(t)
		r.relays = measureRelays(t)
	}
}

// runCondition measures every workload in interleaved rounds: a Meekijk
// session (started afresh, which times Allow to first frame), then noVNC,
// then Meekijk again, so slow drifts of the machine hit both alike. Each
// viewer runs alone: the session ends before noVNC connects, and noVNC
// leaves before the next session starts.
func (s *stage) runCondition(ctx context.Context, r *results, c condition, peer *noVNC) *condResult {
	cr := &condResult{cond: c, meekijk: map[string][]phaseResult{}, novnc: map[string][]phaseResult{}}
	s.pinCore = -1
	if c.busy {
		b, err := StartBusy(BusyCore())
		if err != nil {
			r.fail(c.name, err)
			return cr
		}
		defer b.Stop()
		s.pinCore = b.Core
		if err := Pin(peer.pid(), b.Core); err != nil {
			r.fail(c.name, err)
			return cr
		}
		defer func() { _ = Pin(peer.pid(), -1) }()
	}
	for round := range *rounds {
		last := round == *rounds-1
		m, d, timeline, err := s.startSession()
		if err != nil {
			r.fail(c.name+": session", err)
			return cr
		}
		cr.allow = append(cr.allow, d)
		cr.timeline = timeline
		s.measureAll(ctx, r, fmt.Sprintf("%s: Meekijk, round %d", c.name, round+1), m, cr.meekijk)
		if last {
			cr.sharp = append(cr.sharp, s.sharpness(ctx, "Meekijk", m.console, consoleVideo))
			switch {
			case !c.busy:
				r.perfIdle = s.profileAgent(ctx, m, workloads()[0])
				r.perfBusy = s.profileAgent(ctx, m, workloads()[3])
			default:
				r.perfLoaded = s.profileAgent(ctx, m, workloads()[4])
			}
		}
		// Every round: the p95 of 30 clicks is one slow click, so one
		// round's figure is not a result.
		if in, stages, note := s.inputLatency(ctx, m); in.N > 0 {
			cr.input, cr.inputStages = append(cr.input, in), stages
		} else {
			cr.inputNote = cmp.Or(cr.inputNote, note)
		}
		if err := m.stop(); err != nil {
			r.fail(c.name+": stop session", err)
			return cr
		}
		if err := peer.connect(); err != nil {
			r.fail(c.name+": noVNC", err)
			return cr
		}
		s.measureAll(ctx, r, fmt.Sprintf("%s: noVNC, round %d", c.name, round+1), peer, cr.novnc)
		if last {
			cr.sharp = append(cr.sharp, s.sharpness(ctx, "noVNC", peer.tab, noVNCCanvas))
		}
		if err := peer.disconnect(); err != nil {
			r.fail(c.name+": noVNC", err)
			return cr
		}
	}
	return cr
}

// measureAll runs every workload once through v, adding each result to
// its workload's rounds in into.
func (s *stage) measureAll(ctx context.Context, r *results, what string, v viewer, into map[string][]phaseResult) {
	for _, w := range workloads() {
		res := s.measure(ctx, w, v)
		if res.err != nil {
			r.fail(what+", "+w.name, res.err)
		}
		into[w.name] = append(into[w.name], res)
	}
}

// profileAgent samples the agent's stacks with perf while workload w runs,
// and returns the hottest functions; "" when perf is not there.
func (s *stage) profileAgent(ctx context.Context, m *meekijk, w workload) string {
	if _, err := exec.LookPath("perf"); err != nil {
		return "perf is not installed (Debian linux-perf): no profile"
	}
	stop, err := w.start(ctx, s)
	if err != nil {
		return "workload: " + err.Error()
	}
	defer stop()
	data := s.dir + "/perf.data"
	paints := map[uint16]time.Time{}
	rec := exec.CommandContext(ctx, "perf", "record", "-F", "499", "-g", "-o", data, "-p", fmt.Sprint(m.pid()), "--", "sleep", "8")
	if err := rec.Start(); err != nil {
		return "perf record: " + err.Error()
	}
	if w.marker {
		_ = s.paintFor(ctx, 8*time.Second, paints)
	}
	if err := rec.Wait(); err != nil {
		return "perf record: " + err.Error()
	}
	out, err := exec.CommandContext(ctx, "perf", "report", "-i", data, "--stdio", "--no-children",
		"--sort", "dso,sym", "-g", "none").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("perf report: %v: %s", err, out)
	}
	var top []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || strings.HasPrefix(l, "#") {
			continue
		}
		if p, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64); err == nil && p >= 1.5 {
			top = append(top, strings.TrimRight(l, " "))
		}
	}
	return "by stage:\n" + formatStages(PerfStages(string(out))) + "\nfunctions above 1.5 %:\n" + strings.Join(top, "\n")
}

// machine describes where the figures come from.
func machine(took time.Duration) [][2]string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.TrimPrefix(strings.Split(string(b), "\n")[0], "MemTotal:"), "%d", &kb)
		mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	first := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return "not available"
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return strings.TrimSpace(lines[len(lines)-1])
	}
	return [][2]string{
		{"CPU", cpu},
		{"cores", fmt.Sprint(runtime.NumCPU())},
		{"memory", mem},
		{"kernel", first("uname", "-r")},
		{"date", time.Now().UTC().Format("2006-01-02 15:04 MST")},
		{"Go", runtime.Version()},
		{"Chromium", first("/usr/bin/chromium", "--version")},
		{"x11vnc", first("x11vnc", "-version")},
		{"commit", gitCommit()},
		{"run took", took.Round(time.Second).String()},
		{"load average (1, 5, 15 min) at the end", loadAvg()},
	}
}

// gitCommit names the code measured.
func gitCommit() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "not available"
	}
	return strings.TrimSpace(string(out))
}

// loadAvg shows how busy the machine was: other work on the same cores
// moves every figure here.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], ", ")
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
