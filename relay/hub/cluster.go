package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/internal/wsconn"
)

// Several relays, one desk (docs/deploy.md, "Several relays").
//
// A session's room has one home: the relay holding its agent, which claims
// the session in the shared database (Cluster.Claim). All of the room's
// consent logic runs there, exactly as on a lone relay. A console is served
// through a consoleProxy on whichever relay its browser reached: the proxy
// forwards the console's messages to the room's home, which seats a
// remoteConsole in the room and sends back through the cluster. When the
// home is this relay, the cluster delivers in-process. When the room moves
// (the agent joined after the console opened, or resumed on another relay
// after its own died), every relay hears of the new claim (Moved): the
// proxies detach from the old home and attach to the new one, and the old
// home lets the room go without interrupting it.
//
// With no cluster (one relay, SQLite) none of this runs: consoles attach to
// rooms directly.

// Cluster is the hub's channel to the other relays of the desk.
type Cluster interface {
	// Self names this relay.
	Self() string
	// Claim makes this relay the home of the session and returns the state
	// the previous home saved (zero when there was none).
	Claim(ctx context.Context, sessionID int64) (RoomState, error)
	// Announce tells every relay the session's home changed (Moved):
	// called once the claimed room is ready for its consoles.
	Announce(ctx context.Context, sessionID int64) error
	// Save records the state of rooms this relay is home of, so another
	// relay can take them over.
	Save(ctx context.Context, states []RoomState) error
	// HandOver saves the states of rooms this relay leaves to the others
	// as it stops, and starts their grace period now: the leader
	// interrupts those no relay takes within it (Orphans).
	HandOver(ctx context.Context, states []RoomState) error
	// Release deletes relay's claim of a session, if it still holds it.
	Release(ctx context.Context, sessionID int64, relay string) error
	// Home names the live relay holding the session, "" when none does.
	Home(ctx context.Context, sessionID int64) (string, error)
	// Alive reports whether the relay still beats.
	Alive(ctx context.Context, relay string) (bool, error)
	// Orphans lists the sessions claimed by relays silent for longer than
	// d, with the last time each of those relays was heard of.
	Orphans(ctx context.Context, d time.Duration) ([]RoomState, error)
	// Send queues env for relay to; envelopes from one relay to another
	// arrive in the order sent, each at most once.
	Send(to string, env Envelope) error
	// Leader reports whether this relay runs the desk's background jobs.
	Leader() bool
}

// RoomState is what a room's home saves of it for a relay taking it over:
// the consent in force and who works the session.
type RoomState struct {
	Session int64  `json:"-"`
	Relay   string `json:"-"` // the home that saved it
	// Beat is when that home was last heard of (now while it lives).
	Beat time.Time `json:"-"`

	Open           bool           `json:"open,omitempty"`
	Live           bool           `json:"live,omitempty"`
	Level          protocol.Level `json:"level,omitempty"`
	TechnicianID   int64          `json:"technicianId,omitempty"`
	TechnicianName string         `json:"technician,omitempty"`
	// DownAt is when the link went down, recorded as link_down, in Unix
	// milliseconds; 0 while it is up.
	DownAt int64 `json:"downAt,omitempty"`
}

// Envelope kinds. A proxy sends attach, message and detach to the room's
// home; the home sends deliver, finish and close to the proxy, or reattach
// when the console reached a relay that is not (or no longer) the home.
const (
	EnvAttach   = "attach"
	EnvMessage  = "message"
	EnvDetach   = "detach"
	EnvDeliver  = "deliver"
	EnvFinish   = "finish"
	EnvClose    = "close"
	EnvReattach = "reattach"
)

// Envelope carries a console's traffic between its proxy and the room's
// home.
type Envelope struct {
	Kind    string `json:"kind"`
	From    string `json:"from"` // the sending relay
	Session int64  `json:"session"`
	// Console names the proxy: its relay and a number unique there.
	Console string `json:"console"`
	// User and IP come with attach: who the console's user is, for the
	// record and the hand-over rule.
	User *ConsoleUser    `json:"user,omitempty"`
	IP   string          `json:"ip,omitempty"`
	Msg  json.RawMessage `json:"msg,omitempty"`
}

