package hub_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/relay/hub"
)

var (
	stressSeed  = flag.Uint64("stress.seed", 0, "replay TestStressRooms with this seed (0: a new one)")
	stressRooms = flag.Int("stress.rooms", 0, "rooms in TestStressRooms (0: 200, or 40 with -short)")
)

// Bounds of the stress test: each room takes stressSteps actions, and the
// whole run must be over by stressDeadline, Shutdown by shutdownDeadline.
const (
	stressSteps      = 12
	stressDeadline   = 50 * time.Second
	shutdownDeadline = 15 * time.Second
)

// TestStressRooms runs hundreds of rooms on one hub through random
// interleavings of consent answers, hand-overs, category changes, drops
// and resumes, with estimate and keep timers firing at random and a
// Shutdown in the middle. No room may be left stuck, the hub must hold
// nothing afterwards, and no goroutine may outlive it. A failure prints
// its seed; -stress.seed replays the same choices (the interleaving the
// scheduler picks still varies).
func TestStressRooms(t *testing.T) {
	seed := *stressSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	rooms := *stressRooms
	if rooms == 0 {
		rooms = 200
		if testing.Short() {
			rooms = 40
		}
	}
	t.Logf("seed %d, %d rooms (replay with -stress.seed=%d -stress.rooms=%d)", seed, rooms, seed, rooms)
	start := time.Now()

	// The store on tmpfs when there is one: with every commit synced to
	// a disk shared by busy neighbours, hundreds of rooms measure SQLite's
	// busy wait rather than the hub.
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		t.Setenv("TMPDIR", "/dev/shm")
	}
	var billable atomic.Int64 // grows on every query, so estimates overrun
	var priced, unpriceable sync.Map
	e := newEnv(t, func(c *hub.Config) {
		c.Grace = 30 * time.Millisecond
		c.Cost = func(_ context.Context, id int64, _ protocol.Level) (*protocol.CostNotice, error) {
			if v, _ := unpriceable.Load(id); v == true {
				return nil, errors.New("no hourly rate")
			}
			if v, _ := priced.Load(id); v == true {
				n := billableNotice
				return &n, nil
			}
			return nil, nil
		}
		c.Billable = func(context.Context, int64) (time.Duration, error) {
			return time.Duration(billable.Add(int64(40 * time.Minute))), nil
		}
		// Estimate and keep timers fire within a few milliseconds,
		// whatever they were set for, so they race everything else.
		var mu sync.Mutex
		timerRand := rand.New(rand.NewPCG(seed, 1))
		c.AfterFunc = func(_ time.Duration, f func()) func() bool {
			mu.Lock()
			d := time.Duration(timerRand.IntN(5000)) * time.Microsecond
			mu.Unlock()
			return time.AfterFunc(d, f).Stop
		}
	})
	srv := stressServer(e)
	ctx := context.Background()
	ids := make([]int64, rooms)
	for i := range rooms {
		sess, err := e.st.CreateSession(ctx, store.NewSession{TicketID: e.sess.TicketID, TechnicianID: e.tech.ID,
			CodeHash: codes.Hash(stressCode(i)), CodeExpires: e.clk.now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = sess.ID
	}

	var workers sync.WaitGroup
	var steps, opened atomic.Int64
	stopping := make(chan struct{})
	roomRand := rand.New(rand.NewPCG(seed, 1<<32))
	opening := make(chan struct{}, 16)
	peers := &peerSet{}
	for i := range rooms {
		// Half the rooms do billable work from the start: their
		// estimates are watched and overrun.
		priced.Store(ids[i], roomRand.IntN(2) == 0)
		w := &stressRoom{e: e, srv: srv, peers: peers, id: ids[i], code: stressCode(i), rng: rand.New(rand.NewPCG(seed, uint64(i)+2)),
			priced: &priced, unpriceable: &unpriceable, steps: &steps, opened: &opened, settled: make(chan struct{}), stopping: stopping, opening: opening}
		workers.Go(w.run)
	}
	// Shutdown lands in the middle of the work: once every room opened
	// and 30 to 70 % of all steps were taken.
	shutRand := rand.New(rand.NewPCG(seed, 0))
	mid := int64(rooms*stressSteps) * int64(30+shutRand.IntN(41)) / 100
	for (steps.Load() < mid || opened.Load() < int64(rooms)) && time.Since(start) < stressDeadline/2 {
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("Shutdown after %d steps, %v", steps.Load(), time.Since(start))
	close(stopping)
	shutDone := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, shutdownDeadline)
		defer cancel()
		shutDone <- e.hub.Shutdown(sctx)
	}()
	select {
	case err := <-shutDone:
		if err != nil {
			t.Errorf("Shutdown: %v (seed %d)", err, seed)
		}
	case <-time.After(shutdownDeadline + 5*time.Second):
		frozen(fmt.Sprintf("Shutdown of the stress test stuck (seed %d)", seed))
	}
	allDone := make(chan struct{})
	go func() {
		workers.Wait()
		close(allDone)
	}()
	select {
	case <-allDone:
	case <-time.After(stressDeadline - time.Since(start)):
		frozen(fmt.Sprintf("stress workers still running at the deadline (seed %d)", seed))
	}
	peers.closeAll()
	if r, c := e.hub.Held(); r != 0 || c != 0 {
		t.Errorf("after Shutdown the hub holds %d rooms and %d connections (seed %d)", r, c, seed)
	}
	if n := e.hub.LadderRooms(); n != 0 {
		t.Errorf("%d rooms hold estimate state after Shutdown (seed %d)", n, seed)
	}
	for _, id := range ids {
		s, err := e.st.Session(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status == store.StatusLive {
			evs, _ := e.st.Events(ctx, id)
			var kinds []string
			for _, ev := range evs {
				kinds = append(kinds, ev.Kind+"/"+ev.Actor)
			}
			t.Errorf("session %d still live after Shutdown (seed %d): %v", id, seed, kinds)
		}
	}
	counts := map[string]int{}
	for _, id := range ids {
		evs, err := e.st.Events(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			counts[ev.Kind]++
		}
	}
	t.Logf("%d steps taken; events recorded: %v", steps.Load(), counts)
	if elapsed := time.Since(start); elapsed > stressDeadline {
		t.Errorf("took %v, over the %v bound (seed %d)", elapsed, stressDeadline, seed)
	}
	goleak.VerifyNone(t, goleak.IgnoreCurrent())
}

// stressServer serves e's hub with each room's peers at an address of
// their own: a resume refused after its session ended counts as a wrong
// code guess, and one shared address would soon be throttled for all.
func stressServer(e *env) *httptest.Server {
	room := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, _ := strconv.Atoi(r.Header.Get("X-Stress-Room"))
			r.RemoteAddr = fmt.Sprintf("10.%d.%d.1:1", id/256, id%256)
			h(w, r)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws/agent", room(e.hub.ServeAgent))
	mux.HandleFunc("GET /ws/console/{id}", room(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		user := e.tech
		if r.URL.Query().Get("as") == "other" {
			user = e.other
		}
		e.hub.ServeConsole(w, r, user, id)
	}))
	srv := httptest.NewServer(mux)
	e.t.Cleanup(srv.Close)
	return srv
}

