//go:build bench

package bench

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/testrig"
)

var (
	outPath   = flag.String("out", "", "write the report to this file (make bench: BENCHMARKS.md)")
	phaseDur  = flag.Duration("phase", 12*time.Second, "how long each workload is measured")
	maxAgents = flag.Int("agents", 50_000, "idle agents to step up to")
)

// roleEnv makes the test binary a helper process instead of the benchmark:
// the load generator needs file descriptors of its own, beyond this
// process's limit, and the relay's heap is profiled without the
// benchmark's own allocations in it.
const roleEnv = "MEEKIJK_BENCH_ROLE"

var bin struct{ relay, agent string }

func TestMain(m *testing.M) {
	quietX()
	switch os.Getenv(roleEnv) {
	case "loadgen":
		os.Exit(loadgenChild())
	case "relay-profile":
		os.Exit(relayProfileChild())
	}
	flag.Parse()
	dir, err := os.MkdirTemp("", "meekijk-bench-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Built as the Makefile builds them for release.
	if bin.relay, bin.agent, err = testrig.Build("..", dir, "bench", "-trimpath"); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tailBuffer keeps the last 256 KiB a process wrote: enough to show why it
// failed, bounded when a relay out of file descriptors logs every accept.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 256<<10 {
		t.b = append([]byte(nil), t.b[len(t.b)-128<<10:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// proc is a started program whose stdout lines are read for its
// announcements and answers.
type proc struct {
	cmd    *exec.Cmd
	name   string
	in     io.WriteCloser
	stderr *tailBuffer
	lines  chan string
	done   chan struct{}
}

// startProc starts name, stopped when the test ends.
func startProc(t *testing.T, env []string, name string, args ...string) (*proc, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, name: filepath.Base(name), stderr: &tailBuffer{}, lines: make(chan string, 256), done: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if p.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // unawaited chatter
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// line returns the rest of the next stdout line starting with prefix;
// other lines are skipped.
func (p *proc) line(prefix string, within time.Duration) (string, error) {
	timeout := time.After(within)
	for {
		select {
		case l := <-p.lines:
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return strings.TrimSpace(rest), nil
			}
		case <-p.done:
			return "", fmt.Errorf("%s exited before printing %q:\n%s", p.name, prefix, p.stderr.String())
		case <-timeout:
			return "", fmt.Errorf("%s printed no %q within %v:\n%s", p.name, prefix, within, p.stderr.String())
		}
	}
}

// ask writes a command line to the process and returns its answer line.
func (p *proc) ask(cmd, prefix string, within time.Duration) (string, error) {
	if _, err := fmt.Fprintln(p.in, cmd); err != nil {
		return "", fmt.Errorf("%s: send %q: %w", p.name, cmd, err)
	}
	return p.line(prefix, within)
}

// stop asks the process to end (SIGTERM), and kills it after 5 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited waits for the process to end by itself.
func (p *proc) exited(within time.Duration) error {
	select {
	case <-p.done:
		return nil
	case <-time.After(within):
		return fmt.Errorf("%s still running after %v", p.name, within)
	}
}
