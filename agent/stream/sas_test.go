package stream

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/meekijk/meekijk/internal/sas"
)

// TestVerificationCodeMatchesPeer: the Sender's code is the one the peer
// computes from its own view of the same DTLS connection, and before DTLS
// there is none.
func TestVerificationCodeMatchesPeer(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	recv := newReceiver(t)
	defer recv.GracefulClose()
	toRecv := &trickle{add: recv.AddICECandidate}
	s, err := New(Config{AllowedNets: loopbackNets(t), Logger: testLogger(t).With("peer", "sender")},
		newSolidSource(color.RGBA{10, 20, 30, 255}), toRecv.push)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.VerificationCode(); !errors.Is(err, ErrNoPeerCertificate) {
		t.Fatalf("code before connecting: %v, want ErrNoPeerCertificate", err)
	}
	recv.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
		}
	})
	negotiate(t, s, recv, toRecv)
	waitFor(t, 10*time.Second, "the receiver's DTLS", func() bool {
		return recv.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	var code string
	waitFor(t, 5*time.Second, "the sender's code", func() bool {
		code, err = s.VerificationCode()
		return err == nil
	})

	// The receiver's view: its own certificate's fingerprint from its
	// DTLS parameters, the sender's from the certificate it received.
	dtls := recv.SCTP().Transport()
	params, err := dtls.GetLocalParameters()
	if err != nil {
		t.Fatal(err)
	}
	own, err := sas.ParseFingerprint(params.Fingerprints[0].Algorithm, params.Fingerprints[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	peer := sha256.Sum256(dtls.GetRemoteCertificate())
	if want := sas.Code(own, peer); code != want {
		t.Errorf("sender's code %s, receiver's %s", code, want)
	}
	// And it is the fingerprint the sender's offer announced.
	sdp := s.pc.LocalDescription().SDP
	announced := "sha-256 " + strings.ReplaceAll(fmt.Sprintf("% X", peer[:]), " ", ":")
	if !strings.Contains(strings.ToUpper(sdp), strings.ToUpper(announced)) {
		t.Errorf("offer does not announce the certificate the receiver saw")
	}
}
