//go:build linux

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/sys/unix"
)

// The connectivity tests put the relay, the agent and the browsers on
// separate hosts: Linux network namespaces joined by veth pairs, made with
// Debian's iproute2. The namespaces have no link to the host's own network,
// so whatever the programs in them send, on purpose or by mistake, stays in
// them.

// requireNetns skips the test unless it can create network namespaces.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (ip netns); CI runs as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip not found: install Debian's iproute2 (scripts/deps.sh)")
	}
}

// netns is a network namespace the test created; it is deleted when the
// test ends, after the processes started in it later (cleanups run last
// in, first out).
type netns struct{ name string }

// newNetns creates a namespace named after role, with a random suffix so
// that tests running at the same time on one machine do not collide.
func newNetns(t *testing.T, role string) *netns {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	n := &netns{name: "meekijk-" + role + "-" + hex.EncodeToString(b)}
	ipCmd(t, "netns", "add", n.name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
			t.Errorf("delete network namespace %s: %v: %s", n.name, err, out)
		}
	})
	// No IPv6: its link-local addresses finish duplicate address
	// detection a second or two after a link comes up, and Chromium takes
	// that for a change of network and aborts the requests in flight
	// (net::ERR_NETWORK_CHANGED), a page load among them. The tests use
	// IPv4 only. A kernel without IPv6 has no knob and nothing to turn off.
	for _, scope := range []string{"all", "default"} {
		knob := "/proc/sys/net/ipv6/conf/" + scope + "/disable_ipv6"
		if out, err := exec.Command("ip", "netns", "exec", n.name, "sh", "-c", "[ ! -e "+knob+" ] || echo 1 > "+knob).CombinedOutput(); err != nil {
			t.Fatalf("turn IPv6 off in %s: %v: %s", n.name, err, out)
		}
	}
	n.ip(t, "link", "set", "lo", "up")
	return n
}

// ipCmd runs ip with args, failing the test on an error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// ip runs ip with args inside the namespace.
func (n *netns) ip(t *testing.T, args ...string) {
	t.Helper()
	ipCmd(t, append([]string{"-n", n.name}, args...)...)
}

// launcher is the command prefix that runs a program in the namespace.
func (n *netns) launcher() []string { return []string{"ip", "netns", "exec", n.name} }

// do runs f on an OS thread that has joined the namespace, so that the
// sockets f opens belong to it; they stay there whichever thread later
// reads or writes them.
func (n *netns) do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: when this goroutine ends, the
		// runtime ends the thread with it instead of handing a thread in
		// the wrong namespace to other goroutines.
		runtime.LockOSThread()
		fd, err := os.Open(filepath.Join("/run/netns", n.name))
		if err != nil {
			errc <- fmt.Errorf("open network namespace %s: %w", n.name, err)
			return
		}
		defer fd.Close()
		if err := unix.Setns(int(fd.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("join network namespace %s: %w", n.name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// dialContext dials from inside the namespace.
func (n *netns) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.do(func() (err error) {
		c, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// transport is an HTTP transport whose connections start in the namespace.
func (n *netns) transport() *http.Transport {
	return &http.Transport{DialContext: n.dialContext}
}

// listenPacket opens a UDP socket inside the namespace.
func (n *netns) listenPacket(t *testing.T, network, addr string) net.PacketConn {
	t.Helper()
	var pc net.PacketConn
	if err := n.do(func() (err error) {
		pc, err = net.ListenPacket(network, addr)
		return err
	}); err != nil {
		t.Fatalf("listen %s %s in %s: %v", network, addr, n.name, err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// unreachable fails the test unless the namespace has no route to addr.
func (n *netns) unreachable(t *testing.T, addr string) {
	t.Helper()
	out, err := exec.Command("ip", "-n", n.name, "route", "get", addr).CombinedOutput()
	if err == nil {
		t.Fatalf("%s has a route to %s: %s", n.name, addr, out)
	}
}

// browser starts headless Chromium inside the namespace, through a
// wrapper script as its executable: chromedp talks to it over pipes, which
// cross namespaces, where a debugging port would be on the namespace's
// own loopback. Loopback candidates are off: the namespace's loopback is
// no path to anyone.
func (n *netns) browser(t *testing.T) context.Context {
	t.Helper()
	wrapper := filepath.Join(t.TempDir(), "chromium-in-"+n.name)
	script := "#!/bin/sh\nexec ip netns exec " + n.name + " /usr/bin/chromium \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return newBrowserWith(t, chromedp.ExecPath(wrapper), chromedp.Flag("allow-loopback-in-peer-connection", false))
}

// star is a hub namespace and spokes linked to it alone, like hosts that
// each reach a server but not each other. The hub answers on a service
// address, the same for every spoke; it does not forward between spokes
// (IP forwarding is off in a new namespace, and is checked).
type star struct {
	hub     *netns
	service string
}

// newStar creates the hub, holding service (an IPv4 address) on its
// loopback interface.
func newStar(t *testing.T, service string) *star {
	t.Helper()
	s := &star{hub: newNetns(t, "hub"), service: service}
	s.hub.ip(t, "addr", "add", service+"/32", "dev", "lo")
	out, err := exec.Command("ip", "netns", "exec", s.hub.name, "cat", "/proc/sys/net/ipv4/ip_forward").Output()
	if err != nil || strings.TrimSpace(string(out)) != "0" {
		t.Fatalf("IP forwarding in %s: %q, %v; want 0", s.hub.name, out, err)
	}
	return s
}

// spoke creates a namespace linked to the hub by a veth pair, hubAddr and
// spokeAddr (CIDR, one subnet) at its two ends, and a route to the service
// address only.
func (s *star) spoke(t *testing.T, role, hubAddr, spokeAddr string) *netns {
	t.Helper()
	n := newNetns(t, role)
	// Both ends are created inside the namespaces, so the host's own
	// network never sees them and names only need to be unique per
	// namespace.
	hubIf := "to-" + role
	if len(hubIf) > 15 {
		t.Fatalf("role %q makes too long an interface name", role)
	}
	s.hub.ip(t, "link", "add", hubIf, "type", "veth", "peer", "name", "to-hub", "netns", n.name)
	s.hub.ip(t, "addr", "add", hubAddr, "dev", hubIf)
	s.hub.ip(t, "link", "set", hubIf, "up")
	n.ip(t, "addr", "add", spokeAddr, "dev", "to-hub")
	n.ip(t, "link", "set", "to-hub", "up")
	n.ip(t, "route", "add", s.service+"/32", "via", strings.Split(hubAddr, "/")[0])
	return n
}
