//go:build bench

package bench

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/pgtest"
	"github.com/meekijk/meekijk/internal/testrig"
)

var (
	outPath      = flag.String("out", "", "write the report to this file (make bench: BENCHMARKS.md)")
	phaseDur     = flag.Duration("phase", 4*time.Second, "how long each workload is measured in each round")
	rounds       = flag.Int("rounds", 3, "interleaved rounds of Meekijk and noVNC per condition")
	noisyRel     = flag.Float64("noisy", 0.35, "a figure whose rounds spread by more than this share of its median is marked noisy, not published")
	withCapacity = flag.Bool("capacity", true, "measure the relay's capacity for idle agents (false: a quicker look at the pipeline)")
	maxAgents    = flag.Int("agents", 50_000, "idle agents to step up to")
)

// roleEnv makes the test binary a helper process instead of the benchmark:
// the load generator needs file descriptors of its own, beyond this
// process's limit, and the relay's heap is profiled without the
// benchmark's own allocations in it.
const roleEnv = "MEEKIJK_BENCH_ROLE"

var bin struct{ relay, agent string }

func TestMain(m *testing.M) {
	quietX()
	switch os.Getenv(roleEnv) {
	case "loadgen":
		os.Exit(loadgenChild())
	case "relay-profile":
		os.Exit(relayProfileChild())
	}
	flag.Parse()
	dir, err := os.MkdirTemp("", "meekijk-bench-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Built as the Makefile builds them for release.
	if bin.relay, bin.agent, err = testrig.Build("..", dir, "bench", "-trimpath"); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	// The several-relays phase shares one PostgreSQL; pgtest stops it.
	code := pgtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}
