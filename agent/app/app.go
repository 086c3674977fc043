// Package app is the agent: it shows the customer's page, talks to the
// relay, and shares the screen only after the customer allowed it.
//
// All session state is owned by one loop (Run). The relay connection, the
// page and the WebRTC stack report to it through channels, so "has the
// customer allowed this?" is answered in one place, without locks, and no
// message from the relay can start capture on its own.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/meekijk/meekijk/agent/capture"
	"github.com/meekijk/meekijk/agent/localui"
	"github.com/meekijk/meekijk/agent/relayclient"
	"github.com/meekijk/meekijk/agent/stream"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/wsconn"
)

// Config is the agent's configuration.
type Config struct {
	RelayURL string
	// Code, when given on the command line, is filled in on the page; the
	// customer still confirms it.
	Code string
	// Display is the index of the screen to share.
	Display int
	// AllowedNets restricts ICE to these networks (nil: all).
	AllowedNets []*net.IPNet
	Lang        i18n.Lang
	Version     string
	// OpenBrowser opens the page in the customer's default browser.
	OpenBrowser bool
	// Linger keeps the page's final state reachable briefly before exiting.
	Linger time.Duration
	// Stdout receives the page's address for the customer.
	Stdout io.Writer
	// NewSource opens the screen; tests may wrap it to count captures.
	NewSource func(display int) (capture.Source, error)
}

// App is a running agent.
type App struct {
	cfg     Config
	log     *slog.Logger
	catalog i18n.Catalog
	ui      *localui.Server
	actions chan localui.Action
	events  chan event

	// Owned by the Run loop.
	state    localui.State
	conn     *wsconn.Conn
	joined   *protocol.Joined
	allowed  bool // the customer allowed viewing in this session
	sender   *stream.Sender
	src      capture.Source
	frames   int64
	finished bool
}

// event is something that happened outside the loop.
type event struct {
	conn       *wsconn.Conn     // which relay connection it concerns
	msg        protocol.Message // a message from the relay
	closed     error            // the relay connection ended (with closedSet)
	closedSet  bool
	firstFrame *stream.Sender
	failed     *stream.Sender // the peer connection failed
}

// New prepares the agent and its local page.
func New(cfg Config, log *slog.Logger) (*App, error) {
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.NewSource == nil {
		cfg.NewSource = capture.NewScreen
	}
	if cfg.Linger == 0 {
		cfg.Linger = 3 * time.Second
	}
	if _, err := relayclient.SocketURL(cfg.RelayURL); err != nil {
		return nil, err
	}
	catalog, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, catalog: catalog, actions: make(chan localui.Action), events: make(chan event, 16)}
	a.state = localui.State{Phase: localui.PhaseCode, Lang: string(cfg.Lang), Code: cfg.Code}
	ui, err := localui.New(log.With("component", "localui"), a.actions, a.state)
	if err != nil {
		return nil, err
	}
	a.ui = ui
	return a, nil
}

// URL is the customer's page.
func (a *App) URL() string { return a.ui.URL() }

// Run runs the agent until the session is over or ctx ends. Whatever it
// started (capture, peer connection, relay connection, page server) is
// stopped before it returns.
func (a *App) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		a.stopSharing()
		if a.conn != nil {
			a.conn.Close()
		}
		cancel()
		wg.Wait()
		a.log.Info("agent stopped", "frames_captured", a.frames)
	}()
	uiErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		uiErr <- a.ui.Run(ctx)
	}()
	fmt.Fprintf(a.cfg.Stdout, "Meekijk agent %s\nOpen this page to continue: %s\n", a.cfg.Version, a.ui.URL())
	if a.cfg.OpenBrowser {
		openBrowser(a.ui.URL(), a.log)
	}
	var exit <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-uiErr:
			return err
		case act := <-a.actions:
			a.onAction(ctx, act, &wg)
		case ev := <-a.events:
			a.onEvent(ev)
		case <-exit:
			return nil
		}
		if a.finished && exit == nil {
			exit = time.After(a.cfg.Linger)
		}
	}
}

func (a *App) publish() { a.ui.Publish(a.state) }

