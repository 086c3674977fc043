package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/agent/relayclient"
	"github.com/meekijk/meekijk/internal/protocol"
)

// IdleAgents holds agent WebSockets open on one relay or several, the way
// an agent sits between its hello and the customer typing a code:
// connected, greeted (hello, welcome), answering the relay's pings,
// nothing else. That is the relay's steady state for an agent that is
// started and waiting; an agent joined to a session adds a room and store
// rows, and is counted by the session set-up figure instead.
//
// With Redial set, an agent whose relay lets go dials again as the agent
// does (agent/app's back-off, from 250-500 ms up to 10 s, with jitter),
// taking the next relay in turn and, if that one refuses, the others
// before it waits again: what a load balancer in front of several relays
// gives it (HAProxy's redispatch), without the balancer's own descriptor
// limit.
type IdleAgents struct {
	// Redial makes dropped agents connect again; set it before Open.
	Redial bool

	targets    []string // agent WebSocket URLs, dialled in turn
	sources    []net.IP // loopback source addresses, ~28k ports each
	nextTarget atomic.Uint64
	held       atomic.Int64
	redials    atomic.Int64

	// ctx ends at Close: it stops dials and redials under way.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex // guards conns
	conns   map[*websocket.Conn]struct{}
	readers sync.WaitGroup
}

// agentRedial is agent/app's redialBackoff: the load the relays see in a
// reconnect storm is the one real agents would make.
var agentRedial = relayclient.Backoff{Base: 500 * time.Millisecond, Max: 10 * time.Second}

// NewIdleAgents targets the relays at bases (http://127.0.0.1:port), in
// turn, dialling from sources loopback addresses 127.0.0.2 onwards.
func NewIdleAgents(sources int, bases ...string) (*IdleAgents, error) {
	if len(bases) == 0 {
		return nil, errors.New("idle agents: no relay")
	}
	a := &IdleAgents{}
	for _, base := range bases {
		u, err := url.Parse(base)
		if err != nil || u.Scheme != "http" {
			return nil, fmt.Errorf("idle agents: relay %q: want http://host:port", base)
		}
		if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("idle agents: relay %q is not on loopback", base)
		}
		a.targets = append(a.targets, "ws://"+u.Host+"/ws/agent")
	}
	for i := range max(sources, 1) {
		a.sources = append(a.sources, net.IPv4(127, 0, 0, byte(2+i)))
	}
	a.conns = map[*websocket.Conn]struct{}{}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a, nil
}

// Held is how many connections are open and greeted now.
func (a *IdleAgents) Held() int { return int(a.held.Load()) }

// Redials is how many agents connected again after a drop.
func (a *IdleAgents) Redials() int { return int(a.redials.Load()) }

// Open adds n idle agents, parallel at a time, and returns how many it
// added and the first failure, if any. It stops at ctx's end.
func (a *IdleAgents) Open(ctx context.Context, n, parallel int) (int, error) {
	var (
		opened   atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
		work     = make(chan struct{})
	)
	for range max(parallel, 1) {
		wg.Go(func() {
			for range work {
				if err := a.openOne(ctx); err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				opened.Add(1)
			}
		})
	}
feed:
	for range n {
		select {
		case work <- struct{}{}:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return int(opened.Load()), firstErr
}

// openAttempts is how often an agent tries before Open counts it failed:
// a relay's accept queue overflows under a burst of dials on a busy
// machine, and a real agent would try again after its back-off.
const openAttempts = 3

func (a *IdleAgents) openOne(ctx context.Context) error {
	var err error
	for n := range openAttempts {
		if n > 0 {
			wait := time.NewTimer(agentRedial.Delay(n-1, rand.Float64()))
			select {
			case <-ctx.Done():
				wait.Stop()
				return errors.Join(err, ctx.Err())
			case <-wait.C:
			}
		}
		var ws *websocket.Conn
		if ws, err = a.dial(ctx); err == nil {
			a.readers.Go(func() { a.hold(ws) })
			return nil
		}
	}
	return fmt.Errorf("%d attempts, the last: %w", openAttempts, err)
}

// dial connects one agent to the next relay in turn, greets it and counts
// it as held; nil and an error if any step fails or Close came first.
func (a *IdleAgents) dial(ctx context.Context) (*websocket.Conn, error) {
	src := a.sources[rand.IntN(len(a.sources))]
	target := a.targets[a.nextTarget.Add(1)%uint64(len(a.targets))]
	d := websocket.Dialer{
		HandshakeTimeout: 5 * time.Second,
		NetDialContext:   (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 5 * time.Second}).DialContext,
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stop := context.AfterFunc(a.ctx, cancel)
	defer stop()
	ws, resp, err := d.DialContext(ctx, target, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s from %s: %w", target, src, err)
	}
	resp.Body.Close()
	hello := protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent, Software: "bench",
		Agent: &protocol.AgentInfo{Hostname: "bench", User: "bench", OS: "linux"}}
	if err := exchange(ctx, ws, hello, "welcome"); err != nil {
		ws.Close()
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx.Err() != nil { // Close has swept the list already
		ws.Close()
		return nil, a.ctx.Err()
	}
	a.conns[ws] = struct{}{}
	a.held.Add(1)
	return ws, nil
}

// hold keeps one agent connected: it reads, which answers the relay's
// pings (gorilla's default ping handler), until the relay lets go; then,
// with Redial, it connects the agent again, until Close.
func (a *IdleAgents) hold(ws *websocket.Conn) {
	for ws != nil {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				break
			}
		}
		a.held.Add(-1)
		a.mu.Lock()
		delete(a.conns, ws)
		a.mu.Unlock()
		ws.Close()
		if !a.Redial {
			return
		}
		ws = a.redial()
	}
}

