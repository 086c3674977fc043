package throttle

import (
	"sync"
	"time"
)

// Schedule is a growing penalty: Free failures may follow each other at
// once; after that, each further failure must wait Base, then Base×Factor,
// Base×Factor², … after the one before. A key's failures are forgotten
// Forget after its last one. Unlike a sliding window, a patient guesser
// gains nothing by waiting: the waits grow for as long as it keeps failing.
type Schedule struct {
	Free   int
	Base   time.Duration
	Factor int
	Forget time.Duration
}

// Wait is how long a key with n failures must wait after its last one.
// It never exceeds Forget: by then the failures are forgotten anyway.
func (s Schedule) Wait(n int) time.Duration {
	if n < s.Free {
		return 0
	}
	w := s.Base
	for range n - s.Free {
		if w >= s.Forget {
			break
		}
		w *= time.Duration(s.Factor)
	}
	return min(w, s.Forget)
}

// MaxFailures is the most failures one key can make within any period of
// length d ≤ Forget, trying each time as soon as it is allowed from a clean
// start: the figure the code-guessing bound rests on (docs/security.md).
// A key's count is reset only after a quiet Forget, so no period of length
// d sees more than one clean start.
func (s Schedule) MaxFailures(d time.Duration) int {
	var at time.Duration
	n := 0
	for {
		next := at + s.Wait(n)
		if n > 0 && next > d {
			return n
		}
		at, n = next, n+1
	}
}

// Penalty applies a Schedule per key.
type Penalty struct {
	sched   Schedule
	maxKeys int
	now     func() time.Time

	mu   sync.Mutex // guards the following
	keys map[string]*penaltyEntry
}

type penaltyEntry struct {
	n    int
	last time.Time
}

// NewPenalty returns a Penalty tracking at most maxKeys keys. When full,
// forgotten keys are dropped first, then the one whose last failure is the
// oldest (it is the closest to being forgotten anyway). It never refuses a
// key for want of room: that would lock out customers who never failed.
func NewPenalty(s Schedule, maxKeys int, now func() time.Time) *Penalty {
	if now == nil {
		now = time.Now
	}
	return &Penalty{sched: s, maxKeys: maxKeys, now: now, keys: map[string]*penaltyEntry{}}
}

// Check reports whether key may try now, and if not, how long to wait.
func (p *Penalty) Check(key string) (ok bool, retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.liveLocked(key, p.now())
	if e == nil {
		return true, 0
	}
	if wait := e.last.Add(p.sched.Wait(e.n)).Sub(p.now()); wait > 0 {
		return false, wait
	}
	return true, 0
}

// Fail records a failure of key.
func (p *Penalty) Fail(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	e := p.liveLocked(key, now)
	if e == nil {
		if len(p.keys) >= p.maxKeys {
			p.evictLocked(now)
		}
		e = &penaltyEntry{}
		p.keys[key] = e
	}
	e.n++
	e.last = now
}

// Len is the number of keys tracked.
func (p *Penalty) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.keys)
}

// liveLocked returns key's entry, dropping it if forgotten.
func (p *Penalty) liveLocked(key string, now time.Time) *penaltyEntry {
	e := p.keys[key]
	if e != nil && now.Sub(e.last) >= p.sched.Forget {
		delete(p.keys, key)
		return nil
	}
	return e
}

// evictLocked makes room for one key.
func (p *Penalty) evictLocked(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for k, e := range p.keys {
		if now.Sub(e.last) >= p.sched.Forget {
			delete(p.keys, k)
			continue
		}
		if oldestKey == "" || e.last.Before(oldest) {
			oldestKey, oldest = k, e.last
		}
	}
	if len(p.keys) >= p.maxKeys {
		delete(p.keys, oldestKey)
	}
}
