// Package hub is the relay's meeting point: it redeems session codes, pairs
// each session's agent with its console, relays their signaling, and records
// every step of the session in the store as it happens.
//
// The hub can ask, never force: it forwards the agent's offer only after the
// customer's consent is recorded, but the agent itself refuses to capture or
// connect before the customer allows it.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/codeguard"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/sessioncode"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/internal/throttle"
	"github.com/meekijk/meekijk/internal/wsconn"
)

// Store is what the hub needs of the database.
type Store interface {
	RedeemCode(ctx context.Context, codeHash []byte, actor string, detail any) (store.Session, error)
	Transition(ctx context.Context, id int64, from []string, to, kind, actor string, detail any) error
	End(ctx context.Context, id int64, by, actor, reason string) (bool, error)
	AddEvent(ctx context.Context, id int64, kind, actor string, detail any) error
	Session(ctx context.Context, id int64) (store.Session, error)
	RecordAcceptance(ctx context.Context, a *store.Acceptance, actor string, detail map[string]any) error
	ConsentTimers(ctx context.Context) (store.ConsentTimers, error)
	Categories(ctx context.Context) ([]store.Category, error)
	AddEventAt(ctx context.Context, id int64, at time.Time, kind, actor string, detail any) error
	SetResumeToken(ctx context.Context, id int64, hash []byte) error
	Resume(ctx context.Context, id int64, tokenHash []byte, actor string) (store.Session, bool, error)
	Heartbeat(ctx context.Context, ids []int64) error
	Interrupt(ctx context.Context, id int64, downAt time.Time, reason, actor string) (bool, error)
	InterruptSessions(ctx context.Context, ids []int64, downAt time.Time, reason, actor string) error
	EndAbandoned(ctx context.Context, cutoff time.Time, actor string) ([]int64, error)
}

// GuessesPerConn wrong codes on one connection before it is closed: as
// many as an address may get wrong at once (the limits per address and
// network are codeguard's).
const GuessesPerConn = codeguard.FreePerAddress

// Config describes the hub.
type Config struct {
	// Company is the desk's name, shown to the customer.
	Company string
	// Software is the relay's version, sent in Welcome.
	Software string
	// MaxAgents and MaxAgentsPerIP cap the agent connections open at once
	// (0: no cap); the relay derives the first from its descriptor limit
	// so the console and API keep descriptors to work with. An agent over
	// a cap is answered 503 with Retry-After before it is upgraded.
	MaxAgents, MaxAgentsPerIP int
	// Codes hashes the codes agents bring, as the console stored them;
	// nil: a random key (tests that create sessions through the store
	// pass their own).
	Codes *sessioncode.Hasher
	// ICE gives the ICE servers (with credentials) and the transport policy
	// for one session; nil means none (direct connections only).
	ICE func(sessionID int64) (servers []protocol.ICEServer, policy string)
	Now func() time.Time
	// Cost prices work at a level on a session for the customer's cost
	// notice: nil when covered. nil Cost: nothing is ever billable.
	Cost func(ctx context.Context, sessionID int64, level protocol.Level) (*protocol.CostNotice, error)
	// Grace is how long a session keeps the customer's consent while its
	// agent is unreachable; <= 0 means DefaultGrace.
	Grace time.Duration
	// Billable is a session's billable time so far by the relay's clock,
	// as its statement would bill it. nil: approved estimates are never
	// watched for an overrun.
	Billable func(ctx context.Context, sessionID int64) (time.Duration, error)
	// AfterFunc calls f in its own goroutine after d and returns what
	// stops it; nil is time.AfterFunc. Tests replace it to fire the
	// estimate and answer timers at will.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// Cluster links this relay to the others of the desk (cluster.go);
	// nil: the relay is alone and holds every room itself.
	Cluster Cluster
	// Recordings keeps session recordings (recording.go); nil: sessions
	// are never recorded.
	Recordings Recorder
}

// DefaultGrace is the grace period of a dropped link: a Wi-Fi hiccup or a
// router restart resumes without bothering the customer; anything longer
// needs their consent again.
const DefaultGrace = 60 * time.Second

// ice is cfg.ICE, or nothing.
func (h *Hub) ice(sessionID int64) ([]protocol.ICEServer, string) {
	if h.cfg.ICE == nil {
		return nil, ""
	}
	return h.cfg.ICE(sessionID)
}

