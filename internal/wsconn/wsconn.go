// Package wsconn gives every WebSocket connection of Meekijk the same shape:
// one reader (the caller of Run), one writer fed by a bounded queue, pings
// with a liveness timeout, a read limit, and an idempotent Close.
//
// The writer is a goroutine that exists only while messages wait, and pings
// come from a timer: a relay holds tens of thousands of idle agents, and a
// parked writer goroutine per connection was a third of what each one cost
// (BENCHMARKS.md, relay memory).
//
// Signaling messages are never dropped: a peer too slow to drain its queue is
// disconnected instead, because a lost consent or end message would leave the
// two sides disagreeing about what the customer allowed.
package wsconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/protocol"
)

// Timing of the liveness check. A peer that answers no ping for PongWait is
// gone; PingPeriod leaves room for two pings in that window.
const (
	WriteWait  = 10 * time.Second
	PongWait   = 45 * time.Second
	PingPeriod = 20 * time.Second
	// QueueLen bounds the messages waiting for one peer. Signaling bursts are
	// a handful of candidates; 64 waiting means the peer has stopped reading.
	QueueLen = 64
)

var (
	// ErrClosed is returned by Send after the connection closed.
	ErrClosed = errors.New("wsconn: connection closed")
	// ErrSlowPeer is returned by Send when the peer's queue is full; the
	// connection is closed.
	ErrSlowPeer = errors.New("wsconn: peer too slow, disconnected")
)

// Conn is one WebSocket connection carrying protocol messages.
type Conn struct {
	ws  *websocket.Conn
	log *slog.Logger

	mu       sync.Mutex // guards the following
	queue    [][]byte   // waiting messages; nil is the Finish marker
	writing  bool       // a writer goroutine is draining queue
	closed   bool
	finished bool // a Finish is queued: Send refuses new messages
	ping     *time.Timer

	pingPeriod time.Duration // PingPeriod; tests shorten it before Run

	writers   sync.WaitGroup // the writer goroutine, while there is one
	done      chan struct{}
	closeOnce sync.Once
}

// New wraps ws. The caller must call Run.
func New(ws *websocket.Conn, log *slog.Logger) *Conn {
	ws.SetReadLimit(protocol.MaxMessageBytes)
	return &Conn{
		ws:         ws,
		log:        log,
		pingPeriod: PingPeriod,
		done:       make(chan struct{}),
	}
}

// Send queues m for the peer without blocking.
func (c *Conn) Send(m protocol.Message) error {
	b, err := protocol.Encode(m)
	if err != nil {
		return err
	}
	return c.enqueue(b, false)
}

// Finish queues m as the last message and closes the connection once it is
// written. Only the first Finish counts.
func (c *Conn) Finish(m protocol.Message) {
	b, err := protocol.Encode(m)
	if err != nil {
		c.log.Error("encode final message", "type", m.Type(), "err", err)
		c.Close()
		return
	}
	// An error means the connection is closed or already finishing; either
	// way the first final message stands and is still delivered.
	_ = c.enqueue(b, true)
}

func (c *Conn) enqueue(b []byte, last bool) error {
	c.mu.Lock()
	if c.closed || c.finished {
		c.mu.Unlock()
		return ErrClosed
	}
	// Two places stay free so a Finish (message and marker) always fits.
	if len(c.queue) >= QueueLen-2 && !last {
		c.mu.Unlock()
		c.log.Warn("peer too slow, disconnecting", "queued", QueueLen-2)
		c.Close()
		return ErrSlowPeer
	}
	c.queue = append(c.queue, b)
	if last {
		c.finished = true
		c.queue = append(c.queue, nil)
	}
	if !c.writing {
		c.writing = true
		c.writers.Add(1)
		go c.write()
	}
	c.mu.Unlock()
	return nil
}

// Done is closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close ends the connection at once. It is safe to call more than once and
// from any goroutine.
func (c *Conn) Close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.queue = nil
		if c.ping != nil {
			c.ping.Stop()
		}
		c.mu.Unlock()
		close(c.done)
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = c.ws.Close()
	})
}

// Run reads messages and hands each to handle until the peer goes away, ctx
// ends, handle returns an error, or Close is called. A malformed message is
// answered with a bad_message error and skipped: one bad message does not
// cost the customer their session. Run returns why the connection ended.
func (c *Conn) Run(ctx context.Context, handle func(protocol.Message) error) error {
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()
	c.mu.Lock()
	if !c.closed {
		c.ping = time.AfterFunc(c.pingPeriod, c.sendPing)
	}
	c.mu.Unlock()
	err := c.readLoop(handle)
	c.mu.Lock()
	finishing := c.finished
	c.mu.Unlock()
	if finishing {
		// A handler that ends the connection with Finish wants its last
		// message delivered: the writer closes the connection once it
		// has written it.
		select {
		case <-c.done:
		case <-time.After(WriteWait):
		}
	}
	c.Close()
	c.writers.Wait()
	return err
}

func (c *Conn) readLoop(handle func(protocol.Message) error) error {
	_ = c.ws.SetReadDeadline(time.Now().Add(PongWait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(PongWait))
	})
	for {
		kind, b, err := c.ws.ReadMessage()
		if err != nil {
			select {
			case <-c.done:
				return ErrClosed
			default:
			}
			return fmt.Errorf("read: %w", err)
		}
		// Any message proves the peer alive, not only pongs.
		_ = c.ws.SetReadDeadline(time.Now().Add(PongWait))
		if kind != websocket.TextMessage {
			_ = c.Send(protocol.Error{Code: protocol.ErrBadMessage, Message: "binary frames are not part of the protocol"})
			continue
		}
		m, err := protocol.Decode(b)
		if err != nil {
			c.log.Warn("malformed message", "err", err, "bytes", len(b))
			_ = c.Send(protocol.Error{Code: protocol.ErrBadMessage, Message: err.Error()})
			continue
		}
		if err := handle(m); err != nil {
			return err
		}
	}
}

// write drains the queue and ends when it is empty; enqueue starts it
// again for the next message. There is at most one at a time, so writes
// stay ordered and gorilla's one-writer rule holds.
func (c *Conn) write() {
	defer c.writers.Done()
	for {
		c.mu.Lock()
		if c.closed || len(c.queue) == 0 {
			c.writing = false
			c.mu.Unlock()
			return
		}
		b := c.queue[0]
		c.queue = c.queue[1:]
		if len(c.queue) == 0 {
			c.queue = nil // let an idle connection drop the backing array
		}
		c.mu.Unlock()
		if b == nil { // the Finish marker
			c.Close()
			continue
		}
		_ = c.ws.SetWriteDeadline(time.Now().Add(WriteWait))
		if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
			c.log.Debug("write failed", "err", err)
			c.Close()
		}
	}
}

// sendPing runs on its timer every PingPeriod, counted among the writers
// so Run waits for it. gorilla allows WriteControl alongside the writer.
func (c *Conn) sendPing() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.writers.Add(1)
	c.mu.Unlock()
	defer c.writers.Done()
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(WriteWait)); err != nil {
		c.Close()
		return
	}
	c.mu.Lock()
	if !c.closed {
		c.ping.Reset(c.pingPeriod)
	}
	c.mu.Unlock()
}
