// Package cluster links the relays of one desk through their shared
// PostgreSQL database: which relays run (relay_nodes), which relay is the
// home of each session's room (room_claims), the signals between them
// (relay_signals), and which relay runs the desk's background jobs (an
// advisory lock).
//
// Rows are the truth; LISTEN/NOTIFY only wakes the receiver, which also
// reads its rows whenever its listening connection (re)connects and every
// Poll, since a notification sent while it was away is lost. The design
// and its failure cases are in docs/deploy.md ("Several relays").
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meekijk/meekijk/relay/hub"
)

// Notification channels: a signal's payload is the receiving relay, a
// claim's the session.
const (
	signalChannel = "meekijk_signal"
	claimChannel  = "meekijk_claim"
)

// leaderLock is the advisory lock key of the desk's background jobs
// ("meek" in ASCII).
const leaderLock = 0x6d65656b

// nowMS is the database's clock in Unix milliseconds: every relay judges
// leases by the same clock.
const nowMS = "(extract(epoch from clock_timestamp()) * 1000)::bigint"

// MaxQueued bounds the signals waiting to be written: a database that
// stops answering must not grow the relay's memory without end. A console
// whose message finds the queue full is disconnected (and reconnects).
const MaxQueued = 10000

// ErrQueueFull is Send's answer when MaxQueued signals wait.
var ErrQueueFull = errors.New("cluster: signal queue full")

// Config describes a relay's node.
type Config struct {
	// DSN is the postgres:// URL of the desk's database.
	DSN string
	// Self names this relay; empty: the host name and a random suffix,
	// new at every start (its rooms die with the process).
	Self string
	// Beat is how often the relay renews its row; Lease how long a relay
	// silent stays alive to the others. Defaults: 2 s and 10 s.
	Beat, Lease time.Duration
	// Poll is how often the relay reads its signals and looks up the
	// homes of its rooms with no notification (default 2 s).
	Poll time.Duration
}

// Handler is what the node delivers to: the hub.
type Handler interface {
	Deliver(ctx context.Context, env hub.Envelope)
	Moved(ctx context.Context, sessionID int64)
	Follow(ctx context.Context)
}

// Node is one relay's membership of the desk. It implements hub.Cluster.
type Node struct {
	cfg  Config
	log  *slog.Logger
	pool *pgxpool.Pool

	handler atomic.Pointer[handlerBox]
	leader  atomic.Bool

	mu     sync.Mutex // guards out; a leaf
	out    []outgoing
	wake   chan struct{} // a send is queued (capacity 1)
	ready  chan struct{} // closed once the node beat for the first time
	readyO sync.Once
}

type handlerBox struct{ h Handler }

type outgoing struct {
	to   string
	body []byte
}

// New connects to the database; it starts nothing (see Run).
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Node, error) {
	if cfg.Self == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.Self = host + "-" + hex.EncodeToString(b)
	}
	if cfg.Beat <= 0 {
		cfg.Beat = 2 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	pool, err := pgxpool.New(ctx, cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect: %w", err)
	}
	return &Node{cfg: cfg, log: log.With("relay", cfg.Self), pool: pool,
		wake: make(chan struct{}, 1), ready: make(chan struct{})}, nil
}

// Bind sets what the node delivers to; call it before Run.
func (n *Node) Bind(h Handler) { n.handler.Store(&handlerBox{h}) }

// Self names this relay.
func (n *Node) Self() string { return n.cfg.Self }

// Leader reports whether this relay holds the desk's job lock.
func (n *Node) Leader() bool { return n.leader.Load() }

// Ready is closed once the relay is registered (its first beat).
func (n *Node) Ready() <-chan struct{} { return n.ready }

// Run beats, listens, sends and competes for the job lock until ctx ends,
// then removes the relay's row and closes the pool.
func (n *Node) Run(ctx context.Context) error {
	if n.handler.Load() == nil {
		return errors.New("cluster: Run before Bind")
	}
	if err := n.beat(ctx); err != nil {
		n.pool.Close()
		return err
	}
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){n.beatLoop, n.listen, n.sendLoop, n.lead} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	wg.Wait()
	// Leaving tells the others at once that this relay's rooms are free to
	// take over, rather than after the lease.
	lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := n.pool.Exec(lctx, "DELETE FROM relay_nodes WHERE id = $1", n.cfg.Self); err != nil {
		n.log.Warn("cluster: leave", "err", err)
	}
	n.pool.Close()
	return nil
}