// Hub pairs agents and consoles.
//
// Locks: the hub's mu and each room's mu are never held together; neither
// is held while the hub writes to the store, asks Billable or Cost, or
// sends to a peer (a send only queues, but a store write can take a disk
// sync). Code decides under a lock, unlocks, then does its I/O; a
// function whose name ends in Locked expects its room's mu held. The
// timer groups' own mu (timerGroup) is a leaf, taken last and briefly.
type Hub struct {
	store Store
	log   *slog.Logger
	cfg   Config

	upgrader websocket.Upgrader
	guard    *codeguard.Guard
	// agents holds a slot per open agent connection; full is the summary
	// of the ones refused for want of a slot.
	agents *throttle.Gate
	full   *throttle.Summary

	mu     sync.Mutex // guards the following five
	rooms  map[int64]*room
	conns  map[*wsconn.Conn]struct{}
	closed bool
	// With a cluster: the consoles served here (by proxy name) and the
	// consoles of other relays seated in rooms held here.
	proxies map[string]*consoleProxy
	remotes map[string]*remoteConsole
	// stopping is set by Shutdown before it interrupts the rooms. It is
	// an atomic, not under mu, because code holding a room's lock reads
	// it: no estimate or keep timer is armed and no room opened once it
	// is set.
	stopping atomic.Bool
	// draining turns new agent connections away (503) while the
	// connected ones go on, so a load balancer moves new ones elsewhere
	// before the relay stops (Drain).
	draining atomic.Bool

	// Counts since the hub started, for Stats (/metrics). refusedMu is a
	// leaf lock, taken alone and briefly.
	joined atomic.Uint64
	// Sessions this relay handed to the desk's others as it stopped, and
	// took over from another relay (which crashed or handed them over).
	handedOver, takenOver atomic.Uint64
	refusedMu             sync.Mutex
	refused               map[string]uint64 // by reason

	handlers sync.WaitGroup // one per connection being served
	graces   timerGroup     // grace-period timers armed or running
	timers   timerGroup     // estimate and keep timers armed or running
}

// room is one live session: its connections and everything the relay
// knows of its consent. It is the unit of locking (see Hub).
type room struct {
	id int64

	mu        sync.Mutex // guards every field below
	agent     *wsconn.Conn
	agentInfo *protocol.AgentInfo
	console   side // on this relay, or a console on another (remoteConsole)
	live      bool // the customer allowed viewing
	// level is the consent level the customer granted ("" before view).
	level protocol.Level
	// asked holds the requests put to the customer and not yet answered,
	// by level: the agent may grant only what was asked, and an
	// intervention's acceptance is stored with the work it was asked for.
	asked map[protocol.Level]protocol.ConsentRequest
	// technician is who works the session now: the session's technician
	// until another one opens its console (a hand-over).
	technician store.User
	// open: an agent joined and the session is neither over nor
	// interrupted.
	open bool
	// seen is when the relay last heard from the agent (its clock).
	seen time.Time
	// down: the link is down since downAt, recorded (link_down); grace
	// runs until the consent lapses. downGen tells one drop from the next.
	down    bool
	downAt  time.Time
	downGen int
	grace   *time.Timer
	// resumed: the agent came back after the session was interrupted, so
	// a "no" to the new question ends the session instead of declining it.
	resumed bool
	// media: the agent reported media_started on the DTLS connection now
	// up, so a verification code exists to compare (sas.go).
	media bool

	// Estimates and keep questions (estimate.go, consent.go).
	//
	// noticed holds the levels in force that were granted with a cost
	// notice: a category change makes only the others billable anew.
	noticed map[protocol.Level]bool
	// watch is the approved estimate being watched, if any; watchGen
	// bumps whenever its timer is armed or stopped, so a timer that fires
	// after it was replaced does nothing.
	watch    *estimateWatch
	watchGen int
	// keepStop stops the answer timer of the keep question asked;
	// keepGen tells one keep question's timer from the next.
	keepStop func() bool
	keepGen  int

	// With a cluster: claimed is set while this relay is the room's home
	// in the database; saved is the state last saved there.
	claimed bool
	saved   RoomState
	// rec is where the session's recording stands (recording.go).
	rec string
}