// ConsoleUser is what the home needs of a console's user; no secrets
// travel.
type ConsoleUser struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// consoleProxy serves a console's WebSocket on this relay for a room whose
// home may be any relay.
type consoleProxy struct {
	h       *Hub
	id      string
	session int64
	conn    *wsconn.Conn
	user    store.User
	ip      string
	log     *slog.Logger
	hellod  bool // only the handler's goroutine reads and writes it

	mu   sync.Mutex // a leaf; guards home
	home string     // the relay attached to, "" before the first attach
}

// remoteConsole sits in a room's console seat for a console whose proxy is
// on another relay (or on this one, reached the same way).
type remoteConsole struct {
	h      *Hub
	id     string // the proxy's name
	relay  string // the proxy's relay
	cc     *consoleConn
	sess   store.Session
	closed atomic.Bool
}

var proxySeq atomic.Uint64

// serveProxy runs a console's connection as a proxy until it closes.
func (h *Hub) serveProxy(ctx context.Context, c *wsconn.Conn, user store.User, ip string, sessionID int64, log *slog.Logger) {
	p := &consoleProxy{h: h, id: h.cfg.Cluster.Self() + "/" + strconv.FormatUint(proxySeq.Add(1), 10),
		session: sessionID, conn: c, user: user, ip: ip, log: log}
	h.mu.Lock()
	h.proxies[p.id] = p
	h.mu.Unlock()
	err := c.Run(ctx, p.handle)
	log.Debug("console connection closed", "err", err)
	h.mu.Lock()
	delete(h.proxies, p.id)
	h.mu.Unlock()
	p.mu.Lock()
	home := p.home
	p.mu.Unlock()
	if home != "" {
		p.send(home, EnvDetach, nil)
	}
}

func (p *consoleProxy) handle(m protocol.Message) error {
	if !p.hellod {
		if _, perr := checkHello(m, protocol.RoleConsole); perr != nil {
			p.conn.Finish(*perr)
			return errPeerDone
		}
		p.hellod = true
		p.follow(context.Background(), true)
		return nil
	}
	p.mu.Lock()
	home := p.home
	p.mu.Unlock()
	return p.send(home, EnvMessage, m)
}

// follow attaches the proxy to the room's home when that changed (or
// always, when force is set), detaching from the one before. Before any
// relay holds the agent, this relay serves the console.
func (p *consoleProxy) follow(ctx context.Context, force bool) {
	cl := p.h.cfg.Cluster
	home, err := cl.Home(ctx, p.session)
	if err != nil {
		p.log.Error("find the session's relay", "err", err)
		if !force {
			return // keep the one attached to; the poll asks again
		}
	}
	if home == "" {
		home = cl.Self()
	}
	p.mu.Lock()
	old := p.home
	changed := old != home
	p.home = home
	p.mu.Unlock()
	if !changed && !force {
		return
	}
	if old != "" && changed {
		p.send(old, EnvDetach, nil)
	}
	p.log.Debug("console attached", "home", home)
	p.send(home, EnvAttach, nil)
}

// send wraps m (nil for none) in an envelope for relay to.
func (p *consoleProxy) send(to, kind string, m protocol.Message) error {
	env := Envelope{Kind: kind, From: p.h.cfg.Cluster.Self(), Session: p.session, Console: p.id}
	if kind == EnvAttach {
		env.User, env.IP = &ConsoleUser{ID: p.user.ID, Name: p.user.Name}, p.ip
	}
	if m != nil {
		b, err := protocol.Encode(m)
		if err != nil {
			return fmt.Errorf("console proxy: encode %s: %w", m.Type(), err)
		}
		env.Msg = b
	}
	if err := p.h.cfg.Cluster.Send(to, env); err != nil {
		return fmt.Errorf("console proxy: to relay %s: %w", to, err)
	}
	return nil
}

// deliver hands the proxy what its home sent. Envelopes from a relay that
// is no longer its home are stale and dropped.
func (p *consoleProxy) deliver(env Envelope) {
	p.mu.Lock()
	home := p.home
	p.mu.Unlock()
	if env.From != home {
		return
	}
	if env.Kind == EnvReattach {
		p.follow(context.Background(), true)
		return
	}
	if env.Kind == EnvClose {
		p.conn.Close()
		return
	}
	m, err := protocol.Decode(env.Msg)
	if err != nil {
		p.log.Error("message from the session's relay", "from", env.From, "err", err)
		return
	}
	if env.Kind == EnvFinish {
		p.conn.Finish(m)
		return
	}
	_ = p.conn.Send(m)
}

