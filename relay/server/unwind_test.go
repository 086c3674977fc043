package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// A relay that cannot start leaves nothing behind: no goroutine, no TURN
// listener, no open store. The HTTP port is taken, so New succeeds (TURN
// listening, hub built) and Run fails at its listen.
func TestRunUnwindsWhenItsPortIsTaken(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // pgtest keeps a thread for its server
	taken := takenPort(t)
	defer taken.Close()
	srv, err := New(context.Background(), Config{Addr: taken.Addr().String(), DataDir: t.TempDir(), Version: "test",
		TURN: TURNConfig{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", PublicIP: net.IPv4(127, 0, 0, 1)}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp := srv.turn.Addrs()
	err = srv.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Run: %v, want the listen error", err)
	}
	// Its TURN ports are free again.
	pc, err := net.ListenPacket("udp", udp.String())
	if err != nil {
		t.Errorf("TURN UDP port still held: %v", err)
	} else {
		pc.Close()
	}
	ln, err := net.Listen("tcp", tcp.String())
	if err != nil {
		t.Errorf("TURN TCP port still held: %v", err)
	} else {
		ln.Close()
	}
	if _, err := srv.store.Categories(context.Background()); err == nil {
		t.Error("the store is still open")
	}
}

// New unwinds too: a TURN TCP port taken fails New with the UDP listener
// closed and the store closed.
func TestNewUnwindsWhenTURNCannotListen(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // pgtest keeps a thread for its server
	taken := takenPort(t)
	defer taken.Close()
	dir := t.TempDir()
	_, err := New(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, Version: "test",
		TURN: TURNConfig{UDPAddr: "127.0.0.1:0", TCPAddr: taken.Addr().String(), PublicIP: net.IPv4(127, 0, 0, 1)}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "TURN") {
		t.Fatalf("New: %v, want the TURN error", err)
	}
	// The store was closed: a relay starts on the same data at once.
	srv, err := New(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, Version: "test"},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("second New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Run(ctx); err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}

// takenPort holds a loopback TCP port, for a relay that must fail to get it.
func takenPort(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