// New returns a Hub; it starts nothing (see Run).
func New(st Store, log *slog.Logger, cfg Config) *Hub {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Codes == nil {
		// Drawing 32 random bytes does not fail on Linux; a hasher
		// under a key nobody knows would only make every code wrong.
		cfg.Codes, _ = sessioncode.RandomHasher()
	}
	h := &Hub{
		store:   st,
		log:     log,
		cfg:     cfg,
		guard:   codeguard.New(log, cfg.Now),
		agents:  throttle.NewGate(cfg.MaxAgents, cfg.MaxAgentsPerIP),
		full:    throttle.NewSummary(log, "agent connections refused (relay full)", time.Minute, cfg.Now),
		rooms:   map[int64]*room{},
		conns:   map[*wsconn.Conn]struct{}{},
		refused: map[string]uint64{},
		proxies: map[string]*consoleProxy{},
		remotes: map[string]*remoteConsole{},
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Origin is checked by each handler before upgrading.
		CheckOrigin: func(*http.Request) bool { return true },
		// Write buffers are lent only while a message is written, so
		// gorilla does not keep the hijacked connection's 4 KB writer
		// for the connection's life. Its own small reader lets net/http's
		// 4 KB one go once ServeAgent returns (BENCHMARKS.md, relay
		// memory); protocol messages are small, larger ones take several
		// reads.
		ReadBufferSize:  1024,
		WriteBufferPool: &sync.Pool{},
	}
	return h
}

// Refusal reasons Stats counts, beside the code refusals (protocol error
// codes such as wrong_code).
const (
	RefusedFull     = "relay_full"     // no agent slot left (per address or in all)
	RefusedOrigin   = "foreign_origin" // a browser page of another site
	RefusedShutdown = "shutting_down"
	RefusedDraining = "draining"
)

// Drain turns new agent connections away from now on, leaving the
// connected ones be; Shutdown then ends those. Draining reports it.
func (h *Hub) Drain()         { h.draining.Store(true) }
func (h *Hub) Draining() bool { return h.draining.Load() }

// Stats is what the hub holds now and counts since it started.
type Stats struct {
	Connections      int // WebSockets open, agents and consoles, in a session or not yet
	Rooms            int
	Agents, Consoles int               // attached to a session's room
	Joined           uint64            // agents that joined a session with its code
	HandedOver       uint64            // sessions left to the desk's other relays on stopping
	TakenOver        uint64            // sessions adopted from another relay
	Refused          map[string]uint64 // connections and codes refused, by reason
}

// Stats reads the hub's figures. It takes the hub's lock, then each room's
// in turn, never together (the lock rule above).
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	st := Stats{Connections: len(h.conns), Rooms: len(h.rooms)}
	h.mu.Unlock()
	for _, r := range h.allRooms() {
		r.mu.Lock()
		if r.agent != nil {
			st.Agents++
		}
		if r.console != nil {
			st.Consoles++
		}
		r.mu.Unlock()
	}
	st.Joined = h.joined.Load()
	st.HandedOver, st.TakenOver = h.handedOver.Load(), h.takenOver.Load()
	h.refusedMu.Lock()
	st.Refused = maps.Clone(h.refused)
	h.refusedMu.Unlock()
	return st
}

func (h *Hub) countRefused(reason string) {
	h.refusedMu.Lock()
	h.refused[reason]++
	h.refusedMu.Unlock()
}

// Run watches the agents' links (silence, heartbeats, abandoned sessions)
// until ctx ends. The hub serves without it, but then a dead link is only
// noticed when its connection closes.
func (h *Hub) Run(ctx context.Context) {
	h.watchLinks(ctx)
}

// accept upgrades the request and registers the connection so Shutdown can
// reach it. It returns nil when the relay is shutting down.
func (h *Hub) accept(w http.ResponseWriter, r *http.Request, log *slog.Logger) *wsconn.Conn {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		h.countRefused(RefusedShutdown)
		http.Error(w, "relay shutting down", http.StatusServiceUnavailable)
		return nil
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		log.Info("websocket upgrade failed", "err", err)
		return nil
	}
	c := wsconn.New(ws, log)
	h.mu.Lock()
	closed = h.closed
	if !closed {
		h.conns[c] = struct{}{}
		h.handlers.Add(1)
	}
	h.mu.Unlock()
	if closed {
		// Shutdown began during the upgrade: the peer is connected and
		// hears why it is sent away, as the others did, before the close.
		c.Finish(protocol.Error{Code: protocol.ErrRelayRestarting, Message: "relay shutting down"})
		select {
		case <-c.Done():
		case <-time.After(wsconn.WriteWait):
			c.Close()
		}
		return nil
	}
	return c
}

func (h *Hub) release(c *wsconn.Conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.handlers.Done()
}

