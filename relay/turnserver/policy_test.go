package turnserver

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// The addresses below are only ever compared, never contacted.
func TestPeerAllowed(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	lan := []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		ip    string
		allow []netip.Prefix
		want  bool
	}{
		{"127.0.0.1", nil, false},
		{"127.255.255.254", nil, false},
		{"::1", nil, false},
		{"10.1.2.3", nil, false},
		{"172.16.0.1", nil, false},
		{"172.31.255.255", nil, false},
		{"192.168.1.1", nil, false},
		{"169.254.1.1", nil, false},
		{"169.254.169.254", nil, false}, // cloud metadata service
		{"fe80::1", nil, false},
		{"fe80::1%eth0", nil, false},
		{"fc00::1", nil, false},
		{"fd12:3456::1", nil, false},
		{"224.0.0.1", nil, false},
		{"239.255.255.250", nil, false},
		{"ff02::1", nil, false},
		{"ff05::2", nil, false},
		{"0.0.0.0", nil, false},
		{"0.1.2.3", nil, false},
		{"::", nil, false},
		{"::ffff:127.0.0.1", nil, false},
		{"::ffff:10.0.0.1", nil, false},
		{"::ffff:0.0.0.0", nil, false},
		{"::127.0.0.1", nil, false}, // deprecated IPv4-compatible form
		{"100.64.0.1", nil, false},
		{"100.127.255.255", nil, false},
		{"255.255.255.255", nil, false},
		{"240.0.0.1", nil, false},
		{"192.0.2.2", nil, false},
		{"198.18.0.1", nil, false},
		{"64:ff9b::7f00:1", nil, false},  // NAT64 of 127.0.0.1
		{"64:ff9b::a01:203", nil, false}, // NAT64 of 10.1.2.3
		{"2002:7f00:1::1", nil, false},   // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", nil, false}, // 6to4 of 192.168.1.1
		{"2001:db8::1", nil, false},
		{"2001:0:4136:e378::1", nil, false}, // Teredo

		{"8.8.8.8", nil, true},
		{"1.1.1.1", nil, true},
		{"100.63.255.255", nil, true},   // just below CGNAT
		{"100.128.0.0", nil, true},      // just above CGNAT
		{"172.15.255.255", nil, true},   // just below 172.16/12
		{"172.32.0.0", nil, true},       // just above 172.16/12
		{"::ffff:8.8.8.8", nil, true},   // mapped form of a public address
		{"64:ff9b::808:808", nil, true}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", nil, true},  // 6to4 of 8.8.8.8
		{"2001:4860::8888", nil, true},
		{"2001:4860:4860::8888", nil, true},

		{"127.0.0.1", loopback, true},
		{"::ffff:127.0.0.1", loopback, true},
		{"::1", loopback, false}, // IPv6 loopback is not in 127.0.0.0/8
		{"10.1.2.3", loopback, false},
		{"192.168.1.1", lan, true},
		{"192.168.2.1", lan, false},
		{"fd00::1", lan, true},
		{"fd12::1", lan, true},
		{"fc00::1", lan, false},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := PeerAllowed(ip, tt.allow); got != tt.want {
			t.Errorf("PeerAllowed(%s, %v) = %v, want %v", tt.ip, tt.allow, got, tt.want)
		}
	}
	if PeerAllowed(netip.Addr{}, []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}) {
		t.Error("PeerAllowed(invalid address) = true, want false")
	}
}

func TestParsePolicy(t *testing.T) {
	good := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"10.0.0.0/8, 127.0.0.0/8", []string{"10.0.0.0/8", "127.0.0.0/8"}},
		{"10.0.0.0/8,127.0.0.0/8", []string{"10.0.0.0/8", "127.0.0.0/8"}},
		{" 192.168.5.0/24 ", []string{"192.168.5.0/24"}},
		// A bare address is that one host.
		{"10.0.0.1", []string{"10.0.0.1/32"}},
		{"fd00::1", []string{"fd00::1/128"}},
		// Host bits are cleared.
		{"10.1.2.3/8", []string{"10.0.0.0/8"}},
		// IPv4-mapped prefixes are stored in IPv4 form.
		{"::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}},
		{"fd00::/8, 0.0.0.0/0", []string{"fd00::/8", "0.0.0.0/0"}},
	}
	for _, tt := range good {
		got, err := ParsePolicy(tt.in)
		if err != nil {
			t.Errorf("ParsePolicy(%q): %v", tt.in, err)
			continue
		}
		var gotS []string
		for _, p := range got {
			gotS = append(gotS, p.String())
		}
		if !slices.Equal(gotS, tt.want) {
			t.Errorf("ParsePolicy(%q) = %v, want %v", tt.in, gotS, tt.want)
		}
	}

	bad := []struct{ in, mention string }{
		{"10.0.0.0/33", "10.0.0.0/33"},
		{"abc", "abc"},
		{"10.0.0.0/8, abc", "abc"},
		{"10.0.0.0/8,", "entry 2 is empty"},
		{",10.0.0.0/8", "entry 1 is empty"},
		{"10.0.0.0/8,,127.0.0.0/8", "entry 2 is empty"},
		{"10.0.0.0/-1", "10.0.0.0/-1"},
		{"10.0.0/8", "10.0.0/8"},
		{"10.0.0.256", "10.0.0.256"},
		{"fe80::1%eth0", "zone"},
		{"fe80::1%eth0/64", "fe80::1%eth0/64"},
		{"::ffff:0:0/80", "IPv4-mapped"},
		{"10.0.0.0/8 127.0.0.0/8", "10.0.0.0/8 127.0.0.0/8"},
		{"10.0.0.0/8;127.0.0.0/8", "10.0.0.0/8;127.0.0.0/8"},
	}
	for _, tt := range bad {
		got, err := ParsePolicy(tt.in)
		if err == nil {
			t.Errorf("ParsePolicy(%q) = %v, want an error", tt.in, got)
			continue
		}
		if got != nil {
			t.Errorf("ParsePolicy(%q) returned %v with its error; want nothing", tt.in, got)
		}
		if !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("ParsePolicy(%q) error %q does not mention %q", tt.in, err, tt.mention)
		}
	}
}
