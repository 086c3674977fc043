// Package turnserver is the relay's embedded TURN server (RFC 5766, via
// pion/turn). Customers and technicians are often both behind NATs that no
// direct WebRTC path crosses; the TURN relay then carries their media.
//
// The relay hands out short-lived credentials in the style of the TURN REST
// API (draft-uberti-behave-turn-rest): no user database, the server checks
// an HMAC over the username with a secret only the relay knows. Relaying is
// limited to public peers, so holding a session's credentials does not give
// a way into the network the relay runs in.
package turnserver

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // SHA-1 is what the TURN REST API and browsers' credential handling use.
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pion/turn/v4"

	"github.com/meekijk/meekijk/internal/pionlog"
	"github.com/meekijk/meekijk/internal/protocol"
)

// Defaults and limits.
const (
	// DefaultMaxAllocationsPerUser leaves room for a browser gathering relay
	// candidates on several interfaces over both UDP and TCP.
	DefaultMaxAllocationsPerUser = 10
	// MinSecretLen is the shortest accepted HMAC key: 256 bits.
	MinSecretLen = 32
	// closeTimeout bounds how long Close waits for pion's goroutines.
	closeTimeout = 5 * time.Second
	// maxRealmLen is STUN's limit on the REALM attribute (RFC 5389 15.7).
	maxRealmLen = 127
	// warnsPerSecond caps authentication warnings: anyone who can send a
	// datagram can trigger them, and the log must not be theirs to fill.
	warnsPerSecond = 20
)

// Config is everything the TURN server is told at start.
type Config struct {
	// Realm is the TURN realm; clients fold it into their key.
	Realm string
	// UDPAddr and TCPAddr are the listen addresses ("host:port"; port 0
	// picks a free one); "" disables that transport. At least one is
	// needed. TCP gets through firewalls that drop UDP.
	UDPAddr, TCPAddr string
	// PublicIP is the address put in relayed candidates and ICE server
	// URLs: the one clients and peers reach the relay at. Required when a
	// listen address is unspecified (":3478"), otherwise it defaults to the
	// bound listen address. IPv4 only: pion/turn v4 relays over IPv4.
	PublicIP net.IP
	// RelayIP is where relay sockets bind; it defaults to PublicIP, or to
	// the listen address. Set it when PublicIP is a NAT's address that is
	// not on this host (as on most clouds). IPv4 only.
	RelayIP net.IP
	// Secret is the HMAC key for credentials, at least MinSecretLen bytes.
	// Whoever holds it can mint credentials.
	Secret []byte
	// Allow lists peer ranges that may be relayed to even though they are
	// private, loopback or otherwise refused by PeerAllowed (see
	// ParsePolicy). Needed when peers or the relay itself sit on a LAN.
	Allow []netip.Prefix
	// MaxAllocationsPerUser caps concurrent allocations per credential
	// username; 0 means DefaultMaxAllocationsPerUser.
	MaxAllocationsPerUser int
	// Now is the clock credentials are checked against; nil is time.Now.
	Now func() time.Time
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
}

// Server is a running TURN server.
type Server struct {
	realm    string
	secret   []byte
	allow    []netip.Prefix
	now      func() time.Time
	log      *slog.Logger
	publicIP net.IP
	relayIP  net.IP
	udpAddr  *net.UDPAddr // nil when UDP is disabled
	tcpAddr  *net.TCPAddr // nil when TCP is disabled
	quota    *quota
	turn     *turn.Server

	// loops counts pion's read loops and per-TCP-connection goroutines;
	// relays counts the readers of relay sockets. See conns.go.
	loops  sync.WaitGroup
	relays sync.WaitGroup

	mu       sync.Mutex // guards the following
	closing  bool       // no relay socket may be created once set
	conns    map[*trackedConn]struct{}
	relaySet map[*relayConn]struct{}
	// revoked holds the sessions whose credentials were revoked, with
	// when; entries go after RevokedKeep, once every credential the relay
	// issued for them has expired anyway.
	revoked map[int64]time.Time
	// allocs counts allocations pion reported created and not yet
	// deleted; pion reports a deletion as the last act of the goroutine
	// that ends an allocation. Close sets allocsGone to hear it reach 0.
	allocs     int
	allocsGone chan struct{}

	warnMu         sync.Mutex // guards the following
	warnWindow     time.Time
	warnCount      int
	warnSuppressed int

	closeOnce sync.Once
	closeErr  error
}

