package stream

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// RestartOffer makes an offer that restarts ICE on the running connection:
// new credentials, new candidates, the same tracks, channel and encoder.
// After a network drop it brings the picture back without a new consent
// and without tearing down what the customer allowed.
func (s *Sender) RestartOffer() (sdp string, err error) {
	offer, err := s.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return "", fmt.Errorf("stream: create ICE restart offer: %w", err)
	}
	if err := s.pc.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("stream: set ICE restart offer: %w", err)
	}
	return offer.SDP, nil
}

// Connected reports whether media flows to the peer now.
func (s *Sender) Connected() bool {
	return s.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}