func (a *App) onAction(ctx context.Context, act localui.Action, wg *sync.WaitGroup) {
	switch act.Kind {
	case "lang":
		a.state.Lang = string(i18n.Parse(act.Value))
	case "code":
		if a.state.Phase != localui.PhaseCode {
			return
		}
		a.state.Phase, a.state.Error, a.state.Code = localui.PhaseConnecting, "", act.Value
		a.publish()
		if a.conn == nil {
			if err := a.connect(ctx, wg); err != nil {
				a.log.Warn("cannot reach the relay", "err", err)
				a.state.Phase, a.state.Error = localui.PhaseCode, "relay"
				break
			}
		}
		_ = a.conn.Send(protocol.Join{Code: act.Value})
	case "allow":
		// Only an Allow clicked while the question is on screen counts.
		if a.state.Phase != localui.PhaseAsk {
			return
		}
		a.allowed = true
		_ = a.conn.Send(a.consent(true))
		a.state.Phase = localui.PhaseSharing
		a.publish()
		a.startSharing()
	case "deny":
		if a.state.Phase != localui.PhaseAsk {
			return
		}
		a.conn.Finish(a.consent(false))
		a.state.Phase = localui.PhaseDeclined
		a.finished = true
	case "stop":
		if a.state.Phase != localui.PhaseSharing {
			return
		}
		a.stopSharing()
		a.conn.Finish(protocol.End{By: protocol.ByCustomer, Reason: "customer_stopped"})
		a.state.Phase, a.state.EndedBy = localui.PhaseEnded, protocol.ByCustomer
		a.finished = true
		a.log.Info("customer stopped sharing")
	}
	a.publish()
}

// consent is the customer's decision with the question as the page showed
// it: the same catalog texts, language and names.
func (a *App) consent(granted bool) protocol.Consent {
	lang := i18n.Lang(a.state.Lang)
	st := a.state
	text := strings.Join([]string{
		a.catalog.T(lang, "agent.ask.title", "technician", st.Technician, "company", st.Company),
		a.catalog.T(lang, "agent.ask.ticket", "ref", st.TicketRef, "title", st.TicketTitle),
		a.catalog.T(lang, "agent.ask.explain"),
	}, "\n")
	return protocol.Consent{Level: protocol.LevelView, Granted: granted, Text: text, Lang: string(lang)}
}

// connect dials the relay and starts the goroutine that feeds its messages
// to the loop.
func (a *App) connect(ctx context.Context, wg *sync.WaitGroup) error {
	host, _ := os.Hostname()
	who := ""
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	dialCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := relayclient.Dial(dialCtx, a.cfg.RelayURL, protocol.Hello{
		Software: a.cfg.Version,
		Agent:    &protocol.AgentInfo{Hostname: host, User: who, OS: runtime.GOOS + "/" + runtime.GOARCH},
	}, a.log.With("peer", "relay"))
	if err != nil {
		return err
	}
	a.conn = conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := conn.Run(ctx, func(m protocol.Message) error {
			return a.report(ctx, event{conn: conn, msg: m})
		})
		_ = a.report(ctx, event{conn: conn, closed: err, closedSet: true})
	}()
	return nil
}