// New validates cfg, binds the listeners and starts serving.
func New(cfg Config) (*Server, error) {
	if err := checkConfig(&cfg); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		realm:    cfg.Realm,
		secret:   append([]byte(nil), cfg.Secret...),
		allow:    append([]netip.Prefix(nil), cfg.Allow...),
		now:      cfg.Now,
		log:      log,
		quota:    newQuota(cfg.MaxAllocationsPerUser),
		conns:    map[*trackedConn]struct{}{},
		relaySet: map[*relayConn]struct{}{},
		revoked:  map[int64]time.Time{},
	}
	if s.now == nil {
		s.now = time.Now
	}

	var udpConn net.PacketConn
	var tcpLn net.Listener
	closeListeners := func() {
		if udpConn != nil {
			_ = udpConn.Close()
		}
		if tcpLn != nil {
			_ = tcpLn.Close()
		}
	}
	if cfg.UDPAddr != "" {
		c, err := net.ListenPacket("udp", cfg.UDPAddr)
		if err != nil {
			return nil, fmt.Errorf("turnserver: listen udp %s: %w", cfg.UDPAddr, err)
		}
		udpConn, s.udpAddr = c, c.LocalAddr().(*net.UDPAddr)
	}
	if cfg.TCPAddr != "" {
		l, err := net.Listen("tcp", cfg.TCPAddr)
		if err != nil {
			closeListeners()
			return nil, fmt.Errorf("turnserver: listen tcp %s: %w", cfg.TCPAddr, err)
		}
		tcpLn, s.tcpAddr = l, l.Addr().(*net.TCPAddr)
	}
	if err := s.pickIPs(cfg); err != nil {
		closeListeners()
		return nil, err
	}

	for _, p := range s.allow {
		if p.Overlaps(netip.MustParsePrefix("127.0.0.0/8")) || p.Overlaps(netip.MustParsePrefix("::1/128")) {
			log.Warn("turn peer policy allows loopback: TURN clients can reach UDP services on this host",
				"prefix", p)
		}
	}

	sc := turn.ServerConfig{
		Realm:         s.realm,
		LoggerFactory: pionlog.New(log),
		AuthHandler:   s.authenticate,
		QuotaHandler:  s.checkQuota,
		EventHandler: turn.EventHandler{
			OnAuth:              s.onAuth,
			OnAllocationCreated: s.onAllocationCreated,
			OnAllocationDeleted: s.onAllocationDeleted,
			OnAllocationError:   s.onAllocationError,
		},
	}
	gen := relayGenerator{s}
	if udpConn != nil {
		s.loops.Add(1)
		sc.PacketConnConfigs = []turn.PacketConnConfig{{
			PacketConn:            &loopPacketConn{PacketConn: udpConn, done: s.loops.Done},
			RelayAddressGenerator: gen,
			PermissionHandler:     s.permit,
		}}
	}
	if tcpLn != nil {
		s.loops.Add(1)
		sc.ListenerConfigs = []turn.ListenerConfig{{
			Listener:              &loopListener{Listener: tcpLn, s: s},
			RelayAddressGenerator: gen,
			PermissionHandler:     s.permit,
		}}
	}
	ts, err := turn.NewServer(sc)
	if err != nil {
		// Pion validates before starting any goroutine, so there is
		// nothing to wait for.
		closeListeners()
		return nil, fmt.Errorf("turnserver: start: %w", err)
	}
	s.turn = ts
	log.Info("turn server listening", "udp", addrString(s.udpAddr), "tcp", addrString(s.tcpAddr),
		"public_ip", s.publicIP.String(), "relay_ip", s.relayIP.String(), "allow", len(s.allow))
	return s, nil
}

