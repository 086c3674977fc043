// Package codeguard is the relay's policy against guessing session codes
// and resume tokens: growing penalties per address and per network, and
// the figures the guessing bound of docs/security.md is computed from.
//
// There is deliberately no relay-wide limit: one would let any guesser
// lock every customer out, right code or not. A guesser slows only its own
// address and network; a customer elsewhere always gets to try.
package codeguard

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/meekijk/meekijk/internal/throttle"
)

// Day is the period the guessing bound is stated for.
const Day = 24 * time.Hour

// FreePerAddress is how many wrong codes an address may make back to back.
const FreePerAddress = 3

// The penalty schedules. An address may get 3 codes wrong at once (a
// customer mistyping), then waits 1, 4, 16, 64… minutes between tries:
// at most AddressSchedule.MaxFailures(Day) = 9 wrong codes a day. A
// network (an IPv4 /24, an IPv6 /48: what one party typically holds) gets
// 30 at once, then waits 30 s, 1, 2, 4… minutes: an IPv6 guesser who holds
// a /48 cannot multiply its tries by its 2^16 /64s.
var (
	AddressSchedule = throttle.Schedule{Free: FreePerAddress, Base: time.Minute, Factor: 4, Forget: Day}
	NetworkSchedule = throttle.Schedule{Free: 30, Base: 30 * time.Second, Factor: 2, Forget: Day}
)

// The threat the bound is worked out for (docs/security.md): an attacker
// with this many addresses, each in its own network, guessing for a Day
// while this many codes are live.
const (
	ThreatAddresses = 10_000
	ThreatLiveCodes = 100
	// MaxHitChance is the most the attacker's chance of hitting any live
	// code in a Day may be.
	MaxHitChance = 1e-5
)

// HitBound is the union bound on the chance that addresses guessers, each
// making at most AddressSchedule.MaxFailures(Day) wrong guesses a day,
// hit any of live codes out of space: every guess hits with probability
// at most live/space.
func HitBound(addresses, live int, space float64) float64 {
	return float64(addresses) * float64(AddressSchedule.MaxFailures(Day)) * float64(live) / space
}

// Caps per technician. Every live code is a target; these keep the live
// codes near what the desk really uses, so ThreatLiveCodes = 100 is 20
// technicians each at the cap. The hourly cap stops one login (or a stolen
// one) from minting codes in a loop.
const (
	LiveCodesPerTechnician       = 5
	SessionsPerTechnicianPerHour = 30
)

// maxKeys bounds each table: far above ThreatAddresses, and a few tens of
// megabytes at most.
const maxKeys = 200_000

// Guard applies the schedules and logs refusals in summary.
type Guard struct {
	byAddress *throttle.Penalty
	byNetwork *throttle.Penalty
	refused   *throttle.Summary
}

// New returns a Guard; refusals are logged to log, one line a minute at
// most.
func New(log *slog.Logger, now func() time.Time) *Guard {
	return &Guard{
		byAddress: throttle.NewPenalty(AddressSchedule, maxKeys, now),
		byNetwork: throttle.NewPenalty(NetworkSchedule, maxKeys, now),
		refused:   throttle.NewSummary(log, "code guesses refused (throttled)", time.Minute, now),
	}
}

// Check reports whether ip may try a code now; if not, how long it must
// wait. Refusals are counted for the summary line.
func (g *Guard) Check(ip string) (ok bool, retryAfter time.Duration) {
	addr, network := Keys(ip)
	okA, waitA := g.byAddress.Check(addr)
	okN, waitN := g.byNetwork.Check(network)
	if okA && okN {
		return true, 0
	}
	g.refused.Add(addr)
	return false, max(waitA, waitN)
}

// Fail records a wrong code or token from ip.
func (g *Guard) Fail(ip string) {
	addr, network := Keys(ip)
	g.byAddress.Fail(addr)
	g.byNetwork.Fail(network)
}

// Close writes the refusals counted since the last summary line.
func (g *Guard) Close() { g.refused.Flush() }

// Keys returns the address and network keys of ip. An IPv6 host usually
// holds a whole /64, so that is its "address"; its network is the /48.
// For IPv4 they are the address and its /24.
func Keys(ip string) (address, network string) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip, ip
	}
	a = a.Unmap()
	if a.Is4() {
		n, _ := a.Prefix(24)
		return a.String(), n.String()
	}
	p64, _ := a.Prefix(64)
	p48, _ := a.Prefix(48)
	return p64.String(), p48.String()
}
