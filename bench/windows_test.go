//go:build bench

package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/winetest"
	"github.com/meekijk/meekijk/internal/xvfb"
)

// The Windows agent's figures (issue 14's targets), measured under Debian's
// Wine on the bench's display beside the Linux agent: the size of
// agent.exe, the time from starting it to its page's address, and the cost
// of a 1080p capture on the GDI path (Wine refuses desktop duplication).
// Starts alternate Windows and Linux, so both see the same machine.

// windowsStarts is how many warm starts of each agent are timed; the
// first, cold start (Wine's server and prefix waking up) is reported apart.
const windowsStarts = 5

type windowsFigures struct {
	exeBytes         int64
	coldStart        time.Duration
	wineStarts       []time.Duration
	linuxStarts      []time.Duration
	gdi, x11         map[string][]float64 // benchmark name -> ns/op, one per run
	load             string
	skipped, failure error
}

func measureWindows(ctx context.Context, display, linuxAgent string) (w windowsFigures) {
	w.load = loadAvg()
	wine, err := winetest.Prepare("..", "-s -w")
	if errors.Is(err, winetest.ErrMissing) {
		w.skipped = err
		return w
	}
	if err != nil {
		w.failure = err
		return w
	}
	defer wine.Close()
	// -H windowsgui only marks the file's subsystem: the shipped file
	// (make agent-windows) has the same size as this one, whose output the
	// bench needs to read.
	st, err := os.Stat(wine.Exe)
	if err != nil {
		w.failure = err
		return w
	}
	w.exeBytes = st.Size()
	start := func(env []string, program string, args ...string) (time.Duration, error) {
		return timeToPage(ctx, env, program, args...)
	}
	wineArgs := []string{wine.Exe, "-relay", "http://127.0.0.1:9", "-no-browser", "-lang", "nl"}
	if w.coldStart, err = start(wine.Env(display), "wine", wineArgs...); err != nil {
		w.failure = fmt.Errorf("agent.exe under Wine: %w", err)
		return w
	}
	for range windowsStarts {
		d, err := start(wine.Env(display), "wine", wineArgs...)
		if err != nil {
			w.failure = fmt.Errorf("agent.exe under Wine: %w", err)
			return w
		}
		w.wineStarts = append(w.wineStarts, d)
		if d, err = start([]string{"DISPLAY=" + display}, linuxAgent, "-relay", "http://127.0.0.1:9", "-no-browser", "-lang", "nl"); err != nil {
			w.failure = fmt.Errorf("Linux agent: %w", err)
			return w
		}
		w.linuxStarts = append(w.linuxStarts, d)
	}
	if w.gdi, err = gdiBenchmarks(ctx, wine, display); err != nil {
		w.failure = err
		return w
	}
	if w.x11, err = x11Benchmarks(ctx); err != nil {
		w.failure = err
	}
	return w
}

// timeToPage starts an agent and returns how long it took to print its
// page's address; the agent is then stopped.
func timeToPage(ctx context.Context, env []string, program string, args ...string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Open this page to continue: ") {
			return time.Since(began), nil
		}
	}
	return 0, fmt.Errorf("no page address before the output ended: %v", errors.Join(sc.Err(), ctx.Err()))
}

// gdiBenchmarks cross-builds agent/capture's tests and runs the GDI
// benchmarks (gdi_windows_test.go) under Wine on display, five times.
func gdiBenchmarks(ctx context.Context, wine *winetest.Wine, display string) (map[string][]float64, error) {
	exe := filepath.Join(wine.Dir, "capture.test.exe")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", exe, "./agent/capture")
	build.Dir = ".."
	build.Env = append(os.Environ(), winetest.CrossEnv()...)
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cross-build the capture benchmarks: %v\n%s", err, out)
	}
	run := exec.CommandContext(ctx, "wine", exe, "-test.run", "^$", "-test.bench", "GDI", "-test.count", "5")
	run.Env = append(os.Environ(), wine.Env(display)...)
	out, err := run.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("GDI benchmarks under Wine: %v\n%s", err, out)
	}
	return nsPerOp(out), nil
}

