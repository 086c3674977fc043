package turnserver

import (
	"bytes"
	"errors"
	"github.com/meekijk/meekijk/internal/pionlog"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/turn/v4"
	"go.uber.org/goleak"
)

// Every socket in these tests is bound to 127.0.0.1 and talks only to
// 127.0.0.1.

const testRealm = "meekijk.test"

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// clock is an adjustable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// logBuffer collects log output; safe for pion's goroutines, and harmless
// if one logs after the test has ended (unlike t.Log).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type fixture struct {
	s     *Server
	clock *clock
	logs  *logBuffer
}

// start runs a server on 127.0.0.1 with free ports, and checks at the end
// of the test that closing it left no goroutine behind.
func start(t *testing.T, mutate func(*Config)) *fixture {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	f := &fixture{clock: &clock{t: time.Unix(1_800_000_000, 0)}, logs: &logBuffer{}}
	cfg := Config{
		Realm:   testRealm,
		UDPAddr: "127.0.0.1:0",
		TCPAddr: "127.0.0.1:0",
		Secret:  testSecret,
		Now:     f.clock.Now,
		Logger:  slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.s = s
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", f.logs)
		}
	})
	return f
}

func allowLoopback(c *Config) { c.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }

// creds returns credentials for session 42 valid for an hour of the fake
// clock.
func (f *fixture) creds() (string, string) {
	return f.s.Credentials(42, f.clock.Now().Add(time.Hour))
}

// udpClient returns a listening pion TURN client on its own UDP socket.
func (f *fixture) udpClient(t *testing.T, username, password string) *turn.Client {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	udp, _ := f.s.Addrs()
	return newClient(t, conn, udp.String(), username, password)
}

// tcpClient returns a pion TURN client speaking over a TCP connection.
func (f *fixture) tcpClient(t *testing.T, username, password string) *turn.Client {
	t.Helper()
	_, tcp := f.s.Addrs()
	conn, err := net.DialTimeout("tcp", tcp.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, turn.NewSTUNConn(conn), tcp.String(), username, password)
}

func newClient(t *testing.T, conn net.PacketConn, server, username, password string) *turn.Client {
	t.Helper()
	c, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: server,
		TURNServerAddr: server,
		Conn:           conn,
		Username:       username,
		Password:       password,
		Realm:          testRealm,
		RTO:            100 * time.Millisecond,
		LoggerFactory:  pionlog.New(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		_ = conn.Close()
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		_ = conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		_ = conn.Close()
	})
	return c
}

// allocate runs client.Allocate with a time limit, closing the relayed
// connection at the end of the test.
func allocate(t *testing.T, c *turn.Client) (net.PacketConn, error) {
	t.Helper()
	type result struct {
		conn net.PacketConn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		conn, err := c.Allocate()
		ch <- result{conn, err}
	}()
	select {
	case r := <-ch:
		if r.conn != nil {
			t.Cleanup(func() { _ = r.conn.Close() })
		}
		return r.conn, r.err
	case <-time.After(5 * time.Second):
		t.Fatal("Allocate did not return within 5s")
		return nil, nil
	}
}

func mustAllocate(t *testing.T, c *turn.Client) net.PacketConn {
	t.Helper()
	conn, err := allocate(t, c)
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	return conn
}

func checkRelayedOnLoopback(t *testing.T, relay net.PacketConn) {
	t.Helper()
	ua, ok := relay.LocalAddr().(*net.UDPAddr)
	if !ok || !ua.IP.Equal(net.IPv4(127, 0, 0, 1)) || ua.Port == 0 {
		t.Fatalf("relayed address %v, want 127.0.0.1:<port>", relay.LocalAddr())
	}
}

// peer is a UDP socket standing in for the other side of a session.
func peer(t *testing.T) net.PacketConn {
	t.Helper()
	p, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// readWithin reads one datagram, or fails with a timeout error after d.
func readWithin(c net.PacketConn, d time.Duration) (string, net.Addr, error) {
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		return "", nil, err
	}
	buf := make([]byte, 1500)
	n, from, err := c.ReadFrom(buf)
	return string(buf[:n]), from, err
}

func TestAllocateUDP(t *testing.T) {
	f := start(t, nil)
	user, pass := f.creds()
	relay := mustAllocate(t, f.udpClient(t, user, pass))
	checkRelayedOnLoopback(t, relay)
	if got := f.s.quota.live(user); got != 1 {
		t.Errorf("live allocations for %s = %d, want 1", user, got)
	}
}