// Shutdown hands the open sessions to the desk's other relays (handOver)
// or, alone or where that fails, interrupts them (their agents resume them
// with a fresh consent once a relay is back), tells every connected peer the
// relay is going away, closes the connections, and waits for their
// handlers to finish or ctx to end.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.stopping.Store(true)
	defer h.guard.Close()
	defer h.full.Flush()
	rooms := h.allRooms()
	if h.cfg.Cluster != nil {
		// Another relay of the desk carries the sessions on. A lone
		// relay has nobody to hand them to: its sessions are
		// interrupted, and the customer is asked again when it is back.
		rooms = h.handOver(rooms)
	}
	h.interruptAll(rooms, h.cfg.Now(), store.InterruptShutdown)
	h.mu.Lock()
	for c := range h.conns {
		c.Finish(protocol.Error{Code: protocol.ErrRelayRestarting, Message: "relay shutting down"})
	}
	h.mu.Unlock()
	// A room's timers stop when it is interrupted or ends; a room not
	// open (joined, never live) may still hold none, but is forgotten
	// here all the same. A timer that had fired is let finish.
	for _, r := range h.allRooms() {
		r.mu.Lock()
		r.forgetEstimatesLocked()
		r.mu.Unlock()
	}
	h.graces.closeAndWait()
	h.timers.closeAndWait()
	done := make(chan struct{})
	go func() {
		h.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		h.mu.Lock()
		left := len(h.conns)
		for c := range h.conns {
			c.Close()
		}
		h.mu.Unlock()
		// A handler leaves conns as it returns: with none left, the time
		// ran out on the steps above, not on a handler.
		if left == 0 {
			return nil
		}
		return fmt.Errorf("hub shutdown: %d connections still open: %w", left, ctx.Err())
	}
}

func (h *Hub) room(id int64) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[id]
	if r == nil {
		r = &room{id: id, asked: map[protocol.Level]protocol.ConsentRequest{}, noticed: map[protocol.Level]bool{}}
		h.rooms[id] = r
	}
	return r
}

// leave removes c from its room and drops the room once empty.
func (h *Hub) leave(r *room, c side) {
	r.mu.Lock()
	if r.agent == c {
		r.agent = nil
	}
	if r.console == c {
		r.console = nil
	}
	r.mu.Unlock()
	h.dropIfEmpty(r)
}

// toConsole and toAgent forward a message to the other side, if connected.
func (r *room) toConsole(m protocol.Message) {
	r.mu.Lock()
	c := r.console
	r.mu.Unlock()
	if c != nil {
		_ = c.Send(m)
	}
}

func (r *room) toAgent(m protocol.Message) {
	r.mu.Lock()
	c := r.agent
	r.mu.Unlock()
	if c != nil {
		_ = c.Send(m)
	}
}

func (r *room) isLive() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live
}

// checkHello validates the opening message of a connection.
func checkHello(m protocol.Message, role string) (protocol.Hello, *protocol.Error) {
	hello, ok := m.(protocol.Hello)
	if !ok || hello.Role != role {
		return hello, &protocol.Error{Code: protocol.ErrBadMessage, Message: "expected hello as " + role}
	}
	if hello.Protocol != protocol.Version {
		return hello, &protocol.Error{Code: protocol.ErrProtocolVersion,
			Message: fmt.Sprintf("relay speaks protocol %d, peer %d", protocol.Version, hello.Protocol)}
	}
	return hello, nil
}

// cleanText makes agent-supplied text safe to store and show: no control
// or format characters (a right-to-left override could make a host name
// read as another), bounded length. HTML escaping is the page's job.
func cleanText(s string) string {
	s = stripControls(s)
	if len(s) > 100 {
		s = strings.ToValidUTF8(s[:100], "")
	}
	return s
}

var errPeerDone = errors.New("peer finished")

// timerGroup counts the timers the hub owns, so Shutdown can wait for
// them. A bare WaitGroup will not do: a timer armed (Add) while Shutdown
// already waits is a race on the WaitGroup itself. add refuses once the
// group is closed, atomically with the count.
type timerGroup struct {
	// mu is a leaf: code may take it while holding a room's mu, and takes
	// no other lock while holding it. It guards closed and every Add.
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// add counts a timer about to be armed; false once the group is closed,
// when nothing must be armed.
func (g *timerGroup) add() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	return true
}

// done uncounts a timer that ran or was stopped before it ran.
func (g *timerGroup) done() { g.wg.Done() }

// closeAndWait refuses new timers and waits for the counted ones.
func (g *timerGroup) closeAndWait() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}
