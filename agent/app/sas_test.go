package app

import (
	"crypto/sha256"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/sas"
	"github.com/meekijk/meekijk/internal/testrig"
)

// sasRelay is a relay with a technician's WebRTC peer in it: it lets the
// customer in, answers the agent's offer from a pion peer, and once the
// first frame went out tells the agent the technician compared the code
// that wrong(code) gives, from the peer's own view of the connection.
func sasRelay(t *testing.T, wrong func(string) string, got chan<- protocol.Message, commitInstead ...string) *httptest.Server {
	t.Helper()
	const session = 9
	return fakeRelay(t, func(c relayConn) {
		send := c.send
		se := webrtc.SettingEngine{}
		lo := func(ip net.IP) bool { return ip.IsLoopback() }
		se.SetIPFilter(lo)
		se.SetRemoteIPFilter(lo)
		se.SetIncludeLoopbackCandidate(true)
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		me := &webrtc.MediaEngine{}
		if err := me.RegisterDefaultCodecs(); err != nil {
			t.Error(err)
			return
		}
		cert, commit, err := testrig.CommittedCertificate()
		if err != nil {
			t.Error(err)
			return
		}
		if len(commitInstead) > 0 {
			commit = commitInstead[0]
		}
		pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(
			webrtc.Configuration{Certificates: []webrtc.Certificate{*cert}})
		if err != nil {
			t.Error(err)
			return
		}
		defer pc.Close()
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		})
		for m := c.read(); m != nil; m = c.read() {
			select {
			case got <- m:
			default:
			}
			switch m := m.(type) {
			case protocol.Hello:
				send(protocol.Welcome{Protocol: protocol.Version})
			case protocol.Join:
				send(protocol.Joined{SessionID: session, Technician: "Jan"})
				send(protocol.ConsentRequest{Level: protocol.LevelView})
				send(protocol.SASCommit{Hash: commit})
			case protocol.Offer:
				if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
					t.Error(err)
					return
				}
				answer, err := pc.CreateAnswer(nil)
				if err != nil {
					t.Error(err)
					return
				}
				gathered := webrtc.GatheringCompletePromise(pc)
				if err := pc.SetLocalDescription(answer); err != nil {
					t.Error(err)
					return
				}
				<-gathered
				send(protocol.Answer{SDP: pc.LocalDescription().SDP})
			case protocol.Candidate:
				_ = pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: m.Candidate, SDPMid: m.SDPMid, SDPMLineIndex: m.SDPMLineIndex})
			case protocol.MediaStarted:
				dtls := pc.SCTP().Transport()
				params, err := dtls.GetLocalParameters()
				if err != nil {
					t.Error(err)
					return
				}
				own, err := sas.ParseFingerprint(params.Fingerprints[0].Algorithm, params.Fingerprints[0].Value)
				if err != nil {
					t.Error(err)
					return
				}
				code := sas.Code(own, sha256.Sum256(dtls.GetRemoteCertificate()))
				send(protocol.SASCompared{Hash: sas.AuditHash(session, wrong(code))})
			}
		}
	})
}

// startAllowed starts the agent against relayURL, enters a code and allows
// viewing, as the customer does.
func startAllowed(t *testing.T, relayURL string) (*App, func()) {
	t.Helper()
	var c counters
	a, stop := startApp(t, relayURL, &c)
	act(t, a, "code", "123456789")
	waitPhase(t, a, "ask")
	act(t, a, "allow", "")
	return a, stop
}

// The technician's confirmation of the agent's own code shows on the
// customer's page as confirmed, and the session goes on.
func TestSASComparedMatches(t *testing.T) {
	got := make(chan protocol.Message, 256)
	srv := sasRelay(t, func(code string) string { return code }, got)
	a, stop := startAllowed(t, srv.URL)
	defer stop()
	waitState(t, a, `"sasConfirmed":true`)
	time.Sleep(200 * time.Millisecond)
	for len(got) > 0 {
		if m := <-got; m.Type() == "end" {
			t.Fatalf("agent ended the session on a matching code: %+v", m)
		}
	}
}

// An offer waits for the console's commitment to its certificate, and a
// peer with another certificate than the one committed to is refused: the
// agent stops sharing before it shows a code.
func TestOfferWaitsForCommitment(t *testing.T) {
	got := make(chan protocol.Message, 256)
	srv := hostileRelay(t, func(send func(protocol.Message)) {
		send(protocol.Joined{SessionID: 4, Technician: "Jan"})
		send(protocol.ConsentRequest{Level: protocol.LevelView})
	}, got)
	_, stop := startAllowed(t, srv.URL)
	defer stop()
	waitMessage(t, got, "consent")
	time.Sleep(500 * time.Millisecond)
	for len(got) > 0 {
		if m := <-got; m.Type() == "offer" || m.Type() == "candidate" {
			t.Fatalf("agent sent %s before the console committed to its certificate", m.Type())
		}
	}
}

// A peer whose certificate is not the one committed to (a relay that
// forwarded the console's commitment but answers with its own
// certificate) is refused: the agent ends the session before any code.
func TestUncommittedPeerEnds(t *testing.T) {
	got := make(chan protocol.Message, 256)
	srv := sasRelay(t, func(code string) string { return code }, got, "0000000000000000000000000000000000000000000000000000000000000000")
	a, stop := startAllowed(t, srv.URL)
	defer stop()
	end := waitMessage(t, got, "end").(protocol.End)
	if end.Reason != protocol.ReasonSASMismatch {
		t.Errorf("agent sent %+v, want end for sas_mismatch", end)
	}
	if s := pageState(t, a); strings.Contains(s, `"sas":"`) {
		t.Errorf("page shows a code for an uncommitted peer: %s", s)
	}
}

// A confirmation of any other code (a man in the middle, or a technician
// who confirmed a code nobody read) makes the agent stop sharing and end
// the session itself: the relay relays, the agent decides.
func TestSASComparedMismatchEnds(t *testing.T) {
	got := make(chan protocol.Message, 256)
	srv := sasRelay(t, func(code string) string {
		if code == "000000" {
			return "000001"
		}
		return "000000"
	}, got)
	a, stop := startAllowed(t, srv.URL)
	defer stop()
	end := waitMessage(t, got, "end").(protocol.End)
	if end.By != protocol.ByCustomer || end.Reason != protocol.ReasonSASMismatch {
		t.Errorf("agent sent %+v, want end by customer for sas_mismatch", end)
	}
	waitPhase(t, a, "ended")
	if s := pageState(t, a); !strings.Contains(s, `"endedBy":"sas_mismatch"`) || strings.Contains(s, `"sas":"`) {
		t.Errorf("page after the mismatch: %s", s)
	}
}