func (rc *remoteConsole) envelope(kind string, m protocol.Message) error {
	env := Envelope{Kind: kind, From: rc.h.cfg.Cluster.Self(), Session: rc.sess.ID, Console: rc.id}
	if m != nil {
		b, err := protocol.Encode(m)
		if err != nil {
			return fmt.Errorf("remote console: encode %s: %w", m.Type(), err)
		}
		env.Msg = b
	}
	return rc.h.cfg.Cluster.Send(rc.relay, env)
}

// Send queues m for the console.
func (rc *remoteConsole) Send(m protocol.Message) error {
	if rc.closed.Load() {
		return wsconn.ErrClosed
	}
	return rc.envelope(EnvDeliver, m)
}

// Finish sends m last and takes the console out of its room; its proxy
// closes the WebSocket once m is written.
func (rc *remoteConsole) Finish(m protocol.Message) {
	if rc.closed.Swap(true) {
		return
	}
	if err := rc.envelope(EnvFinish, m); err != nil {
		rc.h.log.Warn("finish a remote console", "console", rc.id, "err", err)
	}
	rc.h.dropRemote(rc)
}

// Close closes the console at once.
func (rc *remoteConsole) Close() {
	if rc.closed.Swap(true) {
		return
	}
	if err := rc.envelope(EnvClose, nil); err != nil {
		rc.h.log.Warn("close a remote console", "console", rc.id, "err", err)
	}
	rc.h.dropRemote(rc)
}

// dropRemote forgets a remote console and takes it out of its room.
func (h *Hub) dropRemote(rc *remoteConsole) {
	h.mu.Lock()
	if h.remotes[rc.id] == rc {
		delete(h.remotes, rc.id)
	}
	h.mu.Unlock()
	h.leave(rc.cc.room, rc)
}

// Deliver takes an envelope another relay (or this one) sent to this
// relay. The cluster calls it for one sender at a time, in order.
func (h *Hub) Deliver(ctx context.Context, env Envelope) {
	switch env.Kind {
	case EnvAttach:
		h.attachRemote(ctx, env)
	case EnvMessage, EnvDetach:
		h.mu.Lock()
		rc := h.remotes[env.Console]
		h.mu.Unlock()
		switch {
		case rc == nil && env.Kind == EnvMessage:
			// This relay does not seat that console (it restarted, or
			// the room moved): the proxy attaches again where the room is.
			h.replyTo(env, EnvReattach)
		case rc == nil:
		case env.Kind == EnvDetach:
			rc.closed.Store(true)
			h.dropRemote(rc)
		default:
			h.remoteMessage(rc, env)
		}
	case EnvDeliver, EnvFinish, EnvClose, EnvReattach:
		h.mu.Lock()
		p := h.proxies[env.Console]
		h.mu.Unlock()
		if p != nil {
			p.deliver(env)
		}
	default:
		h.log.Warn("unknown envelope from another relay", "kind", env.Kind, "from", env.From)
	}
}

func (h *Hub) replyTo(env Envelope, kind string) {
	if err := h.cfg.Cluster.Send(env.From, Envelope{Kind: kind, From: h.cfg.Cluster.Self(), Session: env.Session, Console: env.Console}); err != nil {
		h.log.Warn("answer another relay", "to", env.From, "kind", kind, "err", err)
	}
}

// attachRemote seats a proxy's console in its room, as ServeConsole seats
// a local one. A room that lives elsewhere sends the proxy on.
func (h *Hub) attachRemote(ctx context.Context, env Envelope) {
	cl := h.cfg.Cluster
	if home, err := cl.Home(ctx, env.Session); err == nil && home != "" && home != cl.Self() {
		h.replyTo(env, EnvReattach)
		return
	}
	if env.User == nil {
		h.log.Warn("console attach without its user", "from", env.From)
		return
	}
	user := store.User{ID: env.User.ID, Name: env.User.Name}
	actor := store.ActorName("technician", user.ID)
	rc := &remoteConsole{h: h, id: env.Console, relay: env.From}
	sess, err := h.store.Session(store.WithActor(ctx, store.Actor{Name: actor, IP: env.IP}), env.Session)
	if err != nil {
		h.log.Error("console attach", "session", env.Session, "err", err)
		rc.sess.ID = env.Session
		_ = rc.envelope(EnvFinish, protocol.Error{Code: protocol.ErrInternal, Message: "could not read the session"})
		return
	}
	rc.sess = sess
	rc.cc = &consoleConn{h: h, conn: rc, room: h.room(sess.ID), user: user, actor: actor, ip: env.IP, hellod: true}
	h.mu.Lock()
	old := h.remotes[rc.id]
	h.remotes[rc.id] = rc
	h.mu.Unlock()
	if old != nil {
		// The same console attaching again (the room came back here):
		// the old seat goes quietly, its proxy already follows.
		old.closed.Store(true)
		h.leave(old.cc.room, old)
	}
	actx := store.WithActor(ctx, store.Actor{Name: actor, IP: env.IP})
	if err := rc.cc.attach(actx, sess.ID); err != nil {
		h.log.Warn("console attach", "session", sess.ID, "err", err)
		rc.Close()
	}
}

