// Package pipenet is an in-memory network for tests that run under
// testing/synctest: an HTTP server and its WebSocket clients talk over
// net.Pipe, which blocks durably inside a bubble, so the fake clock moves
// on as soon as everyone waits, where a loopback socket would hold it.
package pipenet

import (
	"context"
	"net"
	"sync"
)

// Listener hands out the server ends of the pipes that Dial makes.
type Listener struct {
	conns     chan net.Conn
	closeOnce sync.Once
	done      chan struct{}
}

// Listen returns a listener to serve with http.Serve.
func Listen() *Listener {
	return &Listener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept waits for the next Dial.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and Dial; pipes already made stay open.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Addr is a placeholder: the pipes have no address.
func (l *Listener) Addr() net.Addr { return pipeAddr{} }

// Dial connects to the listener, whatever the address (it fits
// websocket.Dialer.NetDialContext).
func (l *Listener) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	return nil, net.ErrClosed
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
