package turnserver

import (
	"net"
	"sync"
)

// quota counts live allocations per credential username.
//
// Pion asks its QuotaHandler before it creates an allocation and reports
// the creation afterwards, and requests arriving on different connections
// (the UDP socket, each TCP connection) are handled concurrently. Counting
// only created allocations would let simultaneous requests all pass the
// check, so a request that passes reserves a slot until pion reports the
// allocation created, or reports an error for that request.
//
// A source address has at most one request in flight: pion handles the
// requests of one source serially, in the goroutine that reads its socket
// or connection. So reservations are keyed by source, and a reservation
// still there when the next request of that source arrives was orphaned.
type quota struct {
	max int

	mu      sync.Mutex        // guards the following
	active  map[string]int    // username -> live allocations
	pending map[string]string // source -> username holding a reservation
}

func newQuota(max int) *quota {
	return &quota{max: max, active: map[string]int{}, pending: map[string]string{}}
}

// sourceKey distinguishes the same address over UDP and over TCP.
func sourceKey(src net.Addr) string {
	if src == nil {
		return ""
	}
	return src.Network() + "/" + src.String()
}

// reserve reports whether username may create one more allocation, and if
// so holds a slot for it.
func (q *quota) reserve(username string, src net.Addr) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := sourceKey(src)
	delete(q.pending, key) // orphaned: this source's previous request is over
	n := q.active[username]
	for _, u := range q.pending {
		if u == username {
			n++
		}
	}
	if n >= q.max {
		return false
	}
	q.pending[key] = username
	return true
}

// created turns the reservation of src into a live allocation.
func (q *quota) created(username string, src net.Addr) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := sourceKey(src)
	if q.pending[key] == username {
		delete(q.pending, key)
	}
	q.active[username]++
}

// deleted frees the slot of an allocation that ended.
func (q *quota) deleted(username string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.active[username] <= 1 {
		delete(q.active, username)
		return
	}
	q.active[username]--
}

// failed drops any reservation of src: its request ended in an error, so no
// allocation came of it.
func (q *quota) failed(src net.Addr) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.pending, sourceKey(src))
}

// live returns the number of live allocations of username.
func (q *quota) live(username string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active[username]
}