func TestAuthRefused(t *testing.T) {
	f := start(t, nil)
	user, pass := f.creds()

	t.Run("wrong password", func(t *testing.T) {
		_, wrong := f.s.Credentials(43, f.clock.Now().Add(time.Hour))
		if _, err := allocate(t, f.udpClient(t, user, wrong)); err == nil {
			t.Fatal("Allocate with a wrong password succeeded")
		}
	})
	t.Run("malformed username", func(t *testing.T) {
		for _, u := range []string{"abc", "42", strconv.FormatInt(f.clock.Now().Add(time.Hour).Unix(), 10)} {
			// The password is right for the username: only its form is wrong.
			if _, err := allocate(t, f.udpClient(t, u, f.s.password(u))); err == nil {
				t.Errorf("Allocate as %q succeeded", u)
			}
		}
	})
	t.Run("expired", func(t *testing.T) {
		// Valid now ...
		relay := mustAllocate(t, f.udpClient(t, user, pass))
		_ = relay.Close()
		// ... refused once the clock passes the expiry.
		f.clock.Set(f.clock.Now().Add(time.Hour + time.Second))
		if _, err := allocate(t, f.udpClient(t, user, pass)); err == nil {
			t.Fatal("Allocate with expired credentials succeeded")
		}
	})

	logs := f.logs.String()
	for _, reason := range []string{"wrong password", "malformed username", "credentials expired"} {
		if !strings.Contains(logs, `level=WARN msg="turn authentication refused" reason="`+reason+`"`) {
			t.Errorf("no warning with reason %q in log:\n%s", reason, logs)
		}
	}
	if strings.Contains(logs, pass) {
		t.Error("the log contains a password")
	}
}

// TestAuthenticate covers the username checks beyond what is worth a round
// trip through a client.
func TestAuthenticate(t *testing.T) {
	f := start(t, func(c *Config) { c.TCPAddr = "" })
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	now := f.clock.Now()
	exp := strconv.FormatInt(now.Unix()+60, 10)

	user, pass := f.s.Credentials(7, now.Add(time.Minute))
	if user != exp+":7" {
		t.Fatalf("username %q, want %q", user, exp+":7")
	}
	key, ok := f.s.authenticate(user, testRealm, src)
	if !ok || !bytes.Equal(key, turn.GenerateAuthKey(user, testRealm, pass)) {
		t.Fatalf("authenticate(%q) = %x, %v; want the key for its password", user, key, ok)
	}
	if _, ok := f.s.authenticate(user, "other.realm", src); ok {
		t.Error("authenticate accepted another realm")
	}
	for _, u := range []string{
		"", ":", "abc", exp, exp + ":", ":7", exp + ":abc", exp + ":7:8", "+" + exp + ":7",
		"0" + exp + ":7", exp + ":07", exp + ": 7", exp + ":7 ", "x" + exp + ":7", exp + ":99999999999999999999",
	} {
		if _, ok := f.s.authenticate(u, testRealm, src); ok {
			t.Errorf("authenticate(%q) accepted", u)
		}
	}
	f.clock.Set(now.Add(time.Minute - time.Nanosecond))
	if _, ok := f.s.authenticate(user, testRealm, src); !ok {
		t.Error("credentials refused just before their expiry")
	}
	f.clock.Set(now.Add(time.Minute))
	if _, ok := f.s.authenticate(user, testRealm, src); ok {
		t.Error("credentials accepted at their expiry")
	}
	// A negative session ID is what Credentials would produce for one, so
	// it round-trips; the HMAC is what protects the username.
	neg, _ := f.s.Credentials(-1, now.Add(time.Hour))
	f.clock.Set(now)
	if _, ok := f.s.authenticate(neg, testRealm, src); !ok {
		t.Errorf("authenticate(%q) refused a username Credentials produced", neg)
	}
}

