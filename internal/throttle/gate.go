package throttle

import "sync"

// Gate caps how many of something (connections) are open at once, in all
// and per key (an address). Unlike a Limiter it counts what is held, not
// what failed: a slot is taken by Acquire and given back by its release.
type Gate struct {
	max, perKey int // 0: no cap

	mu    sync.Mutex // guards the following
	total int
	byKey map[string]int
}

// NewGate returns a Gate for at most max holders in all and perKey per key;
// 0 leaves either uncapped.
func NewGate(max, perKey int) *Gate {
	return &Gate{max: max, perKey: perKey, byKey: map[string]int{}}
}

// Acquire takes a slot for key. When ok, release gives it back; it may be
// called more than once.
func (g *Gate) Acquire(key string) (release func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if (g.max > 0 && g.total >= g.max) || (g.perKey > 0 && g.byKey[key] >= g.perKey) {
		return nil, false
	}
	g.total++
	g.byKey[key]++
	var once sync.Once
	return func() { once.Do(func() { g.release(key) }) }, true
}

func (g *Gate) release(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if g.byKey[key]--; g.byKey[key] <= 0 {
		delete(g.byKey, key)
	}
}

// Held is the number of slots taken.
func (g *Gate) Held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}
