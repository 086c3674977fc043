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
	dtls := s.pc.SCTP().Transport()
	remote := dtls.GetRemoteCertificate()
	if len(remote) == 0 {
		return "", ErrNoPeerCertificate
	}
	params, err := dtls.GetLocalParameters()
	if err != nil {
		return "", fmt.Errorf("stream: local DTLS parameters: %w", err)
	}
	for _, f := range params.Fingerprints {
		local, err := sas.ParseFingerprint(f.Algorithm, f.Value)
		if err == nil {
			return sas.Code(local, sas.OfCertificate(remote)), nil
		}
	}
	return "", fmt.Errorf("stream: no sha-256 fingerprint among the local certificate's %v", params.Fingerprints)
}