func TestPermissionAllowed(t *testing.T) {
	f := start(t, allowLoopback)
	user, pass := f.creds()
	relay := mustAllocate(t, f.udpClient(t, user, pass))
	p := peer(t)

	if _, err := relay.WriteTo([]byte("to peer"), p.LocalAddr()); err != nil {
		t.Fatalf("WriteTo peer: %v", err)
	}
	msg, from, err := readWithin(p, 2*time.Second)
	if err != nil {
		t.Fatalf("peer did not receive: %v", err)
	}
	if msg != "to peer" || from.String() != relay.LocalAddr().String() {
		t.Fatalf("peer got %q from %v, want %q from the relayed address %v", msg, from, "to peer", relay.LocalAddr())
	}
	// And back: the permission lets the peer's datagrams through.
	if _, err := p.WriteTo([]byte("to client"), from); err != nil {
		t.Fatal(err)
	}
	msg, from, err = readWithin(relay, 2*time.Second)
	if err != nil {
		t.Fatalf("client did not receive: %v", err)
	}
	if msg != "to client" || from.String() != p.LocalAddr().String() {
		t.Fatalf("client got %q from %v, want %q from %v", msg, from, "to client", p.LocalAddr())
	}
}

func TestPermissionRefused(t *testing.T) {
	f := start(t, nil)
	user, pass := f.creds()
	client := f.udpClient(t, user, pass)
	relay := mustAllocate(t, client)
	p := peer(t)

	// Pion answers a refused CreatePermission with an error response,
	// which its client returns as an error...
	if err := client.CreatePermission(p.LocalAddr()); err == nil {
		t.Fatal("CreatePermission to 127.0.0.1 succeeded without Allow")
	}
	// ...and WriteTo asks for the permission first, so it fails too.
	if _, err := relay.WriteTo([]byte("to peer"), p.LocalAddr()); err == nil {
		t.Error("WriteTo 127.0.0.1 succeeded without Allow")
	}
	if msg, from, err := readWithin(p, 300*time.Millisecond); err == nil {
		t.Fatalf("peer received %q from %v", msg, from)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("peer read: %v, want a timeout", err)
	}
	// Nor may the peer reach the client through the relay.
	if _, err := p.WriteTo([]byte("to client"), relay.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if msg, from, err := readWithin(relay, 300*time.Millisecond); err == nil {
		t.Fatalf("client received %q from %v", msg, from)
	}
}

// TestRelaySocketRefuses checks the second line of defence, in the relay
// socket itself.
func TestRelaySocketRefuses(t *testing.T) {
	f := start(t, allowLoopback)
	gen := relayGenerator{f.s}
	// The generator is normally called from a pion goroutine counted in
	// loops; stand in for one so the relay count has company.
	f.s.loops.Add(1)
	conn, relayed, err := gen.AllocatePacketConn("udp4", 0)
	f.s.loops.Done()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if ua := relayed.(*net.UDPAddr); !ua.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("relayed address %v, want 127.0.0.1", relayed)
	}
	p := peer(t)
	if _, err := conn.WriteTo([]byte("x"), p.LocalAddr()); err != nil {
		t.Errorf("WriteTo an allowed peer: %v", err)
	}
	if _, _, err := readWithin(p, 2*time.Second); err != nil {
		t.Errorf("allowed peer did not receive: %v", err)
	}
	udp, _ := f.s.Addrs()
	if _, err := conn.WriteTo([]byte("x"), udp); !errors.Is(err, errPeerRefused) {
		t.Errorf("WriteTo the server's own TURN port: %v, want %v", err, errPeerRefused)
	}

	strict := start(t, nil)
	strict.s.loops.Add(1)
	conn2, _, err := relayGenerator{strict.s}.AllocatePacketConn("udp4", 0)
	strict.s.loops.Done()
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	if _, err := conn2.WriteTo([]byte("x"), p.LocalAddr()); !errors.Is(err, errPeerRefused) {
		t.Errorf("WriteTo a refused peer: %v, want %v", err, errPeerRefused)
	}
	if msg, _, err := readWithin(p, 200*time.Millisecond); err == nil {
		t.Errorf("refused peer received %q", msg)
	}
}

func TestQuota(t *testing.T) {
	f := start(t, func(c *Config) { c.MaxAllocationsPerUser = 2 })
	user, pass := f.creds()
	first := mustAllocate(t, f.udpClient(t, user, pass))
	mustAllocate(t, f.tcpClient(t, user, pass))
	third := f.udpClient(t, user, pass)
	_, err := allocate(t, third)
	if err == nil || !strings.Contains(err.Error(), "486") {
		t.Fatalf("third allocation: %v, want 486 Allocation Quota Reached", err)
	}
	if !strings.Contains(f.logs.String(), `reason="quota reached"`) {
		t.Error("no quota warning logged")
	}

	// Another session is not affected.
	other, otherPass := f.s.Credentials(43, f.clock.Now().Add(time.Hour))
	mustAllocate(t, f.udpClient(t, other, otherPass))

	// Freeing one allocation makes room again.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for f.s.quota.live(user) > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("still %d live allocations 2s after closing one", f.s.quota.live(user))
		}
		time.Sleep(10 * time.Millisecond)
	}
	checkRelayedOnLoopback(t, mustAllocate(t, third))
}