// x11Benchmarks runs the Linux capture's counterparts natively (they start
// their own 1920x1080 Xvfb).
func x11Benchmarks(ctx context.Context) (map[string][]float64, error) {
	run := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "GrabXShm(Idle)?_1080p$", "-count", "5", "./agent/capture")
	run.Dir = ".."
	out, err := run.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("X11 capture benchmarks: %v\n%s", err, out)
	}
	return nsPerOp(out), nil
}

// nsPerOp reads `go test -bench` output: benchmark name (without the
// -GOMAXPROCS suffix) -> ns/op of each run.
func nsPerOp(out []byte) map[string][]float64 {
	res := map[string][]float64{}
	for line := range bytes.Lines(out) {
		f := strings.Fields(string(line))
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || f[3] != "ns/op" {
			continue
		}
		name, _, _ := strings.Cut(f[0], "-")
		if v, err := strconv.ParseFloat(f[2], 64); err == nil {
			res[name] = append(res[name], v)
		}
	}
	return res
}

// medianSpread is "12.3 ms (11.9–13.0)" of samples in nanoseconds.
func medianSpread(ns []float64) string {
	if len(ns) == 0 {
		return "not measured"
	}
	s := slices.Sorted(slices.Values(ns))
	f := func(v float64) string {
		if v < 1e6 {
			return fmt.Sprintf("%.0f µs", v/1e3)
		}
		return fmt.Sprintf("%.1f ms", v/1e6)
	}
	return fmt.Sprintf("%s (%s–%s)", f(s[len(s)/2]), f(s[0]), f(s[len(s)-1]))
}

func durations(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d)
	}
	return out
}

func (w windowsFigures) section() Section {
	sec := Section{Title: "Windows agent under Wine, beside the Linux agent"}
	switch {
	case w.skipped != nil:
		sec.Text = "Not measured: " + w.skipped.Error()
		return sec
	case w.failure != nil:
		sec.Text = "Failed: " + w.failure.Error()
		return sec
	}
	sec.Text = fmt.Sprintf(`agent.exe as `+"`make agent-windows`"+` builds it (mingw, static, OpenH264 inside), run by Debian's Wine 8 on
the bench's 1920x1080 Xvfb display; the Linux agent beside it on the same display. Medians of %d runs, with
min–max; starts alternate the two agents. Load average when the phase began: %s. Wine refuses DXGI desktop
duplication, so the GDI path is what is measured here; duplication can only be measured on real Windows
(docs/platforms.md). A start is timed to the moment the agent prints its page's address.`, windowsStarts, w.load)
	sec.Header = []string{"figure", "Windows (Wine)", "Linux", "goal"}
	sec.Rows = [][]string{
		{"agent size", fmt.Sprintf("%.1f MB (%d bytes)", float64(w.exeBytes)/1e6, w.exeBytes), "", "<= 20 MB"},
		{"start to the code page, warm", medianSpread(durations(w.wineStarts)), medianSpread(durations(w.linuxStarts)), "<= 1 s under Wine"},
		{"start to the code page, first (cold Wine)", medianSpread([]float64{float64(w.coldStart)}), "", ""},
		{"1080p capture, changed frame (copy, compare, convert)", medianSpread(w.gdi["BenchmarkGrabGDI_1080p"]), medianSpread(w.x11["BenchmarkGrabXShm_1080p"]), ""},
		{"1080p capture, unchanged screen (per tick)", medianSpread(w.gdi["BenchmarkGrabGDIIdle_1080p"]), medianSpread(w.x11["BenchmarkGrabXShmIdle_1080p"]), ""},
	}
	return sec
}

// TestWindowsPhase runs the Windows phase alone and prints its section:
// go test -tags bench -run TestWindowsPhase -v ./bench
func TestWindowsPhase(t *testing.T) {
	w := measureWindows(t.Context(), xvfb.Start(t, 1920, 1080), bin.agent)
	if w.failure != nil {
		t.Fatal(w.failure)
	}
	var b strings.Builder
	if err := (&Report{Sections: []Section{w.section()}}).Write(&b, ""); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}
