// Package app is the agent: it shows the customer's page, talks to the
// relay, and shares the screen only after the customer allowed it.
//
// All session state is owned by one loop (Run). The relay connection, the
// page and the WebRTC stack report to it through channels, so "has the
// customer allowed this?" is answered in one place, without locks, and no
// message from the relay can start capture on its own.
package app

import (
	"cmp"
	"context"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/meekijk/meekijk/agent/capture"
	"github.com/meekijk/meekijk/agent/files"
	"github.com/meekijk/meekijk/agent/indicator"
	"github.com/meekijk/meekijk/agent/input"
	"github.com/meekijk/meekijk/agent/localui"
	"github.com/meekijk/meekijk/agent/record"
	"github.com/meekijk/meekijk/agent/relayclient"
	"github.com/meekijk/meekijk/agent/stream"
	"github.com/meekijk/meekijk/internal/datachannel"
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
	// StageTimes logs when each picture was captured and what its stages
	// took, and when each button press arrived from the console (-stage-times,
	// for the benchmark).
	StageTimes bool
	Lang       i18n.Lang
	// LangChosen: Lang was chosen on purpose (-lang), like the page's
	// switch: neither the browser's nor the contact's language replaces it.
	LangChosen bool
	Version    string
	// OpenBrowser opens the page in the customer's default browser.
	OpenBrowser bool
	// Linger keeps the page's final state reachable briefly before exiting.
	Linger time.Duration
	// Stdout receives the page's address for the customer.
	Stdout io.Writer
	// NewSource opens the screen; tests may wrap it to count captures.
	NewSource func(display int) (capture.Source, error)
	// Displays lists the screens the customer may share; nil means
	// capture.Displays.
	Displays func() []capture.Display
	// SecureDesktop reports whether the screen shows a desktop the agent
	// can neither capture nor control; nil means capture.SecureDesktop.
	SecureDesktop func() bool
	// Injector performs the technician's input once the customer granted
	// control. Without one, control cannot be granted and the agent says
	// no on the customer's behalf.
	Injector input.Injector
	// Clipboard reads and writes the customer's clipboard while control
	// is granted; nil: no clipboard sharing.
	Clipboard Clipboard
	// FileFolders are the folders the customer may save files in; the
	// customer picks one for every file. None: files are declined.
	FileFolders []string
	// MaxFileBytes bounds a file either way; <= 0 means files.DefaultMaxSize.
	MaxFileBytes int64
	// Indicator shows on the customer's desktop, outside the browser,
	// that the screen is shared, with a Stop of its own; nil: none (the
	// page alone says so).
	Indicator Indicator
}

// Indicator is agent/indicator's window, as the session loop drives it.
type Indicator interface {
	// Run owns the window until ctx ends; stop is called when the
	// customer clicks its Stop.
	Run(ctx context.Context, stop func()) error
	Show(indicator.Sharing)
	Hide()
}

// Clipboard is the customer's clipboard (agent/inject's Robot).
type Clipboard interface {
	ReadClipboard() (string, error)
	WriteClipboard(text string) error
}

// App is a running agent.
type App struct {
	cfg     Config
	log     *slog.Logger
	catalog i18n.Catalog
	ui      *localui.Server
	actions chan localui.Action
	events  chan event

	// controller gates and performs remote input. It is fed straight from
	// the data channel; the loop only switches it on and off.
	controller *input.Controller
	dcIn       chan dcMessage
	uploadDir  string
	osUser     string

	// Owned by the Run loop.
	state  localui.State
	conn   *wsconn.Conn
	joined *protocol.Joined
	// langChosen: the customer picked the page's language themselves.
	langChosen bool
	allowed    bool // the customer allowed viewing in this session
	sender     *stream.Sender
	shareStop  context.CancelFunc // stops what feeds the loop from sender
	src        capture.Source
	secure     bool // the screen shows a secure desktop, as last told the console
	// sharedAt is the top-left corner of the shared screen when sharing
	// began; a list of screens without it means the screen was unplugged.
	sharedAt        image.Point
	sharedSize      image.Point // its size then: another size needs a new stream
	nextScreenCheck time.Time
	frames          int64
	finished        bool
	questions       []*question // questions[0] is on screen
	promptSeq       int64
	reconfirm       time.Time // when to ask next whether to keep sharing
	incoming        map[string]*incoming
	outgoing        map[string]*outgoing
	fileSeq         int
	uiDirty         bool // state changed without being published (progress)
	runCtx          context.Context
	runWG           *sync.WaitGroup
	gate            *candidateGate // the running sender's signaling out
	// The console's commitments to its next certificate (sas.go):
	// sasCommit is the latest not yet used by an offer, sasUsed the one
	// the running sender's offer was made against, sasOffer an offer
	// waiting for one.
	sasCommit string
	sasUsed   string
	sasOffer  *heldOffer
	// sasLast is the commitment last used, whose repeats (the console
	// announces its current one again when the session turns live) are
	// not a new certificate.
	sasLast string

	// The relay link (link.go).
	heard      time.Time // last message from the relay
	beat       time.Time // last heartbeat sent
	downSince  time.Time // zero while the link is up
	resuming   bool      // Resume sent, no answer yet
	redialStop context.CancelFunc
	outbox     []protocol.Message // for the relay, once it is back
	// pendingEnd is the customer's Stop, clicked while the relay was
	// unreachable, to deliver once it is back; endDelivered: it was.
	pendingEnd   *protocol.End
	endDelivered bool

	// recorder runs while the customer agreed to be recorded
	// (recording.go); recFrames is the same recorder for the stream's
	// frame goroutine.
	recorder  *recorderState
	recFrames atomic.Pointer[record.Recorder]
}