func TestQuotaReservations(t *testing.T) {
	q := newQuota(2)
	a := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	b := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} // same text, other transport
	c := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2}

	// Two requests in flight at once take both slots before either
	// allocation exists.
	if !q.reserve("u", a) || !q.reserve("u", b) {
		t.Fatal("first two reservations refused")
	}
	if q.reserve("u", c) {
		t.Fatal("third concurrent reservation accepted")
	}
	if !q.reserve("v", c) {
		t.Fatal("another username was refused")
	}
	q.created("u", a)
	q.failed(b) // its allocation could not be created
	if q.live("u") != 1 {
		t.Fatalf("live = %d, want 1", q.live("u"))
	}
	if !q.reserve("u", c) {
		t.Fatal("a failed request kept its slot")
	}
	q.created("u", c)
	if q.reserve("u", b) {
		t.Fatal("reservation accepted over quota")
	}
	// A source's next request replaces its orphaned reservation.
	q.deleted("u")
	for range 2 {
		if !q.reserve("u", b) {
			t.Fatal("a source's repeated request was refused")
		}
	}
	q.created("u", b)
	q.deleted("u")
	q.deleted("u")
	q.deleted("u") // more deletes than allocations must not go negative
	if q.live("u") != 0 {
		t.Fatalf("live = %d after all deleted", q.live("u"))
	}
}

func TestTCP(t *testing.T) {
	f := start(t, func(c *Config) {
		allowLoopback(c)
		c.UDPAddr = ""
	})
	user, pass := f.creds()
	relay := mustAllocate(t, f.tcpClient(t, user, pass))
	checkRelayedOnLoopback(t, relay)
	p := peer(t)
	if _, err := relay.WriteTo([]byte("over tcp"), p.LocalAddr()); err != nil {
		t.Fatalf("WriteTo peer: %v", err)
	}
	if msg, _, err := readWithin(p, 2*time.Second); err != nil || msg != "over tcp" {
		t.Fatalf("peer got %q, %v; want %q", msg, err, "over tcp")
	}
}

func TestICEServers(t *testing.T) {
	f := start(t, nil)
	udp, tcp := f.s.Addrs()
	exp := f.clock.Now().Add(2 * time.Hour)
	got := f.s.ICEServers(9, exp)
	if len(got) != 1 {
		t.Fatalf("ICEServers = %+v, want one entry", got)
	}
	want := []string{
		"turn:127.0.0.1:" + strconv.Itoa(udp.(*net.UDPAddr).Port) + "?transport=udp",
		"turn:127.0.0.1:" + strconv.Itoa(tcp.(*net.TCPAddr).Port) + "?transport=tcp",
	}
	if strings.Join(got[0].URLs, " ") != strings.Join(want, " ") {
		t.Errorf("URLs %v, want %v", got[0].URLs, want)
	}
	user, pass := f.s.Credentials(9, exp)
	if got[0].Username != user || got[0].Credential != pass {
		t.Errorf("credentials %q/%q, want %q/%q", got[0].Username, got[0].Credential, user, pass)
	}
	// The password is the TURN REST API's: pion's own handler for that
	// scheme derives the same key from the same secret. Its clock is the
	// real one, hence the far expiry.
	far, farPass := f.s.Credentials(9, time.Unix(4_000_000_000, 0))
	key, ok := turn.LongTermTURNRESTAuthHandler(string(testSecret), pionlog.New(slog.New(slog.DiscardHandler)).NewLogger("test"))(far, testRealm, nil)
	if !ok || !bytes.Equal(key, turn.GenerateAuthKey(far, testRealm, farPass)) {
		t.Errorf("pion's TURN REST handler disagrees about %q", far)
	}

	only := start(t, func(c *Config) { c.TCPAddr = "" })
	if urls := only.s.ICEServers(9, exp)[0].URLs; len(urls) != 1 || !strings.HasSuffix(urls[0], "?transport=udp") {
		t.Errorf("UDP-only URLs %v", urls)
	}
}

