// Package mail sends the relay's e-mail through the SMTP server an admin
// configures: messages wait in the database's queue (store.MailQueue) and
// one background Worker sends them, retrying with backoff, so a mail
// server that is down loses nothing. The SMTP password is kept encrypted
// with a key file in the data directory.
package mail

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/meekijk/meekijk/internal/privfile"
)

// KeyFile is the key's name in the data directory.
const KeyFile = "mail.key"

// Key encrypts the SMTP password at rest (AES-256-GCM): a copy of the
// database alone does not give the password away.
type Key struct{ aead cipher.AEAD }

// LoadKey reads the data directory's key, creating it on first use. Like
// the relay's other keys (internal/privfile.Key) it is kept 0600: a file
// others could read is tightened, and one of the wrong size refused.
func LoadKey(dataDir string) (*Key, error) {
	raw, _, err := privfile.Key(filepath.Join(dataDir, KeyFile), 32)
	if err != nil {
		return nil, fmt.Errorf("mail: key: %w", err)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead}, nil
}

// Seal encrypts a secret for the database.
func (k *Key) Seal(plain string) string {
	nonce := make([]byte, k.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(k.aead.Seal(nonce, nonce, []byte(plain), nil))
}

// Open decrypts what Seal made.
func (k *Key) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < k.aead.NonceSize() {
		return "", errors.New("mail: the stored password is damaged")
	}
	plain, err := k.aead.Open(nil, raw[:k.aead.NonceSize()], raw[k.aead.NonceSize():], nil)
	if err != nil {
		return "", errors.New("mail: the stored password does not open with this data directory's key")
	}
	return string(plain), nil
}

// Settings are the SMTP server and the sender.
type Settings struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	StartTLS bool   `json:"startTLS"`
	User     string `json:"user"`
	// Password is sealed with the Key in the database; PasswordSet says
	// whether one is stored, the password itself never leaves the relay.
	Password    string `json:"-"`
	PasswordSet bool   `json:"passwordSet"`
	From        string `json:"from"`
	// PublicURL is the relay's address as customers reach it: the links
	// in the mails start with it ("https://support.desk.be").
	PublicURL string `json:"publicUrl"`
}

// Configured reports whether mail can be sent.
func (s Settings) Configured() bool { return s.Host != "" && s.From != "" && s.PublicURL != "" }

// Check names the first wrong field.
func (s Settings) Check() (field string, err error) {
	switch {
	case s.Host == "":
		return "host", errors.New("is required")
	case s.Port < 1 || s.Port > 65535:
		return "port", errors.New("must be 1 to 65535")
	case s.User == "" && s.Password != "":
		return "user", errors.New("is required with a password")
	}
	if a, err := mail.ParseAddress(s.From); err != nil || a.Name != "" {
		return "from", errors.New("must be an e-mail address")
	}
	if !strings.HasPrefix(s.PublicURL, "https://") && !strings.HasPrefix(s.PublicURL, "http://") {
		return "publicUrl", errors.New("must start with https:// (or http://)")
	}
	return "", nil
}

// Message is one mail to compose.
type Message struct {
	From, To, Subject, Body string
	Lang                    string // Content-Language
	ID                      string // Message-ID without the brackets
	Date                    time.Time
}

// Compose writes m as an RFC 5322 message: UTF-8 text, quoted-printable,
// the subject as an encoded word when it is not ASCII.
func Compose(m Message) ([]byte, error) {
	for _, a := range []string{m.From, m.To} {
		if _, err := mail.ParseAddress(a); err != nil {
			return nil, fmt.Errorf("mail: address %q: %w", a, err)
		}
	}
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", m.From)
	header("To", m.To)
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", m.Date.Format(time.RFC1123Z))
	header("Message-ID", "<"+m.ID+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	if m.Lang != "" {
		header("Content-Language", m.Lang)
	}
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	if _, err := w.Write([]byte(strings.ReplaceAll(m.Body, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Sender delivers composed messages to the SMTP server of Settings.
type Sender struct {
	// TLS is the client configuration for STARTTLS; nil verifies the
	// server's certificate against the system's roots.
	TLS *tls.Config
	// Timeout bounds one delivery.
	Timeout time.Duration
}

// Send delivers one message to one recipient.
func (sd Sender) Send(ctx context.Context, s Settings, to string, msg []byte) error {
	timeout := sd.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("mail: dial %s: %w", addr, err)
	}
	// The deadline makes a hung server fail this try, not the worker.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	var c *smtp.Client
	if s.StartTLS {
		cfg := sd.TLS
		if cfg == nil {
			cfg = &tls.Config{}
		}
		cfg = cfg.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = s.Host
		}
		if c, err = smtp.NewClientStartTLS(conn, cfg); err != nil {
			conn.Close()
			return fmt.Errorf("mail: STARTTLS with %s: %w", addr, err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if s.User != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.User, s.Password)); err != nil {
			return fmt.Errorf("mail: log in to %s as %s: %w", addr, s.User, err)
		}
	}
	if err := c.SendMail(s.From, []string{to}, bytes.NewReader(msg)); err != nil {
		return fmt.Errorf("mail: send to %s through %s: %w", to, addr, err)
	}
	return c.Quit()
}
