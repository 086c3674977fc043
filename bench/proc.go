package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/PID/stat's times: USER_HZ, 100 on every
// Linux architecture Meekijk builds for.
const userHZ = 100

// CPUTime is the processor time pid has used so far, user and system
// together, children excluded.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces and parentheses; the
	// fields after its last ')' are fixed.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat of %d: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat of %d: %d fields", pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat of %d: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// RSS is pid's resident memory in bytes (VmRSS).
func RSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("open status of %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS of %d: %w", pid, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("status of %d: no VmRSS", pid)
}

// CPUMeter measures the share of one core a process uses between Start
// and Stop.
type CPUMeter struct {
	pid  int
	cpu0 time.Duration
	t0   time.Time
}

// StartCPU starts measuring pid.
func StartCPU(pid int) (*CPUMeter, error) {
	c, err := CPUTime(pid)
	if err != nil {
		return nil, err
	}
	return &CPUMeter{pid: pid, cpu0: c, t0: time.Now()}, nil
}

// Percent is the percentage of one core used since StartCPU.
func (m *CPUMeter) Percent() (float64, error) {
	c, err := CPUTime(m.pid)
	if err != nil {
		return 0, err
	}
	return 100 * float64(c-m.cpu0) / float64(time.Since(m.t0)), nil
}
