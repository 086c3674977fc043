package turnserver

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParsePolicy parses the operator's list of peer ranges that may be relayed
// to even though PeerAllowed would refuse them: a comma-separated list of
// CIDR prefixes such as "10.0.0.0/8, 192.168.5.0/24". The empty (or
// all-blank) string means none.
//
// Any malformed entry, including an empty one from a stray comma, is an
// error naming it: a relay that silently dropped a bad entry would start
// with a policy other than the one written down, and the caller must refuse
// to start instead.
//
// A bare address without a prefix length ("10.0.0.1") is accepted and means
// that single host (/32 or /128). It is the only reading that cannot allow
// more than was written: someone who meant a whole network gets less, never
// more. Host bits after the prefix are cleared ("10.1.2.3/8" is 10.0.0.0/8),
// and IPv4-mapped IPv6 prefixes are stored as the IPv4 prefix they denote,
// as peers are compared in their IPv4 form.
func ParsePolicy(allow string) ([]netip.Prefix, error) {
	if strings.TrimSpace(allow) == "" {
		return nil, nil
	}
	var out []netip.Prefix
	for i, raw := range strings.Split(allow, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			return nil, fmt.Errorf("turnserver: peer policy %q: entry %d is empty", allow, i+1)
		}
		p, err := parsePolicyEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("turnserver: peer policy entry %q: %w", entry, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePolicyEntry(entry string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(entry, "/") {
		var err error
		if p, err = netip.ParsePrefix(entry); err != nil {
			return netip.Prefix{}, fmt.Errorf("not a CIDR prefix: %w", err)
		}
	} else {
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not an IP address or CIDR prefix: %w", err)
		}
		// A zone names an interface of this host; a relay policy about
		// peers has no use for one and PrefixFrom would silently drop it.
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("an IPv6 zone is not allowed")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("prefix is wider than the IPv4-mapped range ::ffff:0:0/96")
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// refusedRanges are the ranges not reachable on the public internet that
// netip's predicates do not already cover (IANA's special-purpose address
// registries). A relay that sent to them would let anyone holding
// credentials reach into the relay's own network.
var refusedRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network": 0.x reaches this host on Linux
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT shared space
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking, used inside networks
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the limited broadcast address
	netip.MustParsePrefix("::/96"),           // deprecated IPv4-compatible addresses, :: and ::1
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64: translates into private networks
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001::/32"),       // Teredo, obsolete, embeds other addresses
	netip.MustParsePrefix("2001:2::/48"),     // benchmarking
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("3fff::/20"),       // documentation
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
}

// Prefixes whose addresses carry an IPv4 destination: a NAT64 or 6to4
// gateway would deliver 64:ff9b::a01:203 to 10.1.2.3, so the embedded
// address is judged as well.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// PeerAllowed reports whether the relay may send to, and accept datagrams
// from, a peer at ip. It refuses loopback, private (RFC 1918, fc00::/7),
// link-local, multicast, unspecified, CGNAT (100.64.0.0/10) and the other
// ranges that are not publicly routable, including their IPv4-mapped forms
// (::ffff:127.0.0.1 is 127.0.0.1) and IPv4 addresses embedded in NAT64 and
// 6to4 addresses; an address inside one of allow is accepted regardless.
//
// Without this, a TURN relay is an open proxy into the network it runs in:
// anyone with a session's credentials could reach the relay host's own
// services and its LAN.
func PeerAllowed(ip netip.Addr, allow []netip.Prefix) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.WithZone("")
	v := ip.Unmap()
	for _, p := range allow {
		if p.Contains(v) || p.Contains(ip) {
			return true
		}
	}
	return !refused(v)
}

// refused reports whether ip, already unmapped, is outside the public
// internet.
func refused(ip netip.Addr) bool {
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsMulticast() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() {
		return true
	}
	for _, p := range refusedRanges {
		if p.Contains(ip) {
			return true
		}
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64Prefix.Contains(ip):
			return refused(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(ip):
			return refused(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	return false
}