func TestNewRefuses(t *testing.T) {
	ok := Config{Realm: testRealm, UDPAddr: "127.0.0.1:0", Secret: testSecret}
	tests := []struct {
		name    string
		mutate  func(*Config)
		mention string
	}{
		{"short secret", func(c *Config) { c.Secret = testSecret[:31] }, "secret"},
		{"no secret", func(c *Config) { c.Secret = nil }, "secret"},
		{"no listeners", func(c *Config) { c.UDPAddr, c.TCPAddr = "", "" }, "no listener"},
		{"empty realm", func(c *Config) { c.Realm = "" }, "realm"},
		{"long realm", func(c *Config) { c.Realm = strings.Repeat("r", 128) }, "realm"},
		{"negative quota", func(c *Config) { c.MaxAllocationsPerUser = -1 }, "MaxAllocationsPerUser"},
		{"IPv6 public IP", func(c *Config) { c.PublicIP = net.ParseIP("2001:db8::1") }, "PublicIP"},
		{"unspecified public IP", func(c *Config) { c.PublicIP = net.IPv4zero }, "PublicIP"},
		{"IPv6 relay IP", func(c *Config) { c.RelayIP = net.ParseIP("::1") }, "RelayIP"},
		{"bad listen address", func(c *Config) { c.UDPAddr = "127.0.0.1" }, "listen address"},
		{"invalid Allow entry", func(c *Config) { c.Allow = []netip.Prefix{{}} }, "Allow"},
	}
	for _, tt := range tests {
		cfg := ok
		tt.mutate(&cfg)
		s, err := New(cfg)
		if err == nil {
			_ = s.Close()
			t.Errorf("%s: New succeeded", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("%s: error %q does not mention %q", tt.name, err, tt.mention)
		}
	}
}

// TestUnspecifiedListenNeedsPublicIP uses checkConfig, which binds nothing,
// so no test socket is ever opened on an unspecified address.
func TestUnspecifiedListenNeedsPublicIP(t *testing.T) {
	for _, addr := range []string{":3478", "0.0.0.0:3478", "[::]:3478"} {
		cfg := Config{Realm: testRealm, UDPAddr: addr, Secret: testSecret}
		if err := checkConfig(&cfg); err == nil || !strings.Contains(err.Error(), "PublicIP") {
			t.Errorf("listen %q without PublicIP: %v, want an error naming PublicIP", addr, err)
		}
		cfg.PublicIP = net.IPv4(198, 51, 100, 7)
		if err := checkConfig(&cfg); err != nil {
			t.Errorf("listen %q with PublicIP: %v", addr, err)
		}
	}
	cfg := Config{Realm: testRealm, TCPAddr: "127.0.0.1:0", Secret: testSecret}
	if err := checkConfig(&cfg); err != nil || cfg.MaxAllocationsPerUser != DefaultMaxAllocationsPerUser {
		t.Errorf("checkConfig: %v, quota %d; want nil, %d", err, cfg.MaxAllocationsPerUser, DefaultMaxAllocationsPerUser)
	}
}

func TestCloseFreesEverything(t *testing.T) {
	f := start(t, allowLoopback)
	user, pass := f.creds()
	udpRelay := mustAllocate(t, f.udpClient(t, user, pass))
	// The TCP client stays connected: Close must not wait for it to leave.
	tcpRelay := mustAllocate(t, f.tcpClient(t, user, pass))
	udp, tcp := f.s.Addrs()

	began := time.Now()
	if err := f.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := f.s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// Every port is free again.
	for _, a := range []net.Addr{udp, udpRelay.LocalAddr(), tcpRelay.LocalAddr()} {
		c, err := net.ListenPacket("udp4", a.String())
		if err != nil {
			t.Errorf("udp %v still bound: %v", a, err)
			continue
		}
		_ = c.Close()
	}
	l, err := net.Listen("tcp4", tcp.String())
	if err != nil {
		t.Errorf("tcp %v still bound: %v", tcp, err)
	} else {
		_ = l.Close()
	}
	if n := f.s.turn.AllocationCount(); n != 0 {
		// Pion's count only drops as its goroutines delete allocations,
		// which Close waited for.
		t.Errorf("%d allocations left after Close", n)
	}

	// Allocating after Close fails instead of binding a socket.
	f.s.loops.Add(1)
	_, _, err = relayGenerator{f.s}.AllocatePacketConn("udp4", 0)
	f.s.loops.Done()
	if err == nil {
		t.Error("AllocatePacketConn after Close succeeded")
	}
}
