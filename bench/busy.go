package bench

import (
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
)

// Busy is the customer's own software keeping the machine busy: one
// process looping at normal priority, pinned to one core. The program
// under test is pinned to the same core (Pin), so it has to share it as
// it would with an accounting program that spins; everything else (X,
// the browser) runs where the scheduler puts it.
type Busy struct {
	cmd  *exec.Cmd
	Core int
}

// BusyCore is the core the busy load and the pinned program share: the
// last one, so core 0's interrupts are not part of it.
func BusyCore() int { return runtime.NumCPU() - 1 }

// StartBusy starts the busy loop on core; Stop ends it.
func StartBusy(core int) (*Busy, error) {
	cmd := exec.Command("taskset", "-c", strconv.Itoa(core), "sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the busy loop (taskset, util-linux): %w", err)
	}
	return &Busy{cmd: cmd, Core: core}, nil
}

// Pid is the busy loop's process.
func (b *Busy) Pid() int { return b.cmd.Process.Pid }

// Stop ends the busy loop.
func (b *Busy) Stop() {
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
}

// Pin restricts every thread of pid to core; threads it starts later
// inherit it. core < 0 lets it run on every core again.
func Pin(pid, core int) error {
	cpus := fmt.Sprintf("0-%d", runtime.NumCPU()-1)
	if core >= 0 {
		cpus = strconv.Itoa(core)
	}
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(pid)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset %s on %d: %w: %s", cpus, pid, err, out)
	}
	return nil
}