// checkConfig refuses configurations that cannot work or would be unsafe,
// before anything is bound, and fills in defaults.
func checkConfig(cfg *Config) error {
	switch {
	case cfg.Realm == "":
		return errors.New("turnserver: empty realm")
	case utf8.RuneCountInString(cfg.Realm) > maxRealmLen || !utf8.ValidString(cfg.Realm):
		return fmt.Errorf("turnserver: realm must be valid UTF-8 of at most %d characters", maxRealmLen)
	case len(cfg.Secret) < MinSecretLen:
		return fmt.Errorf("turnserver: secret is %d bytes, need at least %d", len(cfg.Secret), MinSecretLen)
	case cfg.UDPAddr == "" && cfg.TCPAddr == "":
		return errors.New("turnserver: no listener: set UDPAddr, TCPAddr or both")
	case cfg.MaxAllocationsPerUser < 0:
		return fmt.Errorf("turnserver: MaxAllocationsPerUser %d is negative", cfg.MaxAllocationsPerUser)
	}
	if cfg.MaxAllocationsPerUser == 0 {
		cfg.MaxAllocationsPerUser = DefaultMaxAllocationsPerUser
	}
	if cfg.PublicIP != nil && (cfg.PublicIP.To4() == nil || cfg.PublicIP.IsUnspecified()) {
		return fmt.Errorf("turnserver: PublicIP %v: need a specific IPv4 address (pion/turn v4 relays over IPv4)", cfg.PublicIP)
	}
	if cfg.RelayIP != nil && cfg.RelayIP.To4() == nil {
		return fmt.Errorf("turnserver: RelayIP %v: need an IPv4 address (pion/turn v4 relays over IPv4)", cfg.RelayIP)
	}
	for _, addr := range []string{cfg.UDPAddr, cfg.TCPAddr} {
		if addr == "" {
			continue
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("turnserver: listen address %q: %w", addr, err)
		}
		if ip := net.ParseIP(host); (host == "" || ip != nil && ip.IsUnspecified()) && cfg.PublicIP == nil {
			return fmt.Errorf("turnserver: listen address %q is unspecified: set PublicIP, the address clients reach", addr)
		}
	}
	for i, p := range cfg.Allow {
		if !p.IsValid() {
			return fmt.Errorf("turnserver: Allow entry %d is not a valid prefix", i+1)
		}
	}
	return nil
}

// pickIPs settles the advertised and the relay address once the listeners
// are bound (a listen address may have been a host name), and checks that
// relay sockets can actually be bound, so a wrong RelayIP fails at start
// rather than at the first customer's allocation.
func (s *Server) pickIPs(cfg Config) error {
	s.publicIP = cfg.PublicIP
	if s.publicIP == nil {
		if s.udpAddr != nil {
			s.publicIP = s.udpAddr.IP
		} else {
			s.publicIP = s.tcpAddr.IP
		}
		if s.publicIP.To4() == nil || s.publicIP.IsUnspecified() {
			return fmt.Errorf("turnserver: listening on %v, not a specific IPv4 address: set PublicIP", s.publicIP)
		}
	}
	s.publicIP = s.publicIP.To4()
	s.relayIP = cfg.RelayIP
	if s.relayIP == nil {
		s.relayIP = s.publicIP
	}
	s.relayIP = s.relayIP.To4()
	probe, err := net.ListenPacket("udp4", net.JoinHostPort(s.relayIP.String(), "0"))
	if err != nil {
		return fmt.Errorf("turnserver: relay sockets cannot bind on %v (set RelayIP to an address of this host): %w",
			s.relayIP, err)
	}
	return probe.Close()
}

func addrString(a net.Addr) string {
	if a == nil || a == (*net.UDPAddr)(nil) || a == (*net.TCPAddr)(nil) {
		return ""
	}
	return a.String()
}

// Addrs returns the bound listen addresses, nil for a disabled transport;
// with port 0 in the config they tell where the server actually is.
func (s *Server) Addrs() (udp, tcp net.Addr) {
	if s.udpAddr != nil {
		udp = s.udpAddr
	}
	if s.tcpAddr != nil {
		tcp = s.tcpAddr
	}
	return udp, tcp
}

// Close stops the server: it closes the listeners, the accepted TCP
// connections and every allocation's relay socket, and waits (up to a few
// seconds) until pion's goroutines have let go of them. Calling it again
// returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	s.mu.Lock()
	s.closing = true
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	var errs []error
	if err := s.turn.Close(); err != nil {
		errs = append(errs, fmt.Errorf("turnserver: close listeners: %w", err))
	}
	// Pion leaves accepted connections open; closing them ends their
	// goroutines, which then delete their allocations.
	for _, c := range conns {
		_ = c.Conn.Close()
	}
	// One deadline for all the waits; ctx.Done stays closed once it passes,
	// unlike a timer's channel, which fires once.
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if !waitFor(&s.loops, ctx.Done()) {
		errs = append(errs, fmt.Errorf("turnserver: close: read loops still running after %v", closeTimeout))
	}
	// Pion closes the relay sockets itself once its read loops have ended,
	// but gives up at the first error; closing them here as well makes sure.
	s.mu.Lock()
	relays := make([]*relayConn, 0, len(s.relaySet))
	for r := range s.relaySet {
		relays = append(relays, r)
	}
	s.mu.Unlock()
	for _, r := range relays {
		_ = r.Close()
	}
	if !waitFor(&s.relays, ctx.Done()) {
		errs = append(errs, fmt.Errorf("turnserver: close: relay sockets still being read after %v", closeTimeout))
	}
	// A relay socket's reader, having failed, goes on to delete its
	// allocation; wait for that too, so nothing of pion's is left running.
	s.mu.Lock()
	var gone chan struct{}
	if s.allocs > 0 {
		gone = make(chan struct{})
		s.allocsGone = gone
	}
	s.mu.Unlock()
	if gone != nil {
		select {
		case <-gone:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("turnserver: close: allocations still being deleted after %v", closeTimeout))
		}
	}
	s.log.Info("turn server stopped")
	return errors.Join(errs...)
}

