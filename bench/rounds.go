package bench

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Spread is one figure measured in several interleaved rounds: its median
// and range. A single run of this benchmark moves by 10-30 % with what
// else the machine does, so a figure is only published as a median, and
// not at all when its rounds disagree too much (Noisy).
type Spread struct {
	N                int
	Median, Min, Max float64
}

// SpreadOf summarises the rounds' values; the median of an even count is
// the upper middle one, a value that was actually seen.
func SpreadOf(vals []float64) Spread {
	if len(vals) == 0 {
		return Spread{}
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	return Spread{N: len(s), Median: s[len(s)/2], Min: s[0], Max: s[len(s)-1]}
}

// Rel is the range relative to the median: 0.3 means the rounds lay
// within 30 % of the median's size of each other.
func (s Spread) Rel() float64 {
	if s.Median == 0 {
		if s.Max == s.Min {
			return 0
		}
		return 1
	}
	return (s.Max - s.Min) / s.Median
}

// Noisy says whether the rounds disagree by more than limit (Rel), or are
// too few to tell.
func (s Spread) Noisy(limit float64) bool { return s.N < 2 || s.Rel() > limit }

// Scaled is the spread in other units: k times each value.
func (s Spread) Scaled(k float64) Spread {
	return Spread{N: s.N, Median: s.Median * k, Min: s.Min * k, Max: s.Max * k}
}

// Format is "21.3 (19.0-24.2)" with the given number of decimals.
func (s Spread) Format(decimals int) string {
	if s.N == 0 {
		return "-"
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', decimals, 64) }
	if s.N == 1 {
		return f(s.Median)
	}
	return fmt.Sprintf("%s (%s-%s)", f(s.Median), f(s.Min), f(s.Max))
}

// LoadSampler reads the 1-minute load average every second while a phase
// runs: the load at the start or the end of a run says little about a
// phase in its middle.
type LoadSampler struct {
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex // guards samples
	samples []float64
}

// SampleLoad starts sampling /proc/loadavg now and every interval.
func SampleLoad(interval time.Duration) *LoadSampler {
	l := &LoadSampler{stop: make(chan struct{}), done: make(chan struct{})}
	l.add()
	go func() {
		defer close(l.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				l.add()
			}
		}
	}()
	return l
}

func (l *LoadSampler) add() {
	v, err := load1()
	if err != nil {
		return // no /proc: the figure shows as "-"
	}
	l.mu.Lock()
	l.samples = append(l.samples, v)
	l.mu.Unlock()
}

// Stop ends sampling and returns the mean and highest load seen.
func (l *LoadSampler) Stop() (mean, highest float64) {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range l.samples {
		mean += v
		highest = max(highest, v)
	}
	if len(l.samples) > 0 {
		mean /= float64(len(l.samples))
	}
	return mean, highest
}

// load1 is the 1-minute load average.
func load1() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, fmt.Errorf("read load average: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("load average: empty")
	}
	return strconv.ParseFloat(f[0], 64)
}
