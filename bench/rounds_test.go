package bench

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestSpread(t *testing.T) {
	s := SpreadOf([]float64{24.2, 19.0, 21.3})
	if s.Median != 21.3 || s.Min != 19.0 || s.Max != 24.2 || s.N != 3 {
		t.Fatalf("SpreadOf = %+v", s)
	}
	if got := s.Format(1); got != "21.3 (19.0-24.2)" {
		t.Errorf("Format = %q", got)
	}
	if s.Noisy(0.35) {
		t.Errorf("rel %.2f marked noisy at 0.35", s.Rel())
	}
	if !SpreadOf([]float64{20, 40, 21}).Noisy(0.35) {
		t.Error("a round twice the others is not noisy")
	}
	if !SpreadOf([]float64{20}).Noisy(0.35) {
		t.Error("one round cannot show its spread")
	}
	if (Spread{}).Format(1) != "-" {
		t.Error("no rounds is not shown as -")
	}
}

func TestLoadSampler(t *testing.T) {
	l := SampleLoad(10 * time.Millisecond)
	time.Sleep(35 * time.Millisecond)
	mean, highest := l.Stop()
	if mean < 0 || highest < mean {
		t.Errorf("mean %.2f, highest %.2f", mean, highest)
	}
}

// The history survives a rewrite of the report: written with the report,
// read back, one row added.
func TestHistoryRoundTrip(t *testing.T) {
	rep := Report{Sections: []Section{
		{Title: "Results elsewhere", Header: []string{"a", "b"}, Rows: [][]string{{"x", "y"}}},
		{Title: strings.TrimPrefix(historyTitle, "## "), Header: HistoryHeader, Rows: [][]string{
			{"2026-12-01 10:00", "abc123", "0.4", "21.3 / 36.1", "31 / 30", "188", "3 / 6", "0.20", "40 / 80", "22 / 21"},
			{"2026-12-02 10:00", "def456", "0.5", "a \\| b", "", "", "", "", "", ""},
		}},
	}}
	var b bytes.Buffer
	if err := rep.Write(&b, "# Benchmarks\n"); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadHistory(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][1] != "abc123" || rows[1][3] != "a \\| b" {
		t.Fatalf("rows = %q", rows)
	}
	for range historyKeep + 5 {
		rows = AppendHistory(rows, []string{"d", "c"})
	}
	if len(rows) != historyKeep {
		t.Errorf("%d rows kept, want %d", len(rows), historyKeep)
	}
}

// The busy loop takes a core's worth of CPU on the core it was given, and
// a process pinned beside it stays there.
func TestBusyPinned(t *testing.T) {
	core := BusyCore()
	b, err := StartBusy(core)
	if err != nil {
		t.Skip(err)
	}
	defer b.Stop()
	cpu, err := StartCPU(b.Pid())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if p, _ := cpu.Percent(); p < 30 {
		t.Errorf("busy loop used %.0f %% of a core", p)
	}
	if err := Pin(b.Pid(), core); err != nil {
		t.Fatal(err)
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("Cpus_allowed_list:\t%d\n", core); !strings.Contains(string(st), want) {
		t.Errorf("status has no %q", want)
	}
	if err := Pin(b.Pid(), -1); err != nil {
		t.Fatal(err)
	}
}

func TestPSNR(t *testing.T) {
	want := []byte{0, 255, 0, 255}
	if p, err := PSNR(want, want); err != nil || !math.IsInf(p, 1) {
		t.Errorf("equal: %v, %v", p, err)
	}
	// Every sample off by 1: MSE 1, 20*log10(255) = 48.13 dB.
	if p, _ := PSNR(want, []byte{1, 254, 1, 254}); math.Abs(p-48.13) > 0.01 {
		t.Errorf("off by one: %.2f dB", p)
	}
	if _, err := PSNR(want, want[:2]); err == nil {
		t.Error("different sizes compared")
	}
}

func TestBias(t *testing.T) {
	if b, err := Bias([]byte{10, 20}, []byte{12, 24}); err != nil || b != 3 {
		t.Errorf("bias %v, %v", b, err)
	}
}
