// Package sas derives the short verification code that the customer and
// the technician compare aloud on the phone: six digits computed by each
// end from the two DTLS certificate fingerprints its own connection
// actually used. An honest path gives both ends the same two certificates
// and so the same code; a relay that terminates DTLS on each side (a
// man in the middle) gives each end a different pair, and the two codes
// differ (but for a chance of 10^-6: the console commits to its
// certificate before the agent offers, Commitment, so a relay cannot
// search for certificates that make them agree; docs/protocol.md,
// "Verification code").
//
// The derivation is written in docs/protocol.md precisely enough to
// reimplement; console/assets/sas.js is the browser's twin and both are
// tested against the same vector (TestVector, e2e TestSASVectorInBrowser).
//
// Digits, not words: the customer's page and the console may be in
// different languages (a Dutch customer, a French-speaking technician),
// and digits are the one vocabulary both read out alike.
package sas

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Label is hashed before the fingerprints, so a code can never be mistaken
// for another use of the same two digests.
const Label = "meekijk sas v1"

// Digits is the code's length.
const Digits = 6

// ErrFingerprint is returned for a fingerprint that is not a SHA-256
// digest in the SDP form ("AB:CD:…", 32 bytes, either case).
var ErrFingerprint = errors.New("sas: not a sha-256 certificate fingerprint")

// Fingerprint is the SHA-256 digest of a DER certificate.
type Fingerprint [sha256.Size]byte

// OfCertificate is the fingerprint of a DER-encoded certificate.
func OfCertificate(der []byte) Fingerprint { return sha256.Sum256(der) }

// ParseFingerprint reads a fingerprint as SDP (RFC 8122) and a browser's
// RTCCertificateStats write it: hex pairs separated by colons. Only
// SHA-256 is accepted: the code is defined over SHA-256 digests, and
// both pion and browsers use it for their own certificates.
func ParseFingerprint(algorithm, value string) (Fingerprint, error) {
	var fp Fingerprint
	if !strings.EqualFold(algorithm, "sha-256") {
		return fp, fmt.Errorf("%w: algorithm %q", ErrFingerprint, algorithm)
	}
	if len(value) != 3*len(fp)-1 {
		return fp, fmt.Errorf("%w: %q", ErrFingerprint, value)
	}
	for i := range fp {
		if i > 0 && value[3*i-1] != ':' {
			return fp, fmt.Errorf("%w: %q", ErrFingerprint, value)
		}
		if _, err := hex.Decode(fp[i:i+1], []byte(value[3*i:3*i+2])); err != nil {
			return fp, fmt.Errorf("%w: %q", ErrFingerprint, value)
		}
	}
	return fp, nil
}

// Code derives the verification code from the two fingerprints of one
// DTLS connection. The order of a and b does not matter: each end passes
// its own certificate's first, and both must reach the same code.
//
//	h    = SHA-256(Label || min(a, b) || max(a, b))   (byte-wise order)
//	code = uint64-big-endian(h[0:8]) mod 10^6, as 6 digits with leading zeros
func Code(a, b Fingerprint) string {
	lo, hi := a, b
	if bytes.Compare(lo[:], hi[:]) > 0 {
		lo, hi = hi, lo
	}
	h := sha256.New()
	h.Write([]byte(Label))
	h.Write(lo[:])
	h.Write(hi[:])
	n := binary.BigEndian.Uint64(h.Sum(nil)[:8]) % 1_000_000
	return fmt.Sprintf("%06d", n)
}

// CommitLabel is hashed before a fingerprint to commit to it.
const CommitLabel = "meekijk sas commit v1"

// Commitment is what the console announces of its next certificate before
// the agent offers: hex SHA-256(CommitLabel || fingerprint). The agent
// reveals its own fingerprint (the offer) only after it holds one, and
// checks the certificate it then meets against it, so a relay in the
// middle must fix its certificate towards the agent before it knows the
// agent's: it can no longer search for one that makes the codes equal.
func Commitment(fp Fingerprint) string {
	h := sha256.New()
	h.Write([]byte(CommitLabel))
	h.Write(fp[:])
	return hex.EncodeToString(h.Sum(nil))
}

// Valid reports whether s is a code as Code writes it.
func Valid(s string) bool {
	if len(s) != Digits {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil && !strings.ContainsAny(s, "+-")
}

// AuditHash is what the record keeps of a compared code: HMAC-SHA-256
// keyed with the session, in hex.
//
// Why keyed, and what it does not do: a plain SHA-256 of six digits is
// one lookup in a table of 10^6 entries computed once for all sessions,
// and equal codes in two sessions would hash alike. Keyed with the
// session, each session needs its own 10^6 tries and hashes cannot be
// linked across sessions. It does not hide the code from whoever knows
// the session id; it need not: the code protects only the live call (a
// man in the middle sees both codes anyway) and is worthless after it.
// What the hash gives is a record of which code was confirmed, that the
// agent can check against its own (the agent enforces a mismatch).
func AuditHash(sessionID int64, code string) string {
	mac := hmac.New(sha256.New, []byte("meekijk sas audit v1 session "+strconv.FormatInt(sessionID, 10)))
	mac.Write([]byte(code))
	return hex.EncodeToString(mac.Sum(nil))
}
