//go:build bench

package bench

import (
	"context"
	"fmt"
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
	marker   *Marker
	counter  uint16
}

func newStage(t *testing.T) (*stage, error) {
	s := &stage{t: t, dir: t.TempDir(), display: xvfb.Start(t, 1920, 1080)}
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
	if s.console, err = tab(t, browser); err != nil {
		return nil, err
	}
	if err := consoleLogin(s.console, base, password); err != nil {
		return nil, err
	}
	if s.customer, err = tab(t, browser); err != nil {
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

// results is everything TestBench measured, for the report.
type results struct {
	allow      []time.Duration
	meekijk    []phaseResult
	vnc        []phaseResult
	perfIdle   string
	perfBusy   string
	input      Dist
	inputNote  string
	capacity   *capacity
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
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
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

	// Allow to first frame, three times; the last session stays on.
	var m *meekijk
	for i := range 3 {
		var d time.Duration
		if m, d, err = s.startSession(); err != nil {
			r.fail("session", err)
			return
		}
		r.allow = append(r.allow, d)
		if i < 2 {
			if err := m.stop(); err != nil {
				r.fail("stop session", err)
				return
			}
		}
	}
	for _, w := range workloads() {
		res := s.measure(ctx, w, m)
		if res.err != nil {
			r.fail("meekijk "+w.name, res.err)
		}
		r.meekijk = append(r.meekijk, res)
	}
	r.perfIdle = s.profileAgent(ctx, m, workloads()[0])
	r.perfBusy = s.profileAgent(ctx, m, workloads()[3])
	r.input, r.inputNote = s.inputLatency(ctx, m)
	if err := m.stop(); err != nil {
		r.fail("stop session", err)
	}

	v, err := startVNC(ctx, s.display)
	if err != nil {
		r.fail("x11vnc", err)
	} else {
		for _, w := range workloads() {
			res := s.measure(ctx, w, v)
			if res.err != nil {
				r.fail("vnc "+w.name, res.err)
			}
			r.vnc = append(r.vnc, res)
		}
		v.stop()
	}
	w := measureWindows(ctx, s.display, bin.agent)
	if w.failure != nil {
		r.fail("Windows agent", w.failure)
	}
	r.windows = &w
	r.capacity = measureCapacity(t)
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
		{"commit", first("git", "describe", "--always", "--dirty")},
		{"run took", took.Round(time.Second).String()},
		{"load average (1, 5, 15 min) at the end", loadAvg()},
	}
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
