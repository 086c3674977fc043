package audit

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"
)

// Syslog sends checkpoints to a syslog server as RFC 5424 messages, so a
// copy of each seal leaves the machine as it is made: someone who later
// gets the data directory can truncate the local checkpoint file, not the
// remote one.
type Syslog struct {
	network, addr string
	hostname      string
}

// syslogPRI is facility authpriv (10), severity notice (5): security
// records, kept apart from ordinary logs by most syslog configurations.
const syslogPRI = 10*8 + 5

// NewSyslog parses "udp://HOST:PORT" or "tcp://HOST:PORT".
func NewSyslog(target string) (*Syslog, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "udp" && u.Scheme != "tcp") || u.Host == "" || u.Port() == "" || u.Path != "" {
		return nil, fmt.Errorf("syslog target %q: want udp://HOST:PORT or tcp://HOST:PORT", target)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "-"
	}
	return &Syslog{network: u.Scheme, addr: u.Host, hostname: host}, nil
}

// Message is the RFC 5424 message for c: the checkpoint line is the MSG,
// so the receiving side stores exactly what the local file holds.
func (s *Syslog) Message(c Checkpoint) string {
	return fmt.Sprintf("<%d>1 %s %s meekijk-relay %d audit-checkpoint - %s",
		syslogPRI, time.Now().UTC().Format(time.RFC3339Nano), s.hostname, os.Getpid(), c)
}

// Send delivers one checkpoint, over a connection of its own (checkpoints
// are at most one a minute or per hundred entries; a fresh connection
// survives a restarted collector). TCP uses octet-counting framing
// (RFC 6587), UDP one datagram.
func (s *Syslog) Send(ctx context.Context, c Checkpoint) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, s.network, s.addr)
	if err != nil {
		return fmt.Errorf("syslog %s://%s: %w", s.network, s.addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	msg := s.Message(c)
	if s.network == "tcp" {
		msg = fmt.Sprintf("%d %s", len(msg), msg)
	}
	if _, err := conn.Write([]byte(msg)); err != nil {
		return fmt.Errorf("syslog %s://%s: %w", s.network, s.addr, err)
	}
	return nil
}