// Close closes the node's connections, for a relay that fails to start
// after New; Run closes them itself.
func (n *Node) Close() { n.pool.Close() }

func (n *Node) beat(ctx context.Context) error {
	_, err := n.pool.Exec(ctx, "INSERT INTO relay_nodes (id, started_at, beat_at) VALUES ($1, "+nowMS+", "+nowMS+") "+
		"ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at", n.cfg.Self)
	if err != nil {
		return fmt.Errorf("cluster: beat: %w", err)
	}
	n.readyO.Do(func() { close(n.ready) })
	return nil
}

func (n *Node) beatLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.Beat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := n.beat(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("cluster: beat", "err", err)
		}
	}
}

// Claim makes this relay the home of the session and returns what the
// previous home saved, with when that relay was last heard of.
func (n *Node) Claim(ctx context.Context, sessionID int64) (hub.RoomState, error) {
	var prev hub.RoomState
	err := pgx.BeginFunc(ctx, n.pool, func(tx pgx.Tx) error {
		var relay, state string
		var beat *int64
		err := tx.QueryRow(ctx, "SELECT c.relay_id, c.state, n.beat_at FROM room_claims c "+
			"LEFT JOIN relay_nodes n ON n.id = c.relay_id WHERE c.session_id = $1 FOR UPDATE OF c", sessionID).Scan(&relay, &state, &beat)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		default:
			if err := json.Unmarshal([]byte(state), &prev); err != nil {
				return fmt.Errorf("state of session %d: %w", sessionID, err)
			}
			prev.Session, prev.Relay = sessionID, relay
			if beat != nil {
				prev.Beat = time.UnixMilli(*beat)
			}
		}
		if _, err := tx.Exec(ctx, "INSERT INTO room_claims (session_id, relay_id, state, claimed_at) VALUES ($1, $2, '{}', "+nowMS+") "+
			"ON CONFLICT (session_id) DO UPDATE SET relay_id = excluded.relay_id, state = excluded.state, claimed_at = excluded.claimed_at",
			sessionID, n.cfg.Self); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return hub.RoomState{}, fmt.Errorf("cluster: claim session %d: %w", sessionID, err)
	}
	return prev, nil
}

// Announce wakes every relay to follow the session to its new home.
func (n *Node) Announce(ctx context.Context, sessionID int64) error {
	if _, err := n.pool.Exec(ctx, "SELECT pg_notify($1, $2)", claimChannel, strconv.FormatInt(sessionID, 10)); err != nil {
		return fmt.Errorf("cluster: announce session %d: %w", sessionID, err)
	}
	return nil
}

// Save records the state of rooms this relay holds; a claim another relay
// took meanwhile is left alone.
func (n *Node) Save(ctx context.Context, states []hub.RoomState) error {
	return n.writeStates(ctx, "save", "UPDATE room_claims SET state = $1 WHERE session_id = $2 AND relay_id = $3", states)
}

// HandOver saves the states of rooms this relay leaves as it stops and
// dates their claims now: once the relay's row is gone (Run removes it as
// it returns), Orphans measures the grace period from the hand-over, not
// from when the relay had claimed the room.
func (n *Node) HandOver(ctx context.Context, states []hub.RoomState) error {
	return n.writeStates(ctx, "hand over",
		"UPDATE room_claims SET state = $1, claimed_at = "+nowMS+" WHERE session_id = $2 AND relay_id = $3", states)
}

// writeStates runs update ($1 the state, $2 the session, $3 this relay)
// for each of states in one batch.
func (n *Node) writeStates(ctx context.Context, what, update string, states []hub.RoomState) error {
	b := &pgx.Batch{}
	for _, st := range states {
		js, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("cluster: %s session %d: %w", what, st.Session, err)
		}
		b.Queue(update, string(js), st.Session, n.cfg.Self)
	}
	if err := n.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("cluster: %s %d room states: %w", what, len(states), err)
	}
	return nil
}

// Release deletes relay's claim of the session, if it still holds it.
func (n *Node) Release(ctx context.Context, sessionID int64, relay string) error {
	if _, err := n.pool.Exec(ctx, "DELETE FROM room_claims WHERE session_id = $1 AND relay_id = $2", sessionID, relay); err != nil {
		return fmt.Errorf("cluster: release session %d: %w", sessionID, err)
	}
	return nil
}

