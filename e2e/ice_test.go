package e2e

// What the connectivity tests read from logs and from the console's peer
// connection.

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// logLine reports whether one line of logs contains all of parts.
func logLine(logs string, parts ...string) bool {
	for line := range strings.Lines(logs) {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			return true
		}
	}
	return false
}

// candidate is one end of an ICE candidate pair, from getStats.
type candidate struct {
	Type     string `json:"type"`
	Address  string `json:"address"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
	// RelayProtocol is how a local relay candidate reaches the TURN server.
	RelayProtocol string `json:"relayProtocol"`
}

func (c candidate) String() string {
	s := c.Type + " " + c.Protocol + " " + net.JoinHostPort(c.Address, strconv.Itoa(c.Port))
	if c.RelayProtocol != "" {
		s += " (to TURN over " + c.RelayProtocol + ")"
	}
	return s
}

// selectedPair reads the candidate pair the console's peer connection
// sends media on.
func selectedPair(t *testing.T, tab context.Context) struct{ Local, Remote candidate } {
	t.Helper()
	return evalAsync[struct{ Local, Remote candidate }](t, tab, `(async () => {
		const stats = await window.__meekijkPeer.getStats();
		let pair;
		stats.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
		if (!pair) stats.forEach((r) => { if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r; });
		if (!pair) throw new Error('no selected candidate pair');
		const end = (id) => {
			const c = stats.get(id);
			return { type: c.candidateType, address: c.address || c.ip || '', port: c.port, protocol: c.protocol, relayProtocol: c.relayProtocol || '' };
		};
		return { Local: end(pair.localCandidateId), Remote: end(pair.remoteCandidateId) };
	})()`)
}
