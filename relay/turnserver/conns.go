package turnserver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
)

// Pion's Server.Close closes the listening sockets and returns at once: its
// read loops, the goroutine of every accepted TCP connection and the reader
// of every relay socket wind down afterwards, and accepted TCP connections
// are not closed at all (their goroutines run until the client hangs up).
// The wrappers below let Close close what pion leaves open and wait until
// each of those goroutines has seen its socket fail, so a closed Server
// leaves no goroutine behind and no port bound.

// loopPacketConn is the UDP listening socket; pion's read loop ends at the
// first error from ReadFrom.
type loopPacketConn struct {
	net.PacketConn
	done func()
	once sync.Once
}

func (c *loopPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if err != nil {
		c.once.Do(c.done)
	}
	return n, addr, err
}

// loopListener is the TCP listening socket; pion's accept loop ends at the
// first error from Accept and starts a goroutine per accepted connection.
type loopListener struct {
	net.Listener
	s    *Server
	once sync.Once
}

func (l *loopListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		l.once.Do(l.s.loops.Done)
		return nil, err
	}
	// The accept loop's own count is still held, so the counter is above
	// zero and this Add may race with Close's Wait.
	l.s.loops.Add(1)
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	closing := l.s.closing
	l.s.conns[tc] = struct{}{}
	l.s.mu.Unlock()
	if closing {
		// Accepted just as Close swept the connections: close it here, so
		// its goroutine ends instead of waiting for the client.
		_ = c.Close()
	}
	return tc, nil
}

// trackedConn is an accepted TCP connection. Pion's goroutine for it calls
// Close exactly once, as its last step; Close uses the embedded Conn
// directly to unblock that goroutine without counting it as finished.
type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		c.s.loops.Done()
	})
	return err
}

var errPeerRefused = errors.New("turnserver: peer address refused by relay policy")

// relayGenerator creates the relay sockets, one per allocation, on RelayIP
// and reports PublicIP to the client, as the relayed candidate must carry
// the address peers can reach.
type relayGenerator struct{ s *Server }

func (g relayGenerator) Validate() error { return nil }

func (g relayGenerator) AllocatePacketConn(network string, requestedPort int) (net.PacketConn, net.Addr, error) {
	s := g.s
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return nil, nil, net.ErrClosed
	}
	// Pion v4 asks for "udp4" whatever the client's address family, which
	// is why New insists on IPv4 for RelayIP and PublicIP.
	addr := net.JoinHostPort(s.relayIP.String(), strconv.Itoa(requestedPort))
	conn, err := net.ListenPacket(network, addr)
	if err != nil {
		return nil, nil, fmt.Errorf("turnserver: relay socket on %s: %w", addr, err)
	}
	local, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("turnserver: relay socket on %s: unexpected address %v", addr, conn.LocalAddr())
	}
	// Called from a read loop or a TCP connection's goroutine, whose count
	// in loops is held; Close waits for relays only once loops is zero, so
	// this Add cannot race with that Wait.
	s.relays.Add(1)
	rc := &relayConn{PacketConn: conn, s: s, port: local.Port}
	s.mu.Lock()
	s.relaySet[rc] = struct{}{}
	s.mu.Unlock()
	return rc, &net.UDPAddr{IP: s.publicIP, Port: local.Port}, nil
}

// AllocateConn would serve TCP relay allocations (RFC 6062), which pion v4
// does not implement; browsers do not ask for them.
func (g relayGenerator) AllocateConn(string, int) (net.Conn, net.Addr, error) {
	return nil, nil, errors.New("turnserver: TCP relay allocations are not supported")
}

// relayConn is one allocation's relay socket. Pion's reader goroutine for
// it ends at the first ReadFrom error. Sockets pion closes without ever
// reading (its EVEN-PORT probe) count as finished when closed.
type relayConn struct {
	net.PacketConn
	s    *Server
	port int // local port, to match pion's allocation reports
	// session is the session whose credentials made the allocation
	// (0 until pion reports it); guarded by s.mu.
	session     int64
	readStarted atomic.Bool
	finishOnce  sync.Once
	closeOnce   sync.Once
}

func (c *relayConn) finish() {
	c.finishOnce.Do(func() {
		c.s.mu.Lock()
		delete(c.s.relaySet, c)
		c.s.mu.Unlock()
		c.s.relays.Done()
	})
}

func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.readStarted.Store(true)
	n, addr, err := c.PacketConn.ReadFrom(p)
	if err != nil {
		c.finish()
	}
	return n, addr, err
}

// WriteTo checks the destination once more. Pion only relays to peers that
// have a permission, and permissions pass the same policy; this second
// check keeps the policy in force should that ever change, and also keeps
// the relay from sending to its own TURN port, which would let a client
// nest allocations through the relay.
func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("%w: %v", errPeerRefused, addr)
	}
	ap := ua.AddrPort()
	if !c.s.peerAllowed(ap.Addr()) || c.s.isOwnTURNPort(ap) {
		return 0, fmt.Errorf("%w: %v", errPeerRefused, addr)
	}
	return c.PacketConn.WriteTo(p, addr)
}

// Close is idempotent: both the allocation and Server.Close may close it,
// and pion treats an error from a second close as a failure.
func (c *relayConn) Close() error {
	var err error
	c.closeOnce.Do(func() { err = c.PacketConn.Close() })
	if !c.readStarted.Load() {
		c.finish()
	}
	return err
}

// isOwnTURNPort reports whether ap is one of the relay's own TURN
// listening addresses, under any address the relay answers on.
func (s *Server) isOwnTURNPort(ap netip.AddrPort) bool {
	if s.udpAddr == nil || int(ap.Port()) != s.udpAddr.Port {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, own := range []net.IP{s.publicIP, s.relayIP, s.udpAddr.IP} {
		if a, ok := netip.AddrFromSlice(own); ok && a.Unmap() == ip {
			return true
		}
	}
	// An unspecified listener also answers on the host's other addresses,
	// which are not known here; the private and loopback ones among them
	// are refused by the peer policy anyway.
	return false
}
