package e2e

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/testrig"
)

// mitm is the lying relay of the verification-code test: a WebSocket proxy
// between the agent and the real relay that rewrites the signalling so each
// side talks WebRTC to it. Towards the agent it answers the offer with its
// own certificate; towards the console it makes its own offer with another
// one; it terminates both DTLS legs and forwards the video (and the data
// channel) between them, decrypting everything on the way. This is exactly
// what an operator of a dishonest relay could run; the fingerprints each
// side checks are the attacker's, so WebRTC itself notices nothing.
type mitm struct {
	t      *testing.T
	relay  string // the real relay's agent WebSocket URL
	server *http.Server
	url    string // what the agent is given as -relay
	wg     sync.WaitGroup

	mu    sync.Mutex // guards the following
	legs  *mitmLegs
	conns []*websocket.Conn
	// next is the certificate the next agent leg answers with, which the
	// agent got a commitment to in place of the console's: a relay that
	// forwarded the console's commitment would be caught by the agent.
	next       *webrtc.Certificate
	nextCommit string
}

// mitmLegs is one interception: the leg facing the agent and the one
// facing the console.
type mitmLegs struct {
	agent, console *webrtc.PeerConnection
}

func startMITM(t *testing.T, relayURL string) *mitm {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &mitm{t: t, relay: "ws" + strings.TrimPrefix(relayURL, "http") + "/ws/agent", url: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws/agent", m.serveAgent)
	m.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("mitm: serve: %v", err)
		}
	}()
	t.Cleanup(m.close)
	return m
}

func (m *mitm) close() {
	_ = m.server.Close()
	m.mu.Lock()
	for _, c := range m.conns {
		_ = c.Close()
	}
	legs := m.legs
	m.legs = nil
	m.mu.Unlock()
	legs.close()
	m.wg.Wait()
}

func (l *mitmLegs) close() {
	if l != nil {
		_ = l.agent.Close()
		_ = l.console.Close()
	}
}

// lockedWS serialises writes: both pumps and pion's callbacks write.
type lockedWS struct {
	mu sync.Mutex
	ws *websocket.Conn
}

func (w *lockedWS) send(msg protocol.Message) error {
	b, err := protocol.Encode(msg)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ws.WriteMessage(websocket.TextMessage, b)
}

func (m *mitm) serveAgent(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{}
	agentWS, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	relayWS, _, err := websocket.DefaultDialer.Dial(m.relay, nil)
	if err != nil {
		m.t.Errorf("mitm: dial relay: %v", err)
		_ = agentWS.Close()
		return
	}
	m.mu.Lock()
	m.conns = append(m.conns, agentWS, relayWS)
	m.mu.Unlock()
	toAgent, toRelay := &lockedWS{ws: agentWS}, &lockedWS{ws: relayWS}
	done := make(chan struct{}, 2)
	m.wg.Add(1)
	go func() { // relay -> agent
		defer m.wg.Done()
		m.pump(relayWS, toAgent, func(msg protocol.Message) (bool, error) { return m.fromRelay(msg, toAgent) })
		_ = agentWS.Close()
		done <- struct{}{}
	}()
	// agent -> relay, on the handler's goroutine
	m.pump(agentWS, toRelay, func(msg protocol.Message) (bool, error) { return m.fromAgent(msg, toAgent, toRelay) })
	_ = relayWS.Close()
	<-done
}

// pump copies messages from in to out, except those handle takes.
func (m *mitm) pump(in *websocket.Conn, out *lockedWS, handle func(protocol.Message) (bool, error)) {
	for {
		_, b, err := in.ReadMessage()
		if err != nil {
			return
		}
		msg, err := protocol.Decode(b)
		if err != nil {
			m.t.Errorf("mitm: decode %s: %v", b, err)
			return
		}
		taken, err := handle(msg)
		if err != nil {
			m.t.Errorf("mitm: %s: %v", msg.Type(), err)
			return
		}
		if !taken && out.send(msg) != nil {
			return
		}
	}
}

// fromAgent intercepts the agent's offer and candidates.
func (m *mitm) fromAgent(msg protocol.Message, toAgent, toRelay *lockedWS) (bool, error) {
	switch msg := msg.(type) {
	case protocol.Offer:
		if msg.Restart {
			return true, errors.New("ICE restart not handled by the test's mitm")
		}
		return true, m.intercept(msg, toAgent, toRelay)
	case protocol.Candidate:
		m.mu.Lock()
		legs := m.legs
		m.mu.Unlock()
		if legs == nil {
			return true, errors.New("candidate before offer")
		}
		return true, legs.agent.AddICECandidate(candidateInit(msg))
	}
	return false, nil
}

