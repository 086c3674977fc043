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
