package codeguard

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/sessioncode"
)

// The bound of docs/security.md, computed from the constants the relay
// runs with: 10,000 addresses guessing for a day with 100 codes live hit
// one with a chance of at most 1 in 100,000.
func TestGuessingBoundFromConstants(t *testing.T) {
	perDay := AddressSchedule.MaxFailures(Day)
	if perDay != 9 {
		t.Errorf("an address may make %d wrong guesses a day; docs/security.md says 9", perDay)
	}
	bound := HitBound(ThreatAddresses, ThreatLiveCodes, sessioncode.Space)
	t.Logf("%d addresses × %d guesses × %d live codes / %g codes = %g", ThreatAddresses, perDay, ThreatLiveCodes, float64(sessioncode.Space), bound)
	if bound > MaxHitChance {
		t.Errorf("hit chance %g > %g", bound, MaxHitChance)
	}
	// The bound holds only if a forgotten address cannot start over
	// within the day the bound is stated for.
	if AddressSchedule.Forget < Day || NetworkSchedule.Forget < Day {
		t.Errorf("failures forgotten after %v / %v, before a day", AddressSchedule.Forget, NetworkSchedule.Forget)
	}
}

// MaxFailures is checked against a guesser simulated on the Guard itself,
// trying every second for two days from one address: no 24-hour period
// holds more failures than the bound uses.
func TestSimulatedGuesserStaysWithinTheBound(t *testing.T) {
	clk := time.Unix(0, 0)
	g := New(slog.New(slog.DiscardHandler), func() time.Time { return clk })
	var fails []time.Time
	for s := 0; s < 2*86400; s++ {
		clk = time.Unix(int64(s), 0)
		// A fresh address in the same network each second would be
		// slowed by the network schedule; this is the address bound.
		if ok, _ := g.byAddress.Check("198.51.100.7"); ok {
			g.byAddress.Fail("198.51.100.7")
			fails = append(fails, clk)
		}
	}
	most := 0
	for i := range fails {
		n := 0
		for j := i; j < len(fails) && fails[j].Sub(fails[i]) <= Day; j++ {
			n++
		}
		most = max(most, n)
	}
	if want := AddressSchedule.MaxFailures(Day); most != want {
		t.Errorf("most failures in a day = %d, MaxFailures says %d", most, want)
	}
}

func TestKeys(t *testing.T) {
	for _, c := range []struct{ ip, addr, network string }{
		{"198.51.100.7", "198.51.100.7", "198.51.100.0/24"},
		{"::ffff:198.51.100.7", "198.51.100.7", "198.51.100.0/24"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", "2001:db8:1::/48"},
		{"not an ip", "not an ip", "not an ip"},
	} {
		if a, n := Keys(c.ip); a != c.addr || n != c.network {
			t.Errorf("Keys(%q) = %q, %q; want %q, %q", c.ip, a, n, c.addr, c.network)
		}
	}
}

// An IPv6 guesser spreading over its /48 is stopped by the network's
// allowance; a customer in another /48 is not.
func TestIPv6NetworkAllowance(t *testing.T) {
	clk := time.Unix(0, 0)
	g := New(slog.New(slog.DiscardHandler), func() time.Time { return clk })
	n := 0
	for i := range 1000 {
		ip := fmt.Sprintf("2001:db8:1:%x::1", i)
		if ok, _ := g.Check(ip); ok {
			g.Fail(ip)
			n++
		}
	}
	if n != NetworkSchedule.Free {
		t.Errorf("a /48 got %d guesses at once, want %d", n, NetworkSchedule.Free)
	}
	if ok, _ := g.Check("2001:db8:2::1"); !ok {
		t.Error("an address in another /48 is throttled")
	}
}

// A flood of wrong codes from 10,000 addresses (the threat model), then
// the customer from an address that never guessed may try at once.
func TestFloodFromManyAddressesLeavesOthersFree(t *testing.T) {
	clk := time.Unix(0, 0)
	var logBuf bytes.Buffer
	g := New(slog.New(slog.NewTextHandler(&logBuf, nil)), func() time.Time { return clk })
	refused := 0
	for i := range ThreatAddresses {
		ip := fmt.Sprintf("10.%d.%d.1", i/256, i%256)
		for range 10 {
			if ok, _ := g.Check(ip); ok {
				g.Fail(ip)
			} else {
				refused++
			}
		}
	}
	if ok, wait := g.Check("192.0.2.44"); !ok {
		t.Fatalf("a customer who never guessed must wait %v", wait)
	}
	// Thousands of refusals within a minute: one summary line, not one
	// line each.
	g.Close()
	lines := strings.Count(logBuf.String(), "code guesses refused")
	if refused < 10_000 || lines > 2 {
		t.Errorf("%d refusals logged in %d lines, want at most 2", refused, lines)
	}
	if !strings.Contains(logBuf.String(), fmt.Sprintf("count=%d", refused-1)) {
		t.Errorf("summary does not count the refusals: %s", logBuf.String())
	}
}
