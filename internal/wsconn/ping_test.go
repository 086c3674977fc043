package wsconn

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/protocol"
)

// TestPingsWhileIdle: with no writer goroutine parked on an idle
// connection, the pings come from a timer; they must keep coming, and the
// writer must be gone again after a message went out.
func TestPingsWhileIdle(t *testing.T) {
	conns := make(chan *Conn, 1)
	runs := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := New(ws, slog.New(slog.NewTextHandler(io.Discard, nil)))
		c.pingPeriod = 20 * time.Millisecond
		conns <- c
		runs <- c.Run(context.Background(), func(protocol.Message) error { return nil })
	}))
	defer srv.Close()

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
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
	deadline := time.Now().Add(5 * time.Second)
	for pings.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pings in 5 s at a 20 ms period", pings.Load())
		}
		time.Sleep(10 * time.Millisecond)
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
