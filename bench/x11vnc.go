package bench

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// X11VNC is a running x11vnc, the peer Meekijk is compared with.
type X11VNC struct {
	Cmd  *exec.Cmd
	Addr string // 127.0.0.1:port
	stop context.CancelFunc
}

// StartX11VNC serves display over RFB on loopback only, without a
// password, until ctx ends or Stop. It returns once the port answers.
// -nocursor: the pointer is not part of the comparison.
func StartX11VNC(ctx context.Context, display string) (*X11VNC, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, "x11vnc", "-localhost", "-rfbport", strconv.Itoa(port), "-nopw", "-shared",
		"-forever", "-display", display, "-nocursor", "-quiet")
	// Asked to stop, not killed: x11vnc removes its System V
	// shared-memory segments (about 60) on its way out, and a killed one
	// leaves them until the system's 4096 are gone.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	if err := cmd.Start(); err != nil {
		stop()
		return nil, fmt.Errorf("start x11vnc (scripts/deps.sh installs it): %w", err)
	}
	v := &X11VNC{Cmd: cmd, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), stop: stop}
	if err := waitListen(v.Addr, 15*time.Second); err != nil {
		v.Stop()
		return nil, fmt.Errorf("x11vnc: %w", err)
	}
	return v, nil
}

// waitListen waits until something accepts connections on addr.
func waitListen(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %v: %w", addr, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopGrace is how long x11vnc has to clean up after SIGTERM before it is
// killed. Once a client has been served, x11vnc 0.9.16 often hangs in its
// exit handler after removing its segments (seen 3 times in 3 with -quiet);
// the kill then ends what is left.
const stopGrace = 2 * time.Second

// Stop ends x11vnc as the context's end would: SIGTERM, so it removes its
// shared memory, and a kill if it is still there after stopGrace.
func (v *X11VNC) Stop() {
	v.stop()
	_ = v.Cmd.Wait()
}

// freePort asks the kernel for a loopback port nobody listens on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