// redial waits and dials as the agent does after a drop, until one dial
// holds; nil once Close has begun.
func (a *IdleAgents) redial() *websocket.Conn {
	for n := 0; ; n++ {
		wait := time.NewTimer(agentRedial.Delay(n, rand.Float64()))
		select {
		case <-a.ctx.Done():
			wait.Stop()
			return nil
		case <-wait.C:
		}
		for range a.targets {
			if ws, err := a.dial(a.ctx); err == nil {
				a.redials.Add(1)
				return ws
			}
		}
	}
}

// Close closes every connection, stops redials and waits for the readers.
func (a *IdleAgents) Close() {
	a.cancel()
	a.mu.Lock()
	for ws := range a.conns {
		ws.Close()
	}
	clear(a.conns)
	a.mu.Unlock()
	a.readers.Wait()
}

// send writes one protocol message.
func send(ws *websocket.Conn, m protocol.Message) error {
	b, err := protocol.Encode(m)
	if err != nil {
		return err
	}
	if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("send %s: %w", m.Type(), err)
	}
	return nil
}

// await reads messages until one of type want arrives; an error message
// from the relay ends the wait.
func await(ctx context.Context, ws *websocket.Conn, want string) (protocol.Message, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = ws.SetReadDeadline(dl)
		defer ws.SetReadDeadline(time.Time{})
	}
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("waiting for %s: %w", want, err)
		}
		m, err := protocol.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("waiting for %s: %w", want, err)
		}
		if m.Type() == want {
			return m, nil
		}
		if e, ok := m.(protocol.Error); ok {
			return nil, fmt.Errorf("waiting for %s: relay says %s: %s", want, e.Code, e.Message)
		}
	}
}

// exchange sends m and waits for a message of type want.
func exchange(ctx context.Context, ws *websocket.Conn, m protocol.Message, want string) error {
	if err := send(ws, m); err != nil {
		return err
	}
	_, err := await(ctx, ws, want)
	return err
}

// API is a technician logged in to the relay's JSON API.
type API struct {
	base string
	http *http.Client
	csrf string
}

// LoginAPI logs in with the first admin's credentials.
func LoginAPI(base, email, password string) (*API, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	a := &API{base: strings.TrimSuffix(base, "/"), http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	var me struct {
		CSRFToken string `json:"csrfToken"`
	}
	if err := a.Do("POST", "/api/v1/login", map[string]string{"email": email, "password": password}, 200, &me); err != nil {
		return nil, err
	}
	a.csrf = me.CSRFToken
	return a, nil
}

// Do sends one request and decodes the answer into out, unless nil; any
// status but want is an error.
func (a *API) Do(method, path string, body any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", a.base)
	req.Header.Set("X-CSRF-Token", a.csrf)
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, msg)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return nil
}

