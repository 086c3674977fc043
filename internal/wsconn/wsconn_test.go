package wsconn_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/wsconn"
)

// Connections come and go in every test; a goroutine left behind by the
// reader, the writer or a handler is exactly the leak wsconn must not have.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 5 * time.Second

var discard = slog.New(slog.DiscardHandler)

func ptr[T any](v T) *T { return &v }

// server is one httptest server whose every connection is a wsconn.Conn
// running handle.
type server struct {
	url   string
	conns chan *wsconn.Conn
	runs  chan error // Run's result, one per connection
}

func newServer(t *testing.T, handle func(c *wsconn.Conn, m protocol.Message) error) *server {
	t.Helper()
	s := &server{conns: make(chan *wsconn.Conn, 4), runs: make(chan error, 4)}
	up := websocket.Upgrader{}
	var handlers sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		handlers.Add(1)
		defer handlers.Done()
		c := wsconn.New(ws, discard)
		s.conns <- c
		s.runs <- c.Run(context.Background(), func(m protocol.Message) error {
			if handle == nil {
				return nil
			}
			return handle(c, m)
		})
	}))
	s.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	t.Cleanup(func() {
		// httptest does not wait for hijacked connections: wait for their
		// handlers here, so no test leaves a Run behind.
		done := make(chan struct{})
		go func() { handlers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(wait):
			t.Error("server handlers still running at cleanup")
		}
		srv.Close()
	})
	return s
}

// dial opens a raw client connection, closed at cleanup.
func (s *server) dial(t *testing.T) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(s.url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func (s *server) conn(t *testing.T) *wsconn.Conn {
	t.Helper()
	select {
	case c := <-s.conns:
		return c
	case <-time.After(wait):
		t.Fatal("server got no connection")
		return nil
	}
}

func (s *server) runResult(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.runs:
		return err
	case <-time.After(wait):
		t.Fatal("server Run did not return")
		return nil
	}
}

func send(t *testing.T, ws *websocket.Conn, m protocol.Message) {
	t.Helper()
	b, err := protocol.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatalf("write %s: %v", m.Type(), err)
	}
}

func recv(t *testing.T, ws *websocket.Conn) protocol.Message {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	m, err := protocol.Decode(b)
	if err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return m
}

// expectClosed reads until the connection reports an error and returns it.
func expectClosed(t *testing.T, ws *websocket.Conn) error {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection still open after %v", wait)
			}
			return err
		}
		t.Fatalf("got %q, want the connection closed", b)
	}
}