// settles are the statuses that answer the view question or end the room.
var settles = map[string]bool{protocol.StatusLive: true, protocol.StatusDeclined: true,
	protocol.StatusEnded: true, protocol.StatusInterrupted: true}

func stressCode(i int) string { return fmt.Sprintf("5%011d", i) }

// peerSet holds every client connection, so the test closes them all.
type peerSet struct {
	mu    sync.Mutex
	conns []*websocket.Conn
	wg    sync.WaitGroup // reader goroutines
}

func (ps *peerSet) add(ws *websocket.Conn) {
	ps.mu.Lock()
	ps.conns = append(ps.conns, ws)
	ps.mu.Unlock()
}

func (ps *peerSet) closeAll() {
	ps.mu.Lock()
	for _, ws := range ps.conns {
		ws.Close()
	}
	ps.mu.Unlock()
	ps.wg.Wait()
}

// stressConn is a client connection whose reader answers on its own
// while the room's worker writes too: writes are serialized.
type stressConn struct {
	mu sync.Mutex
	ws *websocket.Conn
}

func (c *stressConn) send(m protocol.Message) error {
	b, err := protocol.Encode(m)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(wait))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// stressRoom drives one session: a customer whose agent answers every
// question at random, and technicians acting at random.
type stressRoom struct {
	e           *env
	srv         *httptest.Server
	peers       *peerSet
	id          int64
	code        string
	rng         *rand.Rand // the worker's; the reader has its own
	priced      *sync.Map
	unpriceable *sync.Map
	steps       *atomic.Int64 // taken by all rooms
	opened      *atomic.Int64 // rooms past their opening

	agent, console *stressConn
	token          atomic.Pointer[string]
	// settled closes when a console first hears the customer's answer to
	// the view question (live or declined) or the end.
	settled     chan struct{}
	settledOnce sync.Once
	stopping    <-chan struct{} // closed when the test shuts the hub down
	opening     chan struct{}   // a semaphore shared by all rooms
}

func (w *stressRoom) dial(path string, header http.Header) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: wait}
	if header == nil {
		header = http.Header{}
	}
	header.Set("X-Stress-Room", strconv.FormatInt(w.id, 10))
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(w.srv.URL, "http")+path, header)
	if err != nil {
		return nil, err
	}
	w.peers.add(ws)
	return ws, nil
}