// event is something that happened outside the loop.
type event struct {
	conn        *wsconn.Conn     // which relay connection it concerns
	msg         protocol.Message // a message from the relay
	closed      error            // the relay connection ended (with closedSet)
	closedSet   bool
	firstFrame  *stream.Sender
	failed      *stream.Sender // the peer connection failed
	channelOpen *stream.Sender
	sent        *sentFile    // an outgoing file's sender finished
	redialed    *wsconn.Conn // a new connection to the relay, after a drop
	// recordingRefused: the relay refused the recorder's chunks for good.
	recordingRefused *record.Recorder
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
	if cfg.Displays == nil {
		cfg.Displays = capture.Displays
	}
	if cfg.SecureDesktop == nil {
		cfg.SecureDesktop = capture.SecureDesktop
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = files.DefaultMaxSize
	}
	if _, err := relayclient.SocketURL(cfg.RelayURL); err != nil {
		return nil, err
	}
	catalog, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, catalog: catalog, actions: make(chan localui.Action), events: make(chan event, 16),
		dcIn: make(chan dcMessage), incoming: map[string]*incoming{}, outgoing: map[string]*outgoing{}}
	if cfg.Injector != nil {
		a.controller = input.New(input.Config{Injector: cfg.Injector})
	}
	if u, err := user.Current(); err == nil {
		a.osUser = u.Username
	}
	a.langChosen = cfg.LangChosen
	a.state = localui.State{Phase: localui.PhaseCode, Lang: string(cfg.Lang), Code: cfg.Code,
		Screen: cfg.Display, MaxFileBytes: cfg.MaxFileBytes}
	a.state.Screens = screensOf(cfg.Displays())
	if a.uploadDir, err = os.MkdirTemp("", "meekijk-send-*"); err != nil {
		return nil, fmt.Errorf("agent: folder for files to send: %w", err)
	}
	ui, err := localui.New(log.With("component", "localui"), a.actions, a.state,
		localui.Options{UploadDir: a.uploadDir, MaxUpload: cfg.MaxFileBytes})
	if err != nil {
		_ = os.RemoveAll(a.uploadDir)
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
	a.runCtx, a.runWG = ctx, &wg
	defer func() {
		a.stopRedial()
		a.stopRecorder()
		a.stopSharing()
		if a.conn != nil {
			a.conn.Close()
		}
		cancel()
		wg.Wait()
		_ = os.RemoveAll(a.uploadDir)
		a.log.Info("agent stopped", "frames_captured", a.frames)
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
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
	if ind := a.cfg.Indicator; ind != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The window's Stop is the page's Stop: one way to end.
			stop := func() {
				select {
				case a.actions <- localui.Action{Kind: "stop", Value: "indicator"}:
				case <-ctx.Done():
				}
			}
			if err := ind.Run(ctx, stop); err != nil {
				// The page still shows the sharing and has its Stop.
				a.log.Warn("sharing indicator failed", "err", err)
			}
		}()
	}
	var exit <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-uiErr:
			return err
		case act := <-a.actions:
			a.onAction(ctx, act)
		case ev := <-a.events:
			a.onEvent(ev)
		case m := <-a.dcIn:
			a.onChannel(m)
		case now := <-tick.C:
			a.onTick(now)
		case <-exit:
			return nil
		}
		a.syncControl()
		a.syncIndicator()
		switch {
		case a.finished && exit == nil && a.pendingEnd != nil:
			exit = time.After(max(a.cfg.Linger, endDelivery))
		case a.finished && exit == nil, a.endDelivered:
			a.endDelivered = false
			exit = time.After(a.cfg.Linger)
		}
	}
}