func TestRoundTripBothWays(t *testing.T) {
	fromClient := make(chan protocol.Message, 16)
	srv := newServer(t, func(_ *wsconn.Conn, m protocol.Message) error {
		fromClient <- m
		return nil
	})
	ws := srv.dial(t)
	server := srv.conn(t)
	client := wsconn.New(ws, discard)
	fromServer := make(chan protocol.Message, 16)
	clientRun := make(chan error, 1)
	go func() {
		clientRun <- client.Run(context.Background(), func(m protocol.Message) error {
			fromServer <- m
			return nil
		})
	}()

	msgs := []protocol.Message{
		protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent, Agent: &protocol.AgentInfo{Hostname: "kassa"}},
		protocol.Offer{SDP: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"},
		protocol.Candidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", SDPMid: ptr("0"), SDPMLineIndex: ptr[uint16](0)},
		protocol.End{By: protocol.ByCustomer, Reason: "stopped"},
	}
	for _, m := range msgs {
		t.Run("to server "+m.Type(), func(t *testing.T) {
			if err := client.Send(m); err != nil {
				t.Fatalf("client Send: %v", err)
			}
			select {
			case got := <-fromClient:
				if !reflect.DeepEqual(got, m) {
					t.Errorf("server got %#v, want %#v", got, m)
				}
			case <-time.After(wait):
				t.Fatal("server did not receive the message")
			}
		})
		t.Run("to client "+m.Type(), func(t *testing.T) {
			if err := server.Send(m); err != nil {
				t.Fatalf("server Send: %v", err)
			}
			select {
			case got := <-fromServer:
				if !reflect.DeepEqual(got, m) {
					t.Errorf("client got %#v, want %#v", got, m)
				}
			case <-time.After(wait):
				t.Fatal("client did not receive the message")
			}
		})
	}

	client.Close()
	select {
	case err := <-clientRun:
		if !errors.Is(err, wsconn.ErrClosed) {
			t.Errorf("client Run = %v, want ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("client Run did not return after Close")
	}
	if err := srv.runResult(t); err == nil {
		t.Error("server Run returned nil after the peer closed")
	}
}

// Regression: Run used to close the connection as soon as the handler
// returned an error, dropping the final message a handler had just queued
// with Finish (a refusal the customer never saw). Repeated because the
// failure was a race between the reader and the writer.
func TestFinishThenHandlerErrorDeliversFinalMessage(t *testing.T) {
	errDone := errors.New("handler done")
	final := protocol.Error{Code: protocol.ErrWrongCode, Message: "last words"}
	srv := newServer(t, func(c *wsconn.Conn, m protocol.Message) error {
		c.Finish(final)
		return errDone
	})
	for i := range 20 {
		ws := srv.dial(t)
		srv.conn(t)
		send(t, ws, protocol.Join{Code: "123456789"})
		if got := recv(t, ws); !reflect.DeepEqual(got, final) {
			t.Fatalf("round %d: got %#v, want %#v", i, got, final)
		}
		err := expectClosed(t, ws)
		if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Errorf("round %d: close = %v, want a normal close frame", i, err)
		}
		if err := srv.runResult(t); !errors.Is(err, errDone) {
			t.Errorf("round %d: Run = %v, want the handler's error", i, err)
		}
	}
}

// A second Finish (the hub's Shutdown racing a handler's own refusal, or a
// console ending the session while the agent answers consent) must not
// throw away the first final message, which is already queued: "signaling
// messages are never dropped".
func TestSecondFinishKeepsFirstFinalMessage(t *testing.T) {
	first := protocol.End{By: protocol.ByTechnician, Reason: "technician_ended"}
	srv := newServer(t, func(c *wsconn.Conn, m protocol.Message) error {
		c.Finish(first)
		c.Finish(protocol.Error{Code: protocol.ErrInternal, Message: "relay shutting down"})
		return errors.New("done")
	})
	ws := srv.dial(t)
	srv.conn(t)
	send(t, ws, protocol.Join{Code: "1"})
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v; want the first final message", err)
	}
	if got, _ := protocol.Decode(b); !reflect.DeepEqual(got, first) {
		t.Fatalf("got %s, want %#v", b, first)
	}
	expectClosed(t, ws)
	srv.runResult(t)
}

