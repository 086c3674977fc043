package stream

import (
	"errors"
	"fmt"

	"github.com/meekijk/meekijk/internal/sas"
)

// ErrNoPeerCertificate is returned by VerificationCode before DTLS has
// verified the peer's certificate.
var ErrNoPeerCertificate = errors.New("stream: no verified peer certificate yet")

// VerificationCode is the spoken verification code (internal/sas) of the
// DTLS connection as it is: this Sender's own certificate and the one the
// peer presented and pion checked against the answer's fingerprint. Both
// are read from the transport, not from the SDP, so the code describes the
// connection the picture actually travels on.
func (s *Sender) VerificationCode() (string, error) {
	local, remote, err := s.Fingerprints()
	if err != nil {
		return "", err
	}
	return sas.Code(local, remote), nil
}

// Fingerprints are the SHA-256 fingerprints of the DTLS connection's two
// certificates, read from the transport: this Sender's own, and the one the
// peer presented and pion verified.
func (s *Sender) Fingerprints() (local, remote sas.Fingerprint, err error) {
	dtls := s.pc.SCTP().Transport()
	peer := dtls.GetRemoteCertificate()
	if len(peer) == 0 {
		return local, remote, ErrNoPeerCertificate
	}
	params, err := dtls.GetLocalParameters()
	if err != nil {
		return local, remote, fmt.Errorf("stream: local DTLS parameters: %w", err)
	}
	for _, f := range params.Fingerprints {
		if local, err = sas.ParseFingerprint(f.Algorithm, f.Value); err == nil {
			return local, sas.OfCertificate(peer), nil
		}
	}
	return local, remote, fmt.Errorf("stream: no sha-256 fingerprint among the local certificate's %v", params.Fingerprints)
}