// Home names the live relay holding the session, "" when none does.
func (n *Node) Home(ctx context.Context, sessionID int64) (string, error) {
	var relay string
	err := n.pool.QueryRow(ctx, "SELECT c.relay_id FROM room_claims c JOIN relay_nodes n ON n.id = c.relay_id "+
		"WHERE c.session_id = $1 AND n.beat_at >= "+nowMS+" - $2", sessionID, n.cfg.Lease.Milliseconds()).Scan(&relay)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cluster: home of session %d: %w", sessionID, err)
	}
	return relay, nil
}

// Alive reports whether relay renewed its row within the lease.
func (n *Node) Alive(ctx context.Context, relay string) (bool, error) {
	var alive bool
	err := n.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM relay_nodes WHERE id = $1 AND beat_at >= "+nowMS+" - $2)",
		relay, n.cfg.Lease.Milliseconds()).Scan(&alive)
	if err != nil {
		return false, fmt.Errorf("cluster: is relay %s alive: %w", relay, err)
	}
	return alive, nil
}

// Orphans lists the claims of relays silent for longer than d (or gone),
// with when each was last heard of.
func (n *Node) Orphans(ctx context.Context, d time.Duration) ([]hub.RoomState, error) {
	rows, err := n.pool.Query(ctx, "SELECT c.session_id, c.relay_id, COALESCE(n.beat_at, c.claimed_at) FROM room_claims c "+
		"LEFT JOIN relay_nodes n ON n.id = c.relay_id WHERE COALESCE(n.beat_at, c.claimed_at) < "+nowMS+" - $1 ORDER BY c.session_id",
		max(d, n.cfg.Lease).Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("cluster: orphans: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (hub.RoomState, error) {
		var st hub.RoomState
		var beat int64
		err := row.Scan(&st.Session, &st.Relay, &beat)
		st.Beat = time.UnixMilli(beat)
		return st, err
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: orphans: %w", err)
	}
	return out, nil
}

// Send queues env for relay to. To this relay it is delivered at once, in
// the caller's goroutine, so a relay serving both ends of a room adds no
// database round trip.
func (n *Node) Send(to string, env hub.Envelope) error {
	if to == n.cfg.Self {
		n.handler.Load().h.Deliver(context.Background(), env)
		return nil
	}
	body, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("cluster: encode %s: %w", env.Kind, err)
	}
	n.mu.Lock()
	if len(n.out) >= MaxQueued {
		n.mu.Unlock()
		return ErrQueueFull
	}
	n.out = append(n.out, outgoing{to, body})
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
	return nil
}