func TestMalformedMessagesAreAnsweredAndSkipped(t *testing.T) {
	handled := make(chan protocol.Message, 16)
	srv := newServer(t, func(_ *wsconn.Conn, m protocol.Message) error {
		handled <- m
		return nil
	})
	ws := srv.dial(t)
	srv.conn(t)
	cases := []struct {
		name string
		kind int
		data string
	}{
		{"not json", websocket.TextMessage, `hello`},
		{"truncated", websocket.TextMessage, `{"type":"join"`},
		{"unknown type", websocket.TextMessage, `{"type":"shutdown","data":{}}`},
		{"unknown field", websocket.TextMessage, `{"type":"join","data":{"code":"1","admin":true}}`},
		{"trailing data", websocket.TextMessage, `{"type":"join","data":{"code":"1"}} {}`},
		{"binary frame", websocket.BinaryMessage, `{"type":"join","data":{"code":"1"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := ws.WriteMessage(tc.kind, []byte(tc.data)); err != nil {
				t.Fatal(err)
			}
			got, ok := recv(t, ws).(protocol.Error)
			if !ok || got.Code != protocol.ErrBadMessage {
				t.Fatalf("answer = %#v, want an Error %s", got, protocol.ErrBadMessage)
			}
			// Still usable: the next good message reaches the handler, and
			// the bad one never did.
			want := protocol.Join{Code: tc.name}
			send(t, ws, want)
			select {
			case m := <-handled:
				if !reflect.DeepEqual(m, want) {
					t.Fatalf("handler got %#v, want %#v", m, want)
				}
			case <-time.After(wait):
				t.Fatal("connection unusable after a bad message")
			}
		})
	}
	ws.Close()
	srv.runResult(t)
}

func TestMessageSizeLimit(t *testing.T) {
	// An offer whose envelope is exactly n bytes long.
	offerOfSize := func(t *testing.T, n int) []byte {
		empty, err := protocol.Encode(protocol.Offer{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := protocol.Encode(protocol.Offer{SDP: strings.Repeat("a", n-len(empty))})
		if err != nil || len(b) != n {
			t.Fatalf("built %d bytes (%v), want %d", len(b), err, n)
		}
		return b
	}
	cases := []struct {
		name       string
		size       int
		wantClosed bool
	}{
		{"at the limit", protocol.MaxMessageBytes, false},
		{"over the limit", protocol.MaxMessageBytes + 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			handled := make(chan protocol.Message, 1)
			srv := newServer(t, func(_ *wsconn.Conn, m protocol.Message) error {
				handled <- m
				return nil
			})
			ws := srv.dial(t)
			srv.conn(t)
			if err := ws.WriteMessage(websocket.TextMessage, offerOfSize(t, tc.size)); err != nil {
				t.Fatal(err)
			}
			if !tc.wantClosed {
				select {
				case m := <-handled:
					if o, ok := m.(protocol.Offer); !ok || len(o.SDP) == 0 {
						t.Fatalf("handler got %#v", m)
					}
				case <-time.After(wait):
					t.Fatal("message at the limit not delivered")
				}
				ws.Close()
				srv.runResult(t)
				return
			}
			err := expectClosed(t, ws)
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code != websocket.CloseMessageTooBig {
				t.Errorf("close code %d, want %d", ce.Code, websocket.CloseMessageTooBig)
			}
			if err := srv.runResult(t); !errors.Is(err, websocket.ErrReadLimit) {
				t.Errorf("Run = %v, want the read limit error", err)
			}
			select {
			case m := <-handled:
				t.Errorf("oversized message reached the handler: %T", m)
			default:
			}
		})
	}
}

func TestCloseIsIdempotentAndEndsRun(t *testing.T) {
	srv := newServer(t, nil)
	ws := srv.dial(t)
	c := srv.conn(t)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close() }()
	}
	wg.Wait()
	c.Close()
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed after Close")
	}
	if err := srv.runResult(t); !errors.Is(err, wsconn.ErrClosed) {
		t.Errorf("Run = %v, want ErrClosed", err)
	}
	if err := expectClosed(t, ws); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("peer saw %v, want a normal close", err)
	}
	if err := c.Send(protocol.Renegotiate{}); !errors.Is(err, wsconn.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	// Finish on a closed connection must neither panic nor block.
	c.Finish(protocol.End{})
}

func TestRunEndsWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		// Hold the server side open until the client goes.
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				ws.Close()
				return
			}
		}
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := wsconn.New(ws, discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, func(protocol.Message) error { return nil }) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, wsconn.ErrClosed) {
			t.Errorf("Run = %v, want ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestSendAfterFinishRefused(t *testing.T) {
	srv := newServer(t, nil)
	ws := srv.dial(t)
	c := srv.conn(t)
	c.Finish(protocol.End{By: protocol.ByRelay})
	if err := c.Send(protocol.Renegotiate{}); !errors.Is(err, wsconn.ErrClosed) {
		t.Errorf("Send after Finish = %v, want ErrClosed", err)
	}
	if got := recv(t, ws); !reflect.DeepEqual(got, protocol.End{By: protocol.ByRelay}) {
		t.Errorf("got %#v, want the final End", got)
	}
	expectClosed(t, ws)
	srv.runResult(t)
}

// A peer that stops reading must cost the relay a disconnect, not a blocked
// goroutine: Send never waits, and once QueueLen messages pile up behind the
// full socket the connection is dropped.
func TestSlowPeerIsDisconnected(t *testing.T) {
	srv := newServer(t, nil)
	srv.dial(t) // never read from
	c := srv.conn(t)
	// Large messages fill the kernel's socket buffers quickly, so the
	// writer blocks and the queue behind it fills.
	big := protocol.Offer{SDP: strings.Repeat("x", 32<<10)}
	result := make(chan error, 1)
	sent := 0
	go func() {
		for range 5000 {
			if err := c.Send(big); err != nil {
				result <- err
				return
			}
			sent++
		}
		result <- nil
	}()
	select {
	case err := <-result:
		if !errors.Is(err, wsconn.ErrSlowPeer) {
			t.Fatalf("after %d sends: err = %v, want ErrSlowPeer", sent, err)
		}
		if sent < wsconn.QueueLen-2 {
			t.Errorf("disconnected after %d messages, before the queue (%d) was full", sent, wsconn.QueueLen)
		}
	case <-time.After(wait):
		t.Fatal("Send blocked on a peer that does not read")
	}
	select {
	case <-c.Done():
	case <-time.After(wait):
		t.Fatal("slow peer not disconnected")
	}
	if err := c.Send(protocol.Renegotiate{}); !errors.Is(err, wsconn.ErrClosed) {
		t.Errorf("Send after disconnect = %v, want ErrClosed", err)
	}
	srv.runResult(t)
}