// fromRelay intercepts the console's commitment, answer and candidates.
func (m *mitm) fromRelay(msg protocol.Message, toAgent *lockedWS) (bool, error) {
	m.mu.Lock()
	legs := m.legs
	m.mu.Unlock()
	switch msg := msg.(type) {
	case protocol.SASCommit:
		commit, err := m.commitNext()
		if err != nil {
			return true, err
		}
		return true, toAgent.send(protocol.SASCommit{Hash: commit})
	case protocol.Answer:
		if legs == nil {
			return true, errors.New("answer before offer")
		}
		return true, legs.console.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: msg.SDP})
	case protocol.Candidate:
		if legs == nil {
			return true, errors.New("candidate before offer")
		}
		return true, legs.console.AddICECandidate(candidateInit(msg))
	}
	return false, nil
}

// commitNext makes the certificate of the next agent leg, unless one is
// waiting unused, and returns the commitment to it.
func (m *mitm) commitNext() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.next == nil {
		cert, commit, err := testrig.CommittedCertificate()
		if err != nil {
			return "", err
		}
		m.next, m.nextCommit = cert, commit
	}
	return m.nextCommit, nil
}

func candidateInit(c protocol.Candidate) webrtc.ICECandidateInit {
	return webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
}

// mitmAPI is pion held to loopback, H.264 as the agent sends it.
func mitmAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: mitmH264, PayloadType: 102}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	lo := func(ip net.IP) bool { return ip.IsLoopback() }
	se.SetIPFilter(lo)
	se.SetRemoteIPFilter(lo)
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetPrflxAcceptanceMinWait(0)
	se.SetHostAcceptanceMinWait(0)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)), nil
}

var mitmH264 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}

// intercept answers the agent's offer itself and offers the console its own
// connection, each leg with a certificate of its own, and joins the two.
// Both descriptions carry all their candidates (no trickle from here).
func (m *mitm) intercept(offer protocol.Offer, toAgent, toRelay *lockedWS) error {
	api, err := mitmAPI()
	if err != nil {
		return err
	}
	m.mu.Lock()
	cert := m.next
	m.next = nil
	m.mu.Unlock()
	if cert == nil {
		return errors.New("the agent offered before the mitm committed to a certificate")
	}
	legs := &mitmLegs{}
	if legs.agent, err = api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{*cert}}); err != nil {
		return err
	}
	if legs.console, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		_ = legs.agent.Close()
		return err
	}
	m.mu.Lock()
	old := m.legs
	m.legs = legs
	m.mu.Unlock()
	old.close()

	// Console leg: the video track the agent's picture is copied into, and
	// the data channel the console expects.
	track, err := webrtc.NewTrackLocalStaticRTP(mitmH264, "video", "screen")
	if err != nil {
		return err
	}
	sender, err := legs.console.AddTrack(track)
	if err != nil {
		return err
	}
	ordered := true
	consoleDC, err := legs.console.CreateDataChannel("meekijk", &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		return err
	}
	// The console's keyframe requests go to the agent.
	var (
		ssrcMu sync.Mutex
		ssrc   webrtc.SSRC
	)
	pli := func() {
		ssrcMu.Lock()
		s := ssrc
		ssrcMu.Unlock()
		if s != 0 {
			_ = legs.agent.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(s)}})
		}
	}
	m.wg.Add(1)
	go func() { // ends when the console leg closes
		defer m.wg.Done()
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					pli()
				}
			}
		}
	}()
	legs.console.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			pli()
		}
	})
	legs.agent.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		ssrcMu.Lock()
		ssrc = tr.SSRC()
		ssrcMu.Unlock()
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			// The agent leg's header extension ids mean nothing on the
			// console leg.
			p.Header.Extension, p.Header.Extensions = false, nil
			_ = track.WriteRTP(p)
		}
	})
	legs.agent.OnDataChannel(func(d *webrtc.DataChannel) {
		d.OnMessage(func(msg webrtc.DataChannelMessage) { _ = consoleDC.Send(msg.Data) })
		consoleDC.OnMessage(func(msg webrtc.DataChannelMessage) { _ = d.Send(msg.Data) })
	})

	// Agent leg: answer the agent's offer.
	if err := legs.agent.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		return fmt.Errorf("agent leg: %w", err)
	}
	answer, err := legs.agent.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("agent leg: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(legs.agent)
	if err := legs.agent.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("agent leg: %w", err)
	}
	<-gathered
	if err := toAgent.send(protocol.Answer{SDP: legs.agent.LocalDescription().SDP}); err != nil {
		return err
	}

	// Console leg: our own offer, sent to the console as the agent's.
	own, err := legs.console.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("console leg: %w", err)
	}
	gathered = webrtc.GatheringCompletePromise(legs.console)
	if err := legs.console.SetLocalDescription(own); err != nil {
		return fmt.Errorf("console leg: %w", err)
	}
	<-gathered
	m.t.Logf("mitm: intercepted the offer; each side now talks DTLS to the mitm")
	return toRelay.send(protocol.Offer{SDP: legs.console.LocalDescription().SDP})
}
