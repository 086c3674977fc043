package wsconn

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/pipenet"
	"github.com/meekijk/meekijk/internal/protocol"
)

// TestPingsWhileIdle: with no writer goroutine parked on an idle
// connection, the pings come from a timer; they must keep coming, and the
// writer must be gone again after a message went out.
// It runs on synctest's clock over in-memory pipes: five pings at a
// 20 ms period take no real time.
func TestPingsWhileIdle(t *testing.T) { synctest.Test(t, testPingsWhileIdle) }

func testPingsWhileIdle(t *testing.T) {
	conns := make(chan *Conn, 1)
	runs := make(chan error, 1)
	ln := pipenet.Listen()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := New(ws, slog.New(slog.NewTextHandler(io.Discard, nil)))
		c.pingPeriod = 20 * time.Millisecond
		conns <- c
		runs <- c.Run(context.Background(), func(protocol.Message) error { return nil })
	})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	defer func() {
		srv.Close()
		<-served
	}()

	dialer := websocket.Dialer{NetDialContext: ln.Dial}
	ws, _, err := dialer.Dial("ws://pipe/", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.Close()
	var pings atomic.Int32
	ws.SetPingHandler(func(string) error { pings.Add(1); return nil })
	got := make(chan protocol.Message, 1)
	go func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if m, err := protocol.Decode(b); err == nil {
				got <- m
			}
		}
	}()
	c := <-conns

	if err := c.Send(protocol.Renegotiate{}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("message not delivered")
	}
	// Five periods and a little: every goroutine waits on the pipes
	// or the ping timer, so the bubble's clock jumps there.
	time.Sleep(5*20*time.Millisecond + time.Millisecond)
	synctest.Wait()
	if n := pings.Load(); n < 5 {
		t.Fatalf("%d pings in 101 ms at a 20 ms period", n)
	}
	c.mu.Lock()
	writing := c.writing
	c.mu.Unlock()
	if writing {
		t.Error("a writer goroutine is still running on an idle connection")
	}

	c.Close()
	select {
	case <-runs:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}
