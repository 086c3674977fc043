package testrig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"

	"github.com/pion/webrtc/v4"

	"github.com/meekijk/meekijk/internal/sas"
)

// CommittedCertificate is a DTLS certificate for a pion peer that plays the
// console (or a man in the middle), and the commitment to it that the
// console sends the agent before it offers (sas.Commitment).
func CommittedCertificate() (*webrtc.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("testrig: certificate key: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return nil, "", fmt.Errorf("testrig: certificate: %w", err)
	}
	fps, err := cert.GetFingerprints()
	if err != nil {
		return nil, "", fmt.Errorf("testrig: certificate fingerprint: %w", err)
	}
	fp, err := sas.ParseFingerprint(fps[0].Algorithm, fps[0].Value)
	if err != nil {
		return nil, "", err
	}
	return cert, sas.Commitment(fp), nil
}