// connectAgent dials an agent and joins (or resumes, with a token); its
// reader answers questions until the connection ends.
func (w *stressRoom) connectAgent(resume bool, seed uint64) error {
	ws, err := w.dial("/ws/agent", nil)
	if err != nil {
		return err
	}
	c := &stressConn{ws: ws}
	w.agent = c
	if err := c.send(protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent, Agent: &machine}); err != nil {
		return err
	}
	var first protocol.Message = protocol.Join{Code: w.code}
	if tok := w.token.Load(); resume && tok != nil {
		first = protocol.Resume{SessionID: w.id, Token: *tok}
	}
	if err := c.send(first); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, uint64(w.id)))
	w.peers.wg.Go(func() { w.answer(c, rng) })
	return nil
}

// answer is the customer: every question gets a random answer.
func (w *stressRoom) answer(c *stressConn, rng *rand.Rand) {
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		m, err := protocol.Decode(b)
		if err != nil {
			continue
		}
		switch m := m.(type) {
		case protocol.Joined:
			if m.ResumeToken != "" {
				w.token.Store(&m.ResumeToken)
			}
		case protocol.ConsentRequest:
			a := protocol.Consent{Level: m.Level, Granted: rng.IntN(6) > 0, Text: "?", Lang: "nl"}
			switch {
			case m.Keep != "" && rng.IntN(4) == 0:
				continue // let the keep timer decide
			case m.Keep != "":
				a.TimedOut = !a.Granted && rng.IntN(2) == 0
			case m.Level == protocol.LevelControl:
				a.EstimateApproved = rng.IntN(8) > 0
			case m.Level == protocol.LevelDataIntervention:
				a.Acceptance = completeAcceptance()
				a.EstimateApproved = true
			}
			_ = c.send(a)
		}
	}
}

// connectConsole opens a console, as the session's technician or the
// other one (a hand-over), and drains what it is sent.
func (w *stressRoom) connectConsole(as string) error {
	ws, err := w.dial("/ws/console/"+strconv.FormatInt(w.id, 10)+"?as="+as, http.Header{"Origin": {w.srv.URL}})
	if err != nil {
		return err
	}
	c := &stressConn{ws: ws}
	w.console = c
	w.peers.wg.Go(func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if m, err := protocol.Decode(b); err == nil {
				if st, ok := m.(protocol.Status); ok && settles[st.Status] {
					w.settledOnce.Do(func() { close(w.settled) })
				}
			}
		}
	})
	return c.send(protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleConsole})
}

// open connects the room's console and agent and waits for the
// customer's answer; it reports false when the shutdown came first.
func (w *stressRoom) open(seed uint64) bool {
	w.opening <- struct{}{}
	defer func() {
		<-w.opening
		w.opened.Add(1)
	}()
	if w.connectConsole("") != nil || w.connectAgent(false, seed) != nil {
		return false // the hub is already shutting down
	}
	select {
	case <-w.settled:
		return true // declined, the steps fail at once and the room stops
	case <-w.stopping:
		return false
	}
}

func (w *stressRoom) run() {
	seed := w.rng.Uint64()
	// Rooms open a few at a time: hundreds of codes redeemed at once
	// only measure SQLite's busy wait. They then all work at once.
	if !w.open(seed) {
		return
	}
	for step := range stressSteps {
		w.steps.Add(1)
		time.Sleep(time.Duration(w.rng.IntN(10_000)) * time.Microsecond)
		var err error
		switch w.rng.IntN(9) {
		case 0, 1:
			err = w.console.send(protocol.ConsentRequest{Level: protocol.LevelControl, EstimateMinutes: []int{0, 30, 90}[w.rng.IntN(3)]})
		case 2:
			err = w.console.send(protocol.ConsentRequest{Level: protocol.LevelDataIntervention, Intervention: work})
		case 3:
			as := []string{"", "other"}[w.rng.IntN(2)]
			err = w.connectConsole(as)
		case 4:
			w.priced.Store(w.id, w.rng.IntN(2) == 0)
			w.unpriceable.Store(w.id, w.rng.IntN(6) == 0)
			_ = w.e.hub.Recategorized(context.Background(), w.id)
		case 5:
			err = w.agent.send(protocol.LevelChange{Level: protocol.LevelView, Reason: "customer"})
		case 6:
			// A drop, then a resume within or after the grace period.
			w.agent.ws.Close()
			time.Sleep(time.Duration(w.rng.IntN(60)) * time.Millisecond)
			err = w.connectAgent(true, seed+uint64(step))
		case 7:
			err = w.console.send(protocol.Chat{Text: "even kijken"})
		case 8:
			err = w.agent.send(protocol.Heartbeat{})
		}
		if err != nil {
			return // the session ended, or the hub is shutting down
		}
	}
	if w.rng.IntN(4) == 0 {
		_ = w.console.send(protocol.End{})
	}
}
