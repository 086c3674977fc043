package throttle

import (
	"log/slog"
	"sync"
	"time"
)

// Summary logs a repeated event as one line per interval, with how often
// it happened and from how many keys, instead of one line per event: a
// flood of refused guesses must not become a flood of log lines.
type Summary struct {
	log      *slog.Logger
	msg      string
	interval time.Duration
	now      func() time.Time

	mu    sync.Mutex // guards the following
	next  time.Time  // no line before this
	count int
	keys  map[string]struct{}
}

// maxSummaryKeys bounds the distinct keys remembered per line; beyond it
// the line says "at least".
const maxSummaryKeys = 10_000

// NewSummary returns a Summary logging msg at WARN.
func NewSummary(log *slog.Logger, msg string, interval time.Duration, now func() time.Time) *Summary {
	if now == nil {
		now = time.Now
	}
	return &Summary{log: log, msg: msg, interval: interval, now: now, keys: map[string]struct{}{}}
}

// Add counts one event from key. The first event after a quiet interval is
// logged at once; later ones are counted into the next line, written by
// the first event after the interval or by Flush.
func (s *Summary) Add(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	if len(s.keys) < maxSummaryKeys {
		s.keys[key] = struct{}{}
	}
	if now := s.now(); !now.Before(s.next) {
		s.writeLocked()
		s.next = now.Add(s.interval)
	}
}

// Flush writes what was counted since the last line (at shutdown).
func (s *Summary) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count > 0 {
		s.writeLocked()
	}
}

func (s *Summary) writeLocked() {
	s.log.Warn(s.msg, "count", s.count, "keys", len(s.keys), "keys_capped", len(s.keys) >= maxSummaryKeys,
		"interval", s.interval)
	s.count = 0
	clear(s.keys)
}
