// Package relayclient connects the agent to the relay's agent endpoint.
package relayclient

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/wsconn"
)

// SocketURL turns the relay's address as people give it
// ("https://support.example.be", "http://127.0.0.1:8080/") into the agent
// endpoint's WebSocket URL.
func SocketURL(relay string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(relay))
	if err != nil {
		return "", fmt.Errorf("relay address %q: %w", relay, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return "", fmt.Errorf("relay address %q: want http:// or https://", relay)
	}
	if u.Host == "" {
		return "", fmt.Errorf("relay address %q: no host", relay)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/ws/agent"
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// HTTPURL is the relay's HTTP(S) endpoint at path, for what the agent
// sends outside its WebSocket (recording chunks): the scheme the socket
// uses, as http or https.
func HTTPURL(relay, path string) (string, error) {
	ws, err := SocketURL(relay)
	if err != nil {
		return "", err
	}
	u, _ := url.Parse(ws) // SocketURL's own output
	u.Scheme = map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	u.Path = strings.TrimSuffix(u.Path, "/ws/agent") + path
	return u.String(), nil
}

// Dial connects to the relay and sends the agent's hello. The returned
// connection must be Run by the caller; the relay's welcome is its first
// message.
func Dial(ctx context.Context, relay string, hello protocol.Hello, log *slog.Logger) (*wsconn.Conn, error) {
	target, err := SocketURL(relay)
	if err != nil {
		return nil, err
	}
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := dialer.DialContext(ctx, target, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial relay %s: %s: %w", target, resp.Status, err)
		}
		return nil, fmt.Errorf("dial relay %s: %w", target, err)
	}
	c := wsconn.New(ws, log)
	hello.Protocol, hello.Role = protocol.Version, protocol.RoleAgent
	if err := c.Send(hello); err != nil {
		c.Close()
		return nil, fmt.Errorf("hello: %w", err)
	}
	return c, nil
}

// Backoff spaces the agent's attempts to reach the relay again after a
// drop: exponential, so a relay coming back up is not stormed by every
// agent at once, with jitter, so agents dropped together do not retry
// together.
type Backoff struct {
	Base, Max time.Duration
}

// Delay is the wait before attempt n (0 for the first retry). rnd in [0,1)
// picks the jitter: the wait lies between half and all of the exponential
// step.
func (b Backoff) Delay(n int, rnd float64) time.Duration {
	step := b.Max
	if n < 30 { // beyond, the shift overflows; the cap holds long before
		step = min(b.Base<<n, b.Max)
	}
	return step/2 + time.Duration(rnd*float64(step/2))
}