func (a *App) publish() { a.ui.Publish(a.state) }

// syncIndicator shows the desktop's indicator exactly while the customer's
// consent to share stands.
func (a *App) syncIndicator() {
	ind := a.cfg.Indicator
	if ind == nil {
		return
	}
	if !a.allowed || a.finished || a.state.Phase != localui.PhaseSharing {
		ind.Hide()
		return
	}
	ind.Show(indicator.Sharing{Technician: a.state.Technician, Lang: i18n.Lang(a.state.Lang),
		Control: !protocol.Level(a.state.Level).Below(protocol.LevelControl), Recording: a.state.Recording})
}

func (a *App) onAction(ctx context.Context, act localui.Action) {
	switch act.Kind {
	case localui.ActionLang:
		a.state.Lang = string(i18n.Parse(act.Value))
		a.langChosen = true
		a.reword()
	case localui.ActionBrowserLang:
		// Before the code the page speaks the browser's language; once
		// joined, the contact's (or the customer's own choice) stands.
		if !a.langChosen && a.joined == nil {
			a.state.Lang = string(i18n.Parse(act.Value))
		}
	case localui.ActionCode:
		if a.state.Phase != localui.PhaseCode {
			return
		}
		a.state.Phase, a.state.Error, a.state.Code = localui.PhaseConnecting, "", act.Value
		a.publish()
		if a.conn == nil {
			dialCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
			conn, err := a.dial(dialCtx)
			cancel()
			if err != nil {
				a.log.Warn("cannot reach the relay", "err", err)
				a.state.Phase, a.state.Error = localui.PhaseCode, "relay"
				break
			}
			a.attach(conn)
		}
		_ = a.conn.Send(protocol.Join{Code: act.Value})
	case localui.ActionAllow, localui.ActionDeny:
		// Only an answer clicked while the view question is on screen
		// counts.
		if a.state.Phase != localui.PhaseAsk || len(a.questions) == 0 {
			return
		}
		a.answerView(a.questions[0], act.Kind == localui.ActionAllow)
	case localui.ActionYes, localui.ActionNo:
		a.answer(act.Kind == localui.ActionYes, act.Value)
	case localui.ActionStop:
		if a.state.Phase != localui.PhaseSharing {
			return
		}
		a.endByCustomer(protocol.ReasonCustomerStopped)
		a.log.Info("customer stopped sharing", "from", cmp.Or(act.Value, "page"))
	case localui.ActionStopControl:
		a.stepDown(protocol.LevelView, protocol.ReasonCustomer)
	case localui.ActionStopIntervention:
		a.stepDown(protocol.LevelControl, protocol.ReasonCustomer)
	case localui.ActionScreen:
		a.chooseScreen(act.Value)
	case localui.ActionChat:
		if a.allowed && act.Value != "" {
			_ = a.toRelay(protocol.Chat{Text: act.Value})
		}
	case localui.ActionSASMismatch:
		a.onSASMismatch()
	case localui.ActionSendFile:
		a.offerFile(act.Value, act.Path)
	}
	a.publish()
}

// endByCustomer stops sharing and ends the session on the customer's side.
// During a drop the Stop waits for the relay (pendingEnd).
func (a *App) endByCustomer(reason string) {
	a.stopSharing()
	// The last chunk goes up before the end does: the relay seals the
	// recording a few seconds after the session ends.
	a.stopRecorder()
	end := protocol.End{By: protocol.ByCustomer, Reason: reason}
	switch {
	case a.conn != nil && !a.resuming:
		a.stopRedial()
		a.conn.Finish(end)
	case a.joined != nil && a.joined.ResumeToken != "":
		// The relay is unreachable: the agent keeps dialing for a while to
		// tell it, so the record says the customer stopped (link.go).
		a.pendingEnd = &end
		if a.conn == nil {
			a.redial()
		}
	}
	a.state.Phase, a.state.EndedBy = localui.PhaseEnded, protocol.ByCustomer
	if reason != protocol.ReasonCustomerStopped {
		a.state.EndedBy = reason
	}
	a.clearQuestions()
	a.finished = true
}

