package stream

import (
	"fmt"
	"image"
	"image/color"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

const churnCycles = 200

// gradient paints a small screen, different for each cycle.
func gradient(seed int) *solidSource {
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for y := range 64 {
		for x := range 96 {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 2), uint8(y * 4), uint8(seed), 255})
		}
	}
	return &solidSource{img: img}
}

// churnCycle connects a Sender to a receiving peer on loopback, waits for a
// frame to be sent, and closes both: the agent first, the technician
// first, or both at once. pion closes a peer connection when the other
// side's DTLS says goodbye, so each side is also closed explicitly.
func churnCycle(t *testing.T, i int) {
	recv := newReceiver(t)
	toRecv := &trickle{add: recv.AddICECandidate}
	s, err := New(Config{AllowedNets: loopbackNets(t), Logger: testLogger(t)}, gradient(i), toRecv.push)
	if err != nil {
		_ = recv.GracefulClose()
		t.Fatalf("cycle %d: New: %v", i, err)
	}
	closeSender := func() {
		if err := s.Close(); err != nil {
			t.Errorf("cycle %d: Close: %v", i, err)
		}
	}
	closeReceiver := func() {
		if err := recv.GracefulClose(); err != nil {
			t.Errorf("cycle %d: receiver close: %v", i, err)
		}
	}
	defer func() {
		switch i % 3 {
		case 0:
			closeSender()
			closeReceiver()
		case 1:
			closeReceiver()
			closeSender()
		default:
			var both sync.WaitGroup
			both.Go(closeSender)
			both.Go(closeReceiver)
			both.Wait()
		}
	}()
	framed := make(chan struct{})
	s.OnFirstFrame(func() { close(framed) })
	connected := make(chan struct{})
	recv.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	negotiate(t, s, recv, toRecv)
	for _, w := range []struct {
		what string
		ch   chan struct{}
	}{{"receiver connected", connected}, {"first frame sent", framed}} {
		select {
		case <-w.ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("cycle %d: no %s after 10s", i, w.what)
		}
	}
}

// An agent is connected to and left by many technicians over a day: 200
// full connects, each with a frame sent, leave no pion or Sender goroutine
// behind. A connect is mostly waiting (ICE checks, the first frame tick,
// pion's close), so a few run at once to keep the test short.
func TestChurnLeavesNoPeerConnections(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const atOnce = 8
	start := time.Now()
	next := make(chan int)
	var workers sync.WaitGroup
	for range atOnce {
		workers.Go(func() {
			for i := range next {
				t.Run(fmt.Sprintf("cycle-%03d", i), func(t *testing.T) { churnCycle(t, i) })
			}
		})
	}
	for i := range churnCycles {
		if t.Failed() {
			break
		}
		next <- i
	}
	close(next)
	workers.Wait()
	t.Logf("%d connects, %d at a time, in %v", churnCycles, atOnce, time.Since(start).Round(time.Millisecond))
}
