// Package throttle limits how often a key (an IP address, an account, a
// connection) may fail within a sliding window: the mechanism behind the
// login and session-code guessing limits.
package throttle

import (
	"sync"
	"time"
)

// Limiter allows at most Max failures per key within Window. It counts only
// failures: a customer who types the right code first time is never slowed.
type Limiter struct {
	max     int
	window  time.Duration
	maxKeys int
	now     func() time.Time

	mu    sync.Mutex // guards the following
	fails map[string][]time.Time
}

// New returns a Limiter. maxKeys bounds memory: when that many keys are
// tracked and none can be pruned, unknown keys are refused (fail closed)
// rather than letting an attacker with many addresses grow the map.
func New(max int, window time.Duration, maxKeys int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{max: max, window: window, maxKeys: maxKeys, now: now, fails: map[string][]time.Time{}}
}

// Check reports whether key may try now, and if not, how long to wait.
func (l *Limiter) Check(key string) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	recent := l.recentLocked(key, now)
	if recent == nil && len(l.fails) >= l.maxKeys {
		l.pruneLocked(now)
		if len(l.fails) >= l.maxKeys {
			return false, l.window
		}
	}
	if len(recent) < l.max {
		return true, 0
	}
	return false, recent[0].Add(l.window).Sub(now)
}

// Fail records a failed attempt by key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	recent := l.recentLocked(key, now)
	if len(recent) >= l.max {
		recent = recent[1:]
	}
	l.fails[key] = append(recent, now)
}

// Reset forgets key's failures.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// recentLocked returns key's failures inside the window, dropping older ones.
func (l *Limiter) recentLocked(key string, now time.Time) []time.Time {
	fails := l.fails[key]
	i := 0
	for i < len(fails) && !fails[i].After(now.Add(-l.window)) {
		i++
	}
	if i == len(fails) {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = fails[i:]
	return fails[i:]
}

func (l *Limiter) pruneLocked(now time.Time) {
	for key := range l.fails {
		l.recentLocked(key, now)
	}
}