// dial connects to the relay and says hello. Safe outside the loop.
func (a *App) dial(ctx context.Context) (*wsconn.Conn, error) {
	host, _ := os.Hostname()
	return relayclient.Dial(ctx, a.cfg.RelayURL, protocol.Hello{
		Software: a.cfg.Version,
		Agent:    &protocol.AgentInfo{Hostname: host, User: a.osUser, OS: runtime.GOOS + "/" + runtime.GOARCH},
	}, a.log.With("peer", "relay"))
}

// attach makes conn the relay connection and starts the goroutine that
// feeds its messages to the loop.
func (a *App) attach(conn *wsconn.Conn) {
	a.conn = conn
	ctx := a.runCtx
	a.runWG.Add(1)
	go func() {
		defer a.runWG.Done()
		err := conn.Run(ctx, func(m protocol.Message) error {
			return a.report(ctx, event{conn: conn, msg: m})
		})
		_ = a.report(ctx, event{conn: conn, closed: err, closedSet: true})
	}()
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
	case ev.channelOpen != nil:
		if ev.channelOpen == a.sender {
			a.sendScreens()
		}
		return
	case ev.sent != nil:
		a.onSent(ev.sent)
		return
	case ev.recordingRefused != nil:
		if a.recorder != nil && a.recorder.rec == ev.recordingRefused {
			a.stopRecorder()
			a.publish()
		}
		return
	case ev.firstFrame != nil:
		if ev.firstFrame == a.sender {
			a.showSAS()
			_ = a.toRelay(protocol.MediaStarted{})
		}
		return
	case ev.failed != nil:
		if ev.failed == a.sender && a.downSince.IsZero() {
			// The relay is reachable, so the console went away or the
			// media path alone broke: stop capturing and wait for the
			// relay to ask for a new offer. While the link is down the
			// sender is kept for an ICE restart when it is back.
			a.log.Info("peer connection failed; waiting for a new offer request")
			a.stopSharing()
		}
		return
	case ev.redialed != nil:
		a.onRedialed(ev.redialed)
		a.publish()
		return
	case ev.conn != a.conn:
		return // a connection we already left
	case ev.closedSet:
		a.onRelayClosed(ev.closed)
		return
	}
	a.heardRelay(time.Now())
	a.onMessage(ev.msg)
	a.publish()
}