// report hands an event to the loop, unless the agent is stopping.
func (a *App) report(ctx context.Context, ev event) error {
	select {
	case a.events <- ev:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *App) onEvent(ev event) {
	switch {
	case ev.firstFrame != nil:
		if ev.firstFrame == a.sender && a.conn != nil {
			_ = a.conn.Send(protocol.MediaStarted{})
		}
		return
	case ev.failed != nil:
		if ev.failed == a.sender {
			// The console went away or the network broke: stop capturing
			// and wait for the relay to ask for a new offer.
			a.log.Info("peer connection failed; waiting for a new offer request")
			a.stopSharing()
		}
		return
	case ev.conn != a.conn:
		return // a connection we already left
	case ev.closedSet:
		a.onRelayClosed(ev.closed)
		return
	}
	a.onMessage(ev.msg)
	a.publish()
}

func (a *App) onRelayClosed(err error) {
	a.conn = nil
	a.log.Info("relay connection closed", "err", err)
	switch a.state.Phase {
	case localui.PhaseConnecting:
		a.state.Phase, a.state.Error = localui.PhaseCode, "relay"
	case localui.PhaseAsk, localui.PhaseSharing:
		a.stopSharing()
		a.state.Phase, a.state.Error = localui.PhaseEnded, "relay"
		a.finished = true
	}
	a.publish()
}

// errorKeys are the relay errors the page explains to the customer.
var errorKeys = map[string]bool{
	protocol.ErrWrongCode: true, protocol.ErrExpiredCode: true, protocol.ErrUsedCode: true,
	protocol.ErrThrottled: true, protocol.ErrProtocolVersion: true, protocol.ErrSessionOver: true,
}

func (a *App) onMessage(m protocol.Message) {
	switch m := m.(type) {
	case protocol.Welcome:
		a.log.Info("connected to relay", "relay_version", m.Software)
	case protocol.Error:
		a.log.Info("relay refused", "code", m.Code, "message", m.Message)
		if a.state.Phase == localui.PhaseConnecting {
			a.state.Phase, a.state.Error, a.state.RetryAfter = localui.PhaseCode, "internal", m.RetryAfter
			if errorKeys[m.Code] {
				a.state.Error = m.Code
			}
		}
	case protocol.Joined:
		a.joined = &m
		a.state.Technician, a.state.Company = m.Technician, m.Company
		a.state.TicketRef, a.state.TicketTitle = m.TicketRef, m.TicketTitle
		a.log.Info("joined session", "session", m.SessionID)
	case protocol.ConsentRequest:
		if a.joined != nil && m.Level == protocol.LevelView && !a.allowed {
			a.state.Phase = localui.PhaseAsk
		}
	case protocol.Answer:
		if a.allowed && a.sender != nil {
			if err := a.sender.SetAnswer(m.SDP); err != nil {
				a.log.Warn("bad answer from console", "err", err)
			}
		}
	case protocol.Candidate:
		if a.allowed && a.sender != nil {
			if err := a.sender.AddCandidate(candidateInit(m)); err != nil {
				a.log.Debug("bad candidate from console", "err", err)
			}
		}
	case protocol.Renegotiate:
		if a.allowed && a.state.Phase == localui.PhaseSharing {
			a.stopSharing()
			a.startSharing()
		}
	case protocol.End:
		a.stopSharing()
		if a.state.Phase != localui.PhaseDeclined {
			a.state.Phase, a.state.EndedBy = localui.PhaseEnded, m.By
		}
		a.finished = true
		a.log.Info("session ended by relay", "by", m.By, "reason", m.Reason)
	default:
		// Offers and anything else the relay has no business sending are
		// ignored: before Allow nothing may start capture or WebRTC.
		a.log.Warn("ignored message from relay", "type", m.Type(), "allowed", a.allowed)
	}
}

// startSharing opens the screen and offers it. Called only from the loop,
// and only with a.allowed set.
func (a *App) startSharing() {
	if !a.allowed || a.sender != nil || a.conn == nil {
		return
	}
	src, err := a.cfg.NewSource(a.cfg.Display)
	if err != nil {
		a.log.Error("open screen", "err", err)
		return
	}
	gate := &candidateGate{conn: a.conn}
	sender, err := stream.New(stream.Config{
		ICEServers:  iceServers(a.joined),
		RelayOnly:   a.joined != nil && a.joined.ICETransportPolicy == "relay",
		AllowedNets: a.cfg.AllowedNets,
		Logger:      a.log.With("component", "stream"),
	}, src, gate.add)
	if err != nil {
		src.Close()
		a.log.Error("start stream", "err", err)
		return
	}
	sender.OnFirstFrame(func() { a.reportAsync(event{firstFrame: sender}) })
	sender.OnState(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed {
			a.reportAsync(event{failed: sender})
		}
	})
	a.src, a.sender = src, sender
	offer, err := sender.Offer()
	if err != nil {
		a.log.Error("create offer", "err", err)
		a.stopSharing()
		return
	}
	gate.open(offer)
	a.log.Info("sharing started")
}

// candidateGate holds trickled ICE candidates until their offer is sent:
// pion gathers inside Offer, so candidates can be ready before it returns,
// and a console given a candidate before the offer has nowhere to put it.
type candidateGate struct {
	conn *wsconn.Conn

	mu     sync.Mutex // guards the following
	opened bool
	held   []protocol.Candidate
}

func (g *candidateGate) add(c webrtc.ICECandidateInit) {
	m := protocol.Candidate{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex,
		UsernameFragment: c.UsernameFragment}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.opened {
		g.held = append(g.held, m)
		return
	}
	_ = g.conn.Send(m)
}

// open sends the offer, then the candidates held for it.
func (g *candidateGate) open(offer string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_ = g.conn.Send(protocol.Offer{SDP: offer})
	for _, m := range g.held {
		_ = g.conn.Send(m)
	}
	g.opened, g.held = true, nil
}

// reportAsync is report for callbacks from the WebRTC stack: they must not
// block on a loop that may be busy closing that very stack.
func (a *App) reportAsync(ev event) {
	select {
	case a.events <- ev:
	default:
		a.log.Warn("event dropped: agent loop busy")
	}
}

func (a *App) stopSharing() {
	if a.sender != nil {
		a.frames += a.sender.FramesCaptured()
		if err := a.sender.Close(); err != nil {
			a.log.Warn("close stream", "err", err)
		}
		a.sender = nil
	}
	if a.src != nil {
		_ = a.src.Close()
		a.src = nil
	}
}

func iceServers(j *protocol.Joined) []webrtc.ICEServer {
	if j == nil {
		return nil
	}
	out := make([]webrtc.ICEServer, 0, len(j.ICEServers))
	for _, s := range j.ICEServers {
		out = append(out, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}

func candidateInit(c protocol.Candidate) webrtc.ICECandidateInit {
	return webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex,
		UsernameFragment: c.UsernameFragment}
}
