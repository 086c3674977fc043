package bench

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"time"
)

// X11VNC is a running x11vnc, the peer Meekijk is compared with.
type X11VNC struct {
	Cmd  *exec.Cmd
	Addr string // 127.0.0.1:port
}

// StartX11VNC serves display over RFB on loopback only, without a
// password, until ctx ends or Stop. It returns once the port answers.
// -nocursor: the pointer is not part of the comparison.
func StartX11VNC(ctx context.Context, display string) (*X11VNC, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "x11vnc", "-localhost", "-rfbport", strconv.Itoa(port), "-nopw", "-shared",
		"-forever", "-display", display, "-nocursor", "-quiet")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start x11vnc (scripts/deps.sh installs it): %w", err)
	}
	v := &X11VNC{Cmd: cmd, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
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

// Stop ends x11vnc.
func (v *X11VNC) Stop() {
	_ = v.Cmd.Process.Kill()
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
