package server

import (
	"fmt"
	"syscall"
)

// DefaultMaxAgentsPerIP caps one address's agent connections: a company's
// NAT with many customers at once stays well within it, one host opening
// connections in a loop does not.
const DefaultMaxAgentsPerIP = 32

// agentCap is how many agent connections the relay takes at once. An
// eighth of the descriptor limit (at least 64) is kept in reserve for the
// console, the API and the database; agents get half of the rest, the
// other half being for what their sessions open (TURN allocations, the
// technicians' consoles). Without this, agents filling the descriptors
// made accept fail for everyone, and the admin could no longer log in.
// configured, when set and lower, wins.
func agentCap(configured int) (int, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("server: descriptor limit: %w", err)
	}
	n := int(min(lim.Cur, 1<<30))
	reserve := max(64, n/8)
	auto := max(1, (n-reserve)/2)
	if configured > 0 && configured < auto {
		return configured, nil
	}
	return auto, nil
}