// waitFor waits for wg until deadline fires. On timeout the helper
// goroutine stays until wg is done; Close reports the timeout as an error.
func waitFor(wg *sync.WaitGroup, deadline <-chan struct{}) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-deadline:
		return false
	}
}

// Credentials returns TURN REST API credentials for a session, valid until
// expires: the username is "<unix expiry>:<session id>" and the password
// base64(HMAC-SHA1(secret, username)), which is what goes into the
// browser's and the agent's RTCIceServer. The expiry is checked on every
// authenticated request, allocation refreshes included, so a relayed
// session ends at most one refresh interval after its credentials expire:
// expires must cover the whole session.
func (s *Server) Credentials(sessionID int64, expires time.Time) (username, password string) {
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + strconv.FormatInt(sessionID, 10)
	return username, s.password(username)
}

func (s *Server) password(username string) string {
	mac := hmac.New(sha1.New, s.secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ICEServers returns the ICE server entry for a session: this server's
// URLs for each enabled transport, with the session's credentials.
func (s *Server) ICEServers(sessionID int64, expires time.Time) []protocol.ICEServer {
	username, password := s.Credentials(sessionID, expires)
	var urls []string
	if s.udpAddr != nil {
		urls = append(urls, "turn:"+net.JoinHostPort(s.publicIP.String(), strconv.Itoa(s.udpAddr.Port))+"?transport=udp")
	}
	if s.tcpAddr != nil {
		urls = append(urls, "turn:"+net.JoinHostPort(s.publicIP.String(), strconv.Itoa(s.tcpAddr.Port))+"?transport=tcp")
	}
	return []protocol.ICEServer{{URLs: urls, Username: username, Credential: password}}
}

// parseUsername splits a credential username. Only the exact form
// Credentials produces is accepted, so one credential has one spelling.
func parseUsername(username string) (expiry, sessionID int64, ok bool) {
	exp, id, found := strings.Cut(username, ":")
	if !found {
		return 0, 0, false
	}
	expiry, err1 := strconv.ParseInt(exp, 10, 64)
	sessionID, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil ||
		strconv.FormatInt(expiry, 10) != exp || strconv.FormatInt(sessionID, 10) != id {
		return 0, 0, false
	}
	return expiry, sessionID, true
}

// authenticate is pion's AuthHandler: it returns the long-term key for a
// username it issued and that has not expired. Pion then checks the
// request's MESSAGE-INTEGRITY against it; a wrong password shows up in
// onAuth. The password is never logged, nor is it known here.
func (s *Server) authenticate(username, realm string, src net.Addr) ([]byte, bool) {
	if realm != s.realm {
		s.warn("turn authentication refused", "reason", "wrong realm", "username", logSafe(username),
			"realm", logSafe(realm), "remote", src)
		return nil, false
	}
	expiry, sessionID, ok := parseUsername(username)
	if !ok {
		s.warn("turn authentication refused", "reason", "malformed username", "username", logSafe(username),
			"remote", src)
		return nil, false
	}
	if expires := time.Unix(expiry, 0); !s.now().Before(expires) {
		s.warn("turn authentication refused", "reason", "credentials expired", "username", logSafe(username),
			"expired", expires.UTC(), "remote", src)
		return nil, false
	}
	if s.isRevoked(sessionID) {
		s.warn("turn authentication refused", "reason", "session over", "username", logSafe(username), "remote", src)
		return nil, false
	}
	return turn.GenerateAuthKey(username, realm, s.password(username)), true
}

func (s *Server) onAuth(src, _ net.Addr, _, username, _, method string, verdict bool) {
	if !verdict {
		s.warn("turn authentication refused", "reason", "wrong password", "username", logSafe(username),
			"method", method, "remote", src)
	}
}

func (s *Server) checkQuota(username, _ string, src net.Addr) bool {
	if s.quota.reserve(username, src) {
		return true
	}
	s.warn("turn allocation refused", "reason", "quota reached", "username", logSafe(username),
		"max", s.quota.max, "remote", src)
	return false
}

// RevokedKeep is how long a revoked session's credentials stay refused:
// longer than any credential the relay issues lives.
const RevokedKeep = 24 * time.Hour

// Revoke ends a session's TURN credentials, as its session ended: new
// requests with them are refused, and the relay sockets of its allocations
// are closed, which stops the media they carry. Without it a credential
// stayed good for the 12 hours it was issued for.
func (s *Server) Revoke(sessionID int64) {
	now := s.now()
	var doomed []*relayConn
	s.mu.Lock()
	for id, at := range s.revoked {
		if now.Sub(at) > RevokedKeep {
			delete(s.revoked, id)
		}
	}
	s.revoked[sessionID] = now
	for rc := range s.relaySet {
		if rc.session == sessionID {
			doomed = append(doomed, rc)
		}
	}
	s.mu.Unlock()
	for _, rc := range doomed {
		_ = rc.Close()
	}
	if len(doomed) > 0 {
		s.log.Info("turn allocations of an ended session closed", "session", sessionID, "sockets", len(doomed))
	}
}

func (s *Server) isRevoked(sessionID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.revoked[sessionID]
	return ok
}

// Pion reports every allocation's transport as UDP (the relayed leg); the
// logs use the client's transport instead.

func (s *Server) onAllocationCreated(src, _ net.Addr, _, username, _ string, relay net.Addr, _ int) {
	s.quota.created(username, src)
	_, sessionID, _ := parseUsername(username)
	s.mu.Lock()
	s.allocs++
	// The relay socket learns its session here, so Revoke can close it.
	if ra, ok := relay.(*net.UDPAddr); ok {
		for rc := range s.relaySet {
			if rc.port == ra.Port {
				rc.session = sessionID
			}
		}
	}
	s.mu.Unlock()
	s.log.Info("turn allocation created", "username", username, "remote", src, "transport", src.Network(),
		"relay", relay)
}

func (s *Server) onAllocationDeleted(src, _ net.Addr, _, username, _ string) {
	s.quota.deleted(username)
	s.mu.Lock()
	if s.allocs > 0 {
		s.allocs--
	}
	if s.allocs == 0 && s.allocsGone != nil {
		close(s.allocsGone)
		s.allocsGone = nil
	}
	s.mu.Unlock()
	s.log.Info("turn allocation deleted", "username", username, "remote", src, "transport", src.Network())
}

// onAllocationError is called for any request pion failed to handle,
// which anyone can cause, so it only logs at debug.
func (s *Server) onAllocationError(src, _ net.Addr, _, message string) {
	s.quota.failed(src)
	s.log.Debug("turn request failed", "remote", src, "error", message)
}

// permit is pion's PermissionHandler, for CreatePermission and ChannelBind.
// Refusals are routine and only logged at debug: ICE asks for a permission
// for every candidate of the other side, host candidates with private
// addresses included.
func (s *Server) permit(client net.Addr, peer net.IP) bool {
	ip, ok := netip.AddrFromSlice(peer)
	if ok && s.peerAllowed(ip) {
		return true
	}
	s.log.Debug("turn permission refused", "remote", client, "peer", peer)
	return false
}

func (s *Server) peerAllowed(ip netip.Addr) bool { return PeerAllowed(ip, s.allow) }

// warn logs at most warnsPerSecond warnings a second and reports how many
// it dropped once the next second begins.
func (s *Server) warn(msg string, args ...any) {
	now := s.now()
	s.warnMu.Lock()
	var suppressed int
	if now.Before(s.warnWindow) || now.Sub(s.warnWindow) >= time.Second {
		suppressed = s.warnSuppressed
		s.warnWindow, s.warnCount, s.warnSuppressed = now, 0, 0
	}
	drop := s.warnCount >= warnsPerSecond
	if drop {
		s.warnSuppressed++
	} else {
		s.warnCount++
	}
	s.warnMu.Unlock()
	if suppressed > 0 {
		s.log.Warn("turn warnings suppressed", "count", suppressed)
	}
	if !drop {
		s.log.Warn(msg, args...)
	}
}

// logSafe shortens a client-chosen string before it is logged.
func logSafe(v string) string {
	const max = 64
	if len(v) <= max {
		return v
	}
	return strings.ToValidUTF8(v[:max], "") + "…"
}
