package testrig

import (
	"bufio"
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
)

// Proc is a program a test started: the relay, the agent, or a helper.
// Its stdout lines are read for the announcements and answers a test waits
// for; its stderr is kept to say why it failed.
type Proc struct {
	cmd    *exec.Cmd
	name   string
	in     io.WriteCloser
	stderr *tailBuffer
	lines  chan string
	done   chan struct{}
	err    error // how it exited, once done is closed
}

// Start starts name with env added to the test's own environment. The
// process is stopped when the test ends, and a failed test logs the end of
// its stderr.
func Start(t testing.TB, env []string, name string, args ...string) (*Proc, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &Proc{cmd: cmd, name: filepath.Base(name), stderr: &tailBuffer{}, lines: make(chan string, 256), done: make(chan struct{})}
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
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", p.name, p.tail())
		}
	})
	return p, nil
}

func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Done is closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is how the process exited (an *exec.ExitError for a non-zero status
// or a signal); valid once Done is closed.
func (p *Proc) Err() error { return p.err }

// Stderr is what the process wrote on stderr (the end of it, past
// maxStderr).
func (p *Proc) Stderr() string { return p.stderr.String() }

// tail is the end of stderr, as much as an error message should hold.
func (p *Proc) tail() string {
	s := p.Stderr()
	const most = 64 << 10
	if len(s) > most {
		s = "…" + s[len(s)-most:]
	}
	return s
}

// Line returns the rest of the next stdout line starting with prefix;
// other lines are skipped.
func (p *Proc) Line(prefix string, within time.Duration) (string, error) {
	timeout := time.After(within)
	for {
		select {
		case l := <-p.lines:
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return strings.TrimSpace(rest), nil
			}
		case <-p.done:
			return "", fmt.Errorf("%s exited (%v) before printing %q:\n%s", p.name, p.err, prefix, p.tail())
		case <-timeout:
			return "", fmt.Errorf("%s printed no %q within %v:\n%s", p.name, prefix, within, p.tail())
		}
	}
}

// Ask writes a command line to the process and returns its answer line.
func (p *Proc) Ask(cmd, prefix string, within time.Duration) (string, error) {
	if _, err := fmt.Fprintln(p.in, cmd); err != nil {
		return "", fmt.Errorf("%s: send %q: %w", p.name, cmd, err)
	}
	return p.Line(prefix, within)
}

// CloseInput closes the process's stdin: a program reading commands there
// sees their end.
func (p *Proc) CloseInput() error { return p.in.Close() }

// Stop asks the process to end (SIGTERM), and kills it after 5 s.
func (p *Proc) Stop() {
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

// Exited waits for the process to end by itself.
func (p *Proc) Exited(within time.Duration) error {
	select {
	case <-p.done:
		return nil
	case <-time.After(within):
		return fmt.Errorf("%s still running after %v", p.name, within)
	}
}

// maxStderr bounds what a process's stderr keeps: all of a normal run, and
// the end of a relay out of file descriptors that logs every accept.
const maxStderr = 8 << 20

// tailBuffer keeps the last maxStderr/2 to maxStderr bytes written to it.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > maxStderr {
		t.b = append([]byte(nil), t.b[len(t.b)-maxStderr/2:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
