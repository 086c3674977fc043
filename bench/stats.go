// Package bench measures Meekijk end to end on this machine: glass-to-glass
// latency, frame rate, bytes on the wire and agent CPU under scripted
// workloads, the same workloads seen through x11vnc, and the relay's
// capacity for idle agents. `make bench` runs it (see scripts/bench.sh) and
// writes BENCHMARKS.md at the repository root.
//
// The heavy run lives behind the build tag "bench" so `go test ./...` only
// runs the cheap tests of the parts (decoders, load generator, report).
package bench

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Dist summarises a set of latency samples.
type Dist struct {
	N        int
	P50, P95 time.Duration
	Min, Max time.Duration
}

// Summarise returns the distribution of samples (nearest-rank percentiles,
// so p95 is a sample that was actually seen).
func Summarise(samples []time.Duration) Dist {
	if len(samples) == 0 {
		return Dist{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return Dist{N: len(s), P50: rank(s, 0.50), P95: rank(s, 0.95), Min: s[0], Max: s[len(s)-1]}
}

func rank(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// String is "p50 12.3 ms, p95 20.1 ms (n=200)", or "no samples".
func (d Dist) String() string {
	if d.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s, p95 %s (n=%d)", ms(d.P50), ms(d.P95), d.N)
}

// ms formats a duration in milliseconds with one decimal.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
