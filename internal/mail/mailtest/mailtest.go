// Package mailtest runs a real SMTP server on loopback for tests
// (emersion/go-smtp): it requires AUTH PLAIN with the given login and
// hands over every message it accepts.
package mailtest

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Server is the running server; Received delivers each message as sent.
type Server struct {
	Addr     string
	Received chan []byte
}

// Start serves on addr ("127.0.0.1:0" for any port) until the test ends,
// with STARTTLS when tlsConfig is set.
func Start(t testing.TB, addr, user, password string, tlsConfig *tls.Config) *Server {
	t.Helper()
	s := &Server{Received: make(chan []byte, 16)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, user: user, password: password}, nil
	}))
	srv.Domain, srv.TLSConfig = "localhost", tlsConfig
	srv.AllowInsecureAuth = tlsConfig == nil
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return s
}

type session struct {
	srv            *Server
	user, password string
	authed         bool
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.user || pass != s.password {
			return errors.New("bad login")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (s *session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *session) Reset()                               {}
func (s *session) Logout() error                        { return nil }

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.Received <- b
	return nil
}