// remoteMessage handles one message of a remote console, as a local
// console's handler would.
func (h *Hub) remoteMessage(rc *remoteConsole, env Envelope) {
	m, err := protocol.Decode(env.Msg)
	if err != nil {
		_ = rc.Send(protocol.Error{Code: protocol.ErrBadMessage, Message: err.Error()})
		return
	}
	if err := rc.cc.handle(m, rc.sess); err != nil {
		// errPeerDone: the handler finished the console itself.
		if err != errPeerDone {
			h.log.Warn("remote console", "console", rc.id, "err", err)
		}
		rc.Close()
	}
}

// Moved is called when the claim of a session changed, and by the poll
// that stands in for a missed notification. Proxies follow the room to its
// new home; a room this relay held but no longer does is let go without
// ending or interrupting anything: its new home carries it on.
func (h *Hub) Moved(ctx context.Context, sessionID int64) {
	cl := h.cfg.Cluster
	h.mu.Lock()
	var proxies []*consoleProxy
	for _, p := range h.proxies {
		if p.session == sessionID {
			proxies = append(proxies, p)
		}
	}
	r := h.rooms[sessionID]
	h.mu.Unlock()
	for _, p := range proxies {
		p.follow(ctx, false)
	}
	if r == nil {
		return
	}
	home, err := cl.Home(ctx, sessionID)
	switch {
	case err != nil || home == cl.Self():
	case home == "":
		h.refreshStatus(ctx, r)
	default:
		h.letGo(r)
	}
}

// refreshStatus tells the console of a room no relay holds where its
// session stands in the store: the leader interrupted or ended it.
func (h *Hub) refreshStatus(ctx context.Context, r *room) {
	r.mu.Lock()
	held := r.agent != nil || r.open
	r.mu.Unlock()
	if held {
		return
	}
	sess, err := h.store.Session(ctx, r.id)
	if err != nil {
		h.log.Error("read a session no relay holds", "session", r.id, "err", err)
		return
	}
	st := protocol.Status{Status: sess.Status, By: sess.EndedBy, Reason: sess.EndReason}
	if sess.Status == store.StatusLive || sess.Status == store.StatusJoined {
		st.Status = protocol.StatusReconnecting
	}
	r.toConsole(st)
}

// letGo forgets a room that another relay took over.
func (h *Hub) letGo(r *room) {
	r.mu.Lock()
	held := r.open || r.agent != nil
	r.open, r.live, r.level = false, false, ""
	clear(r.asked)
	h.stopGraceLocked(r)
	r.forgetEstimatesLocked()
	agent := r.agent
	r.agent = nil
	r.claimed = false
	r.mu.Unlock()
	h.mu.Lock()
	var seated []*remoteConsole
	for _, rc := range h.remotes {
		if rc.cc.room == r {
			seated = append(seated, rc)
		}
	}
	h.mu.Unlock()
	for _, rc := range seated {
		rc.closed.Store(true)
		h.dropRemote(rc)
	}
	if agent != nil {
		// A connection the agent gave up on: it works from the other
		// relay now.
		agent.Close()
	}
	if held {
		h.log.Info("session taken over by another relay", "session", r.id)
	}
	h.dropIfEmpty(r)
}