func (a *App) onRelayClosed(err error) {
	a.log.Info("relay connection closed", "err", err)
	if a.lostRelay() {
		a.publish()
		return
	}
	a.conn = nil
	switch a.state.Phase {
	case localui.PhaseConnecting:
		a.state.Phase, a.state.Error = localui.PhaseCode, "relay"
	case localui.PhaseAsk, localui.PhaseSharing:
		a.stopSharing()
		a.clearQuestions()
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
	if a.finished {
		// Over on this side: whatever the relay still says changes
		// nothing (a resume delivering a Stop may be answered with a
		// question first).
		if m, ok := m.(protocol.Joined); ok && m.Resumed && a.resuming {
			a.onResumed(m)
		}
		return
	}
	switch m := m.(type) {
	case protocol.Welcome:
		a.log.Info("connected to relay", "relay_version", m.Software)
	case protocol.Heartbeat:
	case protocol.LevelChange:
		a.onRelayLevel(m)
	case protocol.Error:
		a.log.Info("relay refused", "code", m.Code, "message", m.Message)
		if a.resuming && m.Code != protocol.ErrRelayRestarting {
			a.onResumeRefused(m)
			return
		}
		if m.Code == protocol.ErrNoAcceptance && a.state.Level == protocol.LevelDataIntervention {
			// The relay did not record the acceptance: no intervention.
			a.state.Level = protocol.LevelControl
		}
		if a.state.Phase == localui.PhaseConnecting {
			a.state.Phase, a.state.Error, a.state.RetryAfter = localui.PhaseCode, "internal", m.RetryAfter
			if errorKeys[m.Code] {
				a.state.Error = m.Code
			}
		}
	case protocol.Joined:
		if m.Resumed {
			if !a.resuming {
				// Only the answer to the agent's own Resume may
				// say what the relay kept.
				a.log.Warn("ignored a resumed joined the agent did not ask for", "session", m.SessionID)
				return
			}
			a.onResumed(m)
			return
		}
		if a.joined != nil {
			a.log.Warn("ignored a second joined", "session", m.SessionID)
			return
		}
		a.joined = &m
		// The desk knows the customer's language; a choice made on this
		// page before the code was entered still wins.
		if m.Lang != "" && !a.langChosen {
			a.state.Lang = string(i18n.Parse(m.Lang))
		}
		a.state.Technician, a.state.Company = m.Technician, m.Company
		a.state.TicketRef, a.state.TicketTitle = m.TicketRef, m.TicketTitle
		a.log.Info("joined session", "session", m.SessionID)
	case protocol.ConsentRequest:
		a.onConsentRequest(m)
	case protocol.RecordingRequest:
		a.onRecordingRequest(m)
	case protocol.Recording:
		a.onRecording(m)
	case protocol.Handover:
		a.onHandover(m)
	case protocol.Chat:
		a.state.Chat = append(a.state.Chat, localui.ChatLine{From: m.From, Text: m.Text, At: m.At})
		if len(a.state.Chat) > maxChatLines {
			a.state.Chat = a.state.Chat[len(a.state.Chat)-maxChatLines:]
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
	case protocol.SASCompared:
		a.onSASCompared(m)
	case protocol.SASCommit:
		a.onSASCommit(m)
	case protocol.Renegotiate:
		// A new console: what the last one committed to is gone with it.
		a.sasCommit = ""
		if a.allowed && a.state.Phase == localui.PhaseSharing {
			a.stopSharing()
			a.startSharing()
		}
	case protocol.End:
		a.stopRecorder()
		a.stopSharing()
		a.clearQuestions()
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
	// While a resume waits for its answer, the consent may have lapsed at
	// the relay: nothing starts before it says.
	if !a.allowed || a.sender != nil || a.conn == nil || a.resuming {
		return
	}
	// The indicator goes up first: the stream's first picture, taken while
	// the connection comes up, then shows it (as the customer's screen
	// does) and is still current when the connection is (stream's
	// stillShows); drawn after it, it made that picture stale every time.
	a.syncIndicator()
	src, err := a.cfg.NewSource(a.cfg.Display)
	if err != nil {
		a.log.Error("open screen", "err", err)
		return
	}
	gate := &candidateGate{conn: a.conn}
	a.gate = gate
	shareCtx, shareStop := context.WithCancel(a.runCtx)
	var sender *stream.Sender
	sender, err = stream.New(stream.Config{
		ICEServers:    iceServers(a.joined),
		RelayOnly:     a.joined != nil && a.joined.ICETransportPolicy == "relay",
		AllowedNets:   a.cfg.AllowedNets,
		Logger:        a.log.With("component", "stream"),
		OnMessage:     func(m datachannel.Message) { a.fromConsole(shareCtx, sender, m) },
		OnChannelOpen: func() { a.reportAsync(event{channelOpen: sender}) },
		OnEncoded:     recordFrame(&a.recFrames),
		StageTimes:    a.cfg.StageTimes,
	}, src, gate.add)
	if err != nil {
		shareStop()
		src.Close()
		a.log.Error("start stream", "err", err)
		return
	}
	a.shareStop = shareStop
	if a.controller != nil {
		a.controller.SetScreen(src.Bounds())
	}
	sender.OnFirstFrame(func() { a.reportAsync(event{firstFrame: sender}) })
	sender.OnState(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed {
			a.reportAsync(event{failed: sender})
		}
	})
	a.src, a.sender = src, sender
	if a.recorder != nil {
		a.recorder.rec.SetKeyRequester(sender.RequestKeyFrame)
	}
	a.sharedAt, a.sharedSize = a.displayBounds(a.cfg.Display)
	a.state.ScreenGone = false
	a.log.Info("capturing the screen", "method", capture.Method(src), "source", src)
	offer, err := sender.Offer()
	if err != nil {
		a.log.Error("create offer", "err", err)
		a.stopSharing()
		return
	}
	a.offerCommitted(gate, protocol.Offer{SDP: offer})
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

// hold makes the gate keep candidates until the next offer is sent on
// conn: an ICE restart gathers anew, maybe on a new relay connection.
func (g *candidateGate) hold(conn *wsconn.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.conn, g.opened = conn, false
}

// open sends the offer, then the candidates held for it.
func (g *candidateGate) open(offer protocol.Offer) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_ = g.conn.Send(offer)
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
	a.setControl(false)
	a.abortTransfers()
	if a.shareStop != nil {
		// First, so a data-channel callback blocked on the loop returns
		// and Close below can wait for pion's goroutines.
		a.shareStop()
		a.shareStop = nil
	}
	a.gate = nil
	a.state.SAS, a.state.SASConfirmed = "", false
	a.sasOffer, a.sasUsed = nil, ""
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
	a.secure = false
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