// NewTicket creates a customer and a ticket for it, to start sessions on.
func (a *API) NewTicket(customer, title string) (int64, error) {
	var cu, tk struct {
		ID int64 `json:"id"`
	}
	if err := a.Do("POST", "/api/v1/customers", map[string]string{"name": customer, "lang": "nl"}, 201, &cu); err != nil {
		return 0, err
	}
	if err := a.Do("POST", "/api/v1/tickets", map[string]any{"title": title, "customerId": cu.ID}, 201, &tk); err != nil {
		return 0, err
	}
	return tk.ID, nil
}

// StartSession starts a session on ticket and returns its id and code.
// The reason makes it work outside the desk's hours too.
func (a *API) StartSession(ticket int64) (int64, string, error) {
	var out struct {
		Session struct {
			ID int64 `json:"id"`
		} `json:"session"`
		Code string `json:"code"`
	}
	err := a.Do("POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", ticket),
		map[string]string{"overrideReason": "benchmark"}, 201, &out)
	return out.Session.ID, out.Code, err
}

// SetUpSession runs one whole session set-up as the three parties do it,
// signaling only: the technician starts a session and opens its console
// socket, an agent connects and joins with the code, the customer allows,
// the console hears "live", and the customer ends it.
func (a *API) SetUpSession(ctx context.Context, ticket int64) error {
	id, code, err := a.StartSession(ticket)
	if err != nil {
		return err
	}
	wsBase := "ws" + strings.TrimPrefix(a.base, "http")
	u, _ := url.Parse(a.base)
	hdr := http.Header{"Origin": {a.base}}
	for _, c := range a.http.Jar.Cookies(u) {
		hdr.Add("Cookie", c.String())
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	console, resp, err := d.DialContext(ctx, fmt.Sprintf("%s/ws/console/%d", wsBase, id), hdr)
	if err != nil {
		return fmt.Errorf("console socket: %w", err)
	}
	resp.Body.Close()
	defer console.Close()
	if err := exchange(ctx, console, protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleConsole}, "welcome"); err != nil {
		return fmt.Errorf("console: %w", err)
	}
	agent, resp, err := d.DialContext(ctx, wsBase+"/ws/agent", nil)
	if err != nil {
		return fmt.Errorf("agent socket: %w", err)
	}
	resp.Body.Close()
	defer agent.Close()
	hello := protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent, Software: "bench", Agent: &protocol.AgentInfo{Hostname: "bench"}}
	if err := exchange(ctx, agent, hello, "welcome"); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if err := exchange(ctx, agent, protocol.Join{Code: code}, "consent_request"); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if err := send(agent, protocol.Consent{Level: protocol.LevelView, Granted: true, Text: "benchmark", Lang: "en"}); err != nil {
		return err
	}
	for {
		m, err := await(ctx, console, "status")
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		if m.(protocol.Status).Status == protocol.StatusLive {
			break
		}
	}
	if err := exchange(ctx, agent, protocol.End{Reason: "customer_stopped"}, "end"); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return nil
}

// SetupRate runs session set-ups from workers in parallel for at most d
// or n set-ups, and returns how many completed per second. A set-up in
// flight at d's end is finished and counted, not cut short: a cut one
// would leave its code live or its session running, and the next run on
// the desk would meet the technician's caps. Any failure stops the run: a
// rate with failures in it would flatter the relay. A ticket has one
// live code at a time, so the first worker uses ticket and each other one
// a ticket of its own, made before the clock starts.
func (a *API) SetupRate(ctx context.Context, ticket int64, workers, n int, d time.Duration) (float64, int, error) {
	tickets := []int64{ticket}
	for w := 1; w < workers; w++ {
		tk, err := a.NewTicket(fmt.Sprintf("Bench worker %d", w), "set-up rate")
		if err != nil {
			return 0, 0, err
		}
		tickets = append(tickets, tk)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		done    atomic.Int64
		left    atomic.Int64
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	left.Store(int64(n))
	start := time.Now()
	end := start.Add(d)
	for _, ticket := range tickets {
		wg.Go(func() {
			for left.Add(-1) >= 0 && ctx.Err() == nil && time.Now().Before(end) {
				setupCtx, setupDone := context.WithTimeout(ctx, 10*time.Second)
				err := a.SetUpSession(setupCtx, ticket)
				setupDone()
				if err != nil {
					errOnce.Do(func() { first = err })
					cancel()
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	k := int(done.Load())
	return float64(k) / time.Since(start).Seconds(), k, first
}
