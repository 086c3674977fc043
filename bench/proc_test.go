package bench

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// rusageCPU is this process's processor time as the kernel reports it
// through getrusage: the reference /proc must agree with.
func rusageCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestCPUAndRSSOfThisProcess(t *testing.T) {
	pid := os.Getpid()
	before, err := CPUTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	ref := rusageCPU(t)
	// Burn 300 ms of processor time, however busy the machine is.
	x := 0
	for rusageCPU(t)-ref < 300*time.Millisecond {
		x++
	}
	after, err := CPUTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	// /proc counts in 10 ms ticks; allow a few.
	if d := after - before; d < 250*time.Millisecond || d > 400*time.Millisecond {
		t.Fatalf("300 ms of processor time read from /proc as %v (x=%d)", d, x)
	}
	rss, err := RSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 || rss > 4<<30 {
		t.Fatalf("RSS %d bytes is implausible for a test binary", rss)
	}
	if _, err := CPUTime(1 << 30); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}