// Follow makes every proxy look up its room's home again and lets go of
// rooms taken over: the poll behind missed notifications. It also unseats
// the consoles of relays that died, whose detach never comes: their rooms
// would otherwise never empty.
func (h *Hub) Follow(ctx context.Context) {
	seen := map[int64]bool{}
	relays := map[string][]*remoteConsole{}
	h.mu.Lock()
	for _, p := range h.proxies {
		seen[p.session] = true
	}
	for id := range h.rooms {
		seen[id] = true
	}
	for _, rc := range h.remotes {
		relays[rc.relay] = append(relays[rc.relay], rc)
	}
	h.mu.Unlock()
	for id := range seen {
		if ctx.Err() != nil {
			return
		}
		h.Moved(ctx, id)
	}
	for relay, seated := range relays {
		if alive, err := h.cfg.Cluster.Alive(ctx, relay); err != nil || alive {
			continue
		}
		for _, rc := range seated {
			h.log.Info("console of a lost relay unseated", "session", rc.sess.ID, "relay", relay)
			rc.closed.Store(true)
			h.dropRemote(rc)
		}
	}
}

// claim makes this relay the home of r's session (a joining or resuming
// agent is here) and reports the state the previous home left.
func (h *Hub) claim(ctx context.Context, r *room) (RoomState, bool) {
	cl := h.cfg.Cluster
	if cl == nil {
		return RoomState{}, false
	}
	prev, err := cl.Claim(ctx, r.id)
	if err != nil {
		// The session works here; consoles on other relays do not find
		// it until a later save claims it.
		h.log.Error("claim session", "session", r.id, "err", err)
		return RoomState{}, false
	}
	r.mu.Lock()
	r.claimed = true
	r.saved = RoomState{}
	r.mu.Unlock()
	return prev, true
}

// announce has the consoles on every relay follow the room here.
func (h *Hub) announce(ctx context.Context, id int64) {
	if err := h.cfg.Cluster.Announce(ctx, id); err != nil {
		// The relays' poll finds the new home instead, a little later.
		h.log.Error("announce session", "session", id, "err", err)
	}
}

// takeOver adopts a room whose previous home was another relay: within
// the grace period the customer's consent stands, as it would had the
// agent come back to the same relay; after it the session is interrupted
// at the moment its link went down. It runs after the agent's resume token
// was checked.
func (h *Hub) takeOver(ctx context.Context, r *room, interrupted bool) {
	prev, ok := h.claim(ctx, r)
	if ok {
		// Consoles follow once the room holds what it adopts.
		defer h.announce(ctx, r.id)
	}
	if !ok || interrupted || prev.Relay == "" || prev.Relay == h.cfg.Cluster.Self() || !prev.Open {
		return
	}
	now := h.cfg.Now()
	recorded := prev.DownAt != 0
	downAt := time.UnixMilli(prev.DownAt)
	if !recorded {
		// The old home never saw the link go down: it died (last heard
		// of at Beat) or the agent left it a moment ago.
		downAt = prev.Beat
		if downAt.IsZero() || downAt.After(now) {
			downAt = now
		}
	}
	if now.Sub(downAt) > h.cfg.Grace {
		if _, err := h.store.Interrupt(ctx, r.id, downAt, store.InterruptGraceExpired, actorRelay); err != nil {
			h.log.Error("interrupt a session taken over too late", "session", r.id, "err", err)
		}
		return
	}
	r.mu.Lock()
	adopted := !r.open
	if adopted {
		r.open, r.live, r.level = true, prev.Live, prev.Level
		if prev.TechnicianID != 0 {
			r.technician = store.User{ID: prev.TechnicianID, Name: prev.TechnicianName}
		}
		r.down, r.downAt = true, downAt
	}
	r.mu.Unlock()
	if !adopted {
		return
	}
	h.takenOver.Add(1)
	h.log.Info("session taken over from another relay", "session", r.id, "from", prev.Relay, "level", prev.Level)
	if !recorded {
		if err := h.store.AddEventAt(ctx, r.id, downAt, store.EventLinkDown, actorRelay,
			map[string]string{"reason": "relay_lost", "relay": prev.Relay}); err != nil {
			h.log.Error("record link down", "session", r.id, "err", err)
		}
	}
}

// stateLocked is what r's home saves of it.
func (r *room) stateLocked() RoomState {
	st := RoomState{Session: r.id, Open: r.open, Live: r.live, Level: r.level,
		TechnicianID: r.technician.ID, TechnicianName: r.technician.Name}
	if r.down {
		st.DownAt = r.downAt.UnixMilli()
	}
	return st
}

