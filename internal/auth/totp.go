package auth

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/meekijk/meekijk/internal/privfile"
)

// KeyFile is the name, in the data directory, of the file holding the key
// that seals TOTP secrets and keys the recovery-code hashes. It is kept out
// of the database on purpose: a copy of the database alone reveals no
// second factor.
const KeyFile = "auth.key"

const keyLen = 32

// LoadKey reads the key file at path, creating it (0600, 32 random bytes)
// when it does not exist yet (internal/privfile, as the relay's other keys).
func LoadKey(path string) ([]byte, error) {
	key, _, err := privfile.Key(path, keyLen)
	if err != nil {
		return nil, fmt.Errorf("auth: %w: restore it from a backup, or remove it and reset every second factor", err)
	}
	return key, nil
}

// keys are the purposes the file's key is split into, so one use can never
// stand in for another.
type keys struct {
	seal     cipher.AEAD
	recovery []byte
	csrf     []byte // keyed.go
}

func deriveKeys(key []byte) (keys, error) {
	if len(key) != keyLen {
		return keys{}, fmt.Errorf("auth: key has %d bytes, want %d", len(key), keyLen)
	}
	sub := func(purpose string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(purpose))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(sub("meekijk totp seal"))
	if err != nil {
		return keys{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return keys{}, err
	}
	return keys{seal: aead, recovery: sub("meekijk recovery code"), csrf: sub("meekijk csrf")}, nil
}

// userAD binds a sealed secret to its user: copied into another user's row
// it does not open.
func userAD(userID int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(userID)) }

func (k keys) sealSecret(userID int64, secret string) []byte {
	nonce := make([]byte, k.seal.NonceSize())
	_, _ = rand.Read(nonce)
	return k.seal.Seal(nonce, nonce, []byte(secret), userAD(userID))
}

var errSealed = errors.New("auth: the second factor's secret does not open with this relay's key")

func (k keys) openSecret(userID int64, sealed []byte) (string, error) {
	n := k.seal.NonceSize()
	if len(sealed) < n {
		return "", errSealed
	}
	plain, err := k.seal.Open(nil, sealed[:n], sealed[n:], userAD(userID))
	if err != nil {
		return "", errSealed
	}
	return string(plain), nil
}

// The TOTP parameters every authenticator app understands (RFC 6238).
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	// totpSkew accepts the code of the step before and after, for a phone
	// whose clock is a little off.
	totpSkew = 1
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

// matchTOTP returns the step whose code equals code, or 0 when none of the
// steps around now does.
func matchTOTP(secret, code string, now time.Time) (int64, error) {
	if len(code) != int(totpDigits) {
		return 0, nil
	}
	step := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, fmt.Errorf("auth: totp: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + d, nil
		}
	}
	return 0, nil
}

// Enrolment is a new second factor waiting for its first code: what the
// user's authenticator app needs.
type Enrolment struct {
	Secret string // base32, for typing in by hand
	URL    string // otpauth:// URL, what the QR code holds
	// QR is the QR code as a data: URL of a PNG, made here so the page
	// needs no script from elsewhere (the CSP allows data: images).
	QR string
}

func newEnrolment(issuer, account string) (Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrolment{}, fmt.Errorf("auth: totp key: %w", err)
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return Enrolment{}, fmt.Errorf("auth: totp qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, fmt.Errorf("auth: totp qr: %w", err)
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL(),
		QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// recoveryCodes is how many one-time recovery codes a user gets.
const recoveryCodes = 10

// recoveryAlphabet has no look-alikes; 12 characters of it carry 60 bits.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// newRecoveryCode returns a code such as "k3mz-8qpa-x2vd".
func newRecoveryCode() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		// 256 % 31 leaves a slight bias; 12 characters keep over 58 bits.
		sb.WriteByte(recoveryAlphabet[int(c)%len(recoveryAlphabet)])
	}
	return sb.String()
}

// normalizeRecovery lets a code be typed with or without dashes and
// spaces, in either case.
func normalizeRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(code)))
}

// hashRecovery keys the hash with the relay's key: 60 bits would not
// survive an offline search of a plain hash from a database copy.
func (k keys) hashRecovery(userID int64, code string) []byte {
	m := hmac.New(sha256.New, k.recovery)
	m.Write(userAD(userID))
	m.Write([]byte(normalizeRecovery(code)))
	return m.Sum(nil)
}