// sendLoop writes the queued signals, a batch per transaction in the order
// queued, and notifies their receivers at commit.
func (n *Node) sendLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		for {
			n.mu.Lock()
			batch := n.out
			n.out = nil
			n.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for ctx.Err() == nil {
				err := n.write(ctx, batch)
				if err == nil {
					break
				}
				// Kept and tried again in order: a signal is a console's
				// consent request or its answer, never to be dropped
				// while the relay lives.
				n.log.Error("cluster: write signals", "count", len(batch), "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}
}

func (n *Node) write(ctx context.Context, batch []outgoing) error {
	return pgx.BeginFunc(ctx, n.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		woken := map[string]bool{}
		for _, o := range batch {
			b.Queue("INSERT INTO relay_signals (to_relay, body, created_at) VALUES ($1, $2, "+nowMS+")", o.to, string(o.body))
			if !woken[o.to] {
				woken[o.to] = true
				b.Queue("SELECT pg_notify($1, $2)", signalChannel, o.to)
			}
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// listen keeps a connection listening for signals and claims; each time
// it (re)connects it reads what came meanwhile and has the hub look up
// every room's home, since notifications sent while away are lost.
func (n *Node) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := n.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		n.log.Error("cluster: listening connection lost", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (n *Node) listenOnce(ctx context.Context) error {
	conn, err := n.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection carries LISTEN state: it never goes back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.Background())
	for _, ch := range []string{signalChannel, claimChannel} {
		if _, err := pc.Exec(ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	h := n.handler.Load().h
	n.receive(ctx)
	h.Follow(ctx)
	lastFollow := time.Now()
	for {
		wctx, cancel := context.WithTimeout(ctx, n.cfg.Poll)
		note, err := pc.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			// The poll: a notification may have been lost.
			n.receive(ctx)
			if time.Since(lastFollow) >= n.cfg.Poll {
				h.Follow(ctx)
				lastFollow = time.Now()
			}
		case err != nil:
			return err
		case note.Channel == signalChannel && note.Payload == n.cfg.Self:
			n.receive(ctx)
		case note.Channel == claimChannel:
			if id, err := strconv.ParseInt(note.Payload, 10, 64); err == nil {
				h.Moved(ctx, id)
			}
		}
	}
}

// receive delivers the signals waiting for this relay, in order, and
// deletes them once delivered.
func (n *Node) receive(ctx context.Context) {
	h := n.handler.Load().h
	for ctx.Err() == nil {
		rows, err := n.pool.Query(ctx, "SELECT id, body FROM relay_signals WHERE to_relay = $1 ORDER BY id LIMIT 500", n.cfg.Self)
		if err != nil {
			n.log.Error("cluster: read signals", "err", err)
			return
		}
		type signal struct {
			seq  int64
			body string
		}
		got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (signal, error) {
			var s signal
			return s, row.Scan(&s.seq, &s.body)
		})
		if err != nil {
			n.log.Error("cluster: read signals", "err", err)
			return
		}
		if len(got) == 0 {
			return
		}
		seqs := make([]int64, len(got))
		for i, s := range got {
			seqs[i] = s.seq
			var env hub.Envelope
			if err := json.Unmarshal([]byte(s.body), &env); err != nil {
				n.log.Error("cluster: bad signal", "seq", s.seq, "err", err)
				continue
			}
			h.Deliver(ctx, env)
		}
		if _, err := n.pool.Exec(ctx, "DELETE FROM relay_signals WHERE id = ANY($1)", seqs); err != nil {
			n.log.Error("cluster: delete delivered signals", "err", err)
			return
		}
		if len(got) < 500 {
			return
		}
	}
}

// lead competes for the desk's job lock on a connection of its own: held
// as long as that connection lives, freed by PostgreSQL when the relay
// dies. While it holds the lock it also clears what dead relays left.
func (n *Node) lead(ctx context.Context) {
	t := time.NewTicker(n.cfg.Beat)
	defer t.Stop()
	var conn *pgx.Conn
	defer func() {
		n.leader.Store(false)
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for {
		if conn == nil {
			c, err := n.pool.Acquire(ctx)
			if err == nil {
				conn = c.Hijack()
			} else if ctx.Err() == nil {
				n.log.Error("cluster: job lock connection", "err", err)
			}
		}
		if conn != nil {
			if err := n.holdLock(ctx, conn); err != nil {
				if ctx.Err() == nil {
					n.log.Error("cluster: job lock", "err", err)
				}
				if n.leader.Swap(false) {
					n.log.Warn("cluster: no longer runs the desk's jobs")
				}
				conn.Close(context.Background())
				conn = nil
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// holdLock takes the job lock if free, or checks the connection holding
// it still lives.
func (n *Node) holdLock(ctx context.Context, conn *pgx.Conn) error {
	if n.leader.Load() {
		if err := conn.Ping(ctx); err != nil {
			return err
		}
		return n.clearDead(ctx)
	}
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", leaderLock).Scan(&got); err != nil {
		return err
	}
	if got {
		n.leader.Store(true)
		n.log.Info("cluster: this relay runs the desk's jobs")
	}
	return nil
}

// clearDead deletes the signals of relays dead for ten leases (nobody
// will read them) and the rows of relays dead an hour with no claims left.
func (n *Node) clearDead(ctx context.Context) error {
	dead := 10 * n.cfg.Lease.Milliseconds()
	if _, err := n.pool.Exec(ctx, "DELETE FROM relay_signals s WHERE NOT EXISTS (SELECT 1 FROM relay_nodes n "+
		"WHERE n.id = s.to_relay AND n.beat_at >= "+nowMS+" - $1) AND s.created_at < "+nowMS+" - $1", dead); err != nil {
		return fmt.Errorf("clear signals of dead relays: %w", err)
	}
	if _, err := n.pool.Exec(ctx, "DELETE FROM relay_nodes n WHERE n.beat_at < "+nowMS+" - $1 "+
		"AND NOT EXISTS (SELECT 1 FROM room_claims c WHERE c.relay_id = n.id)", time.Hour.Milliseconds()); err != nil {
		return fmt.Errorf("clear dead relays: %w", err)
	}
	return nil
}