// handOver leaves the rooms this relay is home of to the desk's other
// relays as it stops (a rolling restart): each room is saved with its link
// down from now, in one write, before any agent is told to go, so the relay
// an agent resumes on adopts the room at the consent in force, as after a
// crash but without losing what changed since the last periodic save. The
// customer is not asked again. It returns the open rooms it could not hand
// over (never claimed, or the save failed), which Shutdown interrupts as a
// lone relay does.
func (h *Hub) handOver(rooms []*room) (left []*room) {
	now := h.cfg.Now()
	var (
		states  []RoomState
		moving  []*room
		wasDown []bool
	)
	for _, r := range rooms {
		r.mu.Lock()
		switch {
		case !r.open:
		case !r.claimed:
			left = append(left, r)
		default:
			wasDown = append(wasDown, r.down)
			if !r.down {
				r.down, r.downAt = true, now
			}
			states = append(states, r.stateLocked())
			moving = append(moving, r)
		}
		r.mu.Unlock()
	}
	if len(moving) == 0 {
		return left
	}
	ctx := store.WithActor(context.Background(), store.Actor{Name: actorRelay})
	if err := h.cfg.Cluster.HandOver(ctx, states); err != nil {
		h.log.Error("hand sessions over; interrupting them instead", "sessions", len(moving), "err", err)
		return append(left, moving...)
	}
	for i, r := range moving {
		if !wasDown[i] {
			if err := h.store.AddEventAt(ctx, r.id, now, store.EventLinkDown, actorRelay,
				map[string]string{"reason": "relay_stopping"}); err != nil {
				h.log.Error("record link down", "session", r.id, "err", err)
			}
		}
		r.mu.Lock()
		level := r.level
		r.open, r.live, r.level, r.claimed = false, false, "", false
		clear(r.asked)
		h.stopGraceLocked(r)
		r.forgetEstimatesLocked()
		r.mu.Unlock()
		h.handedOver.Add(1)
		h.log.Info("session handed over to the other relays", "session", r.id, "level", level)
		r.toConsole(protocol.Status{Status: protocol.StatusReconnecting, Level: level})
	}
	return left
}

// saveEvery is how often a room's home saves the rooms' states.
const saveEvery = 250 * time.Millisecond

// saveRooms saves the state of the rooms this relay is home of that
// changed since last saved, so a relay taking one over finds the consent
// in force. It runs every saveEvery (watchLinks), only writing what
// changed: a change in the moment before a relay dies may be lost, which
// the agent's own enforcement covers (it keeps its own level on a resume
// and never takes one from the relay).
func (h *Hub) saveRooms(ctx context.Context) {
	var changed []RoomState
	var rooms []*room
	for _, r := range h.allRooms() {
		r.mu.Lock()
		if st := r.stateLocked(); r.claimed && st != r.saved {
			changed = append(changed, st)
			rooms = append(rooms, r)
		}
		r.mu.Unlock()
	}
	if len(changed) == 0 {
		return
	}
	if err := h.cfg.Cluster.Save(ctx, changed); err != nil {
		if ctx.Err() == nil {
			h.log.Error("save room states", "rooms", len(changed), "err", err)
		}
		return
	}
	for i, r := range rooms {
		r.mu.Lock()
		r.saved = changed[i]
		r.mu.Unlock()
	}
}

// sweepOrphans interrupts the sessions whose home relay died and whose
// agent came back to no other relay within the grace period: worked time
// stops when that relay was last heard of. Only the leader runs it.
func (h *Hub) sweepOrphans(ctx context.Context) {
	orphans, err := h.cfg.Cluster.Orphans(ctx, h.cfg.Grace)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Error("find sessions of lost relays", "err", err)
		}
		return
	}
	actx := store.WithActor(ctx, store.Actor{Name: actorRelay})
	for _, o := range orphans {
		if _, err := h.store.Interrupt(actx, o.Session, o.Beat, store.InterruptGraceExpired, actorRelay); err != nil {
			h.log.Error("interrupt a session of a lost relay", "session", o.Session, "err", err)
			continue
		}
		h.log.Info("session interrupted: its relay was lost and its agent did not come back", "session", o.Session, "relay", o.Relay)
		// The claim goes: the session is interrupted, its next resume
		// claims it afresh wherever it lands. The consoles hear it from
		// their relays (Moved, refreshStatus).
		if err := h.cfg.Cluster.Release(ctx, o.Session, o.Relay); err != nil {
			h.log.Error("release a lost relay's claim", "session", o.Session, "err", err)
			continue
		}
		h.announce(ctx, o.Session)
	}
}
