package stream

import (
	"slices"
	"sort"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestNoStaleFrames asks for 1000 frames/s of a 1280x720 screen that
// changes a little on every capture (little enough that rate control,
// budgeting for 1000 frames/s, need not skip frames), far more than this
// machine can encode, to a real pion receiver on loopback. The loop must
// then run at the encoder's pace, capturing only when the previous frame
// has gone (captures well below the ticks), and each frame must reach the
// receiver within a few loop times of its capture. When the screen stops
// (captures fail), only the frame in hand (and one still in the
// receiver's stack) may arrive: a queue between capture and socket would
// deliver its backlog there. Every packet must also ask the receiver to
// play it out at once.
func TestNoStaleFrames(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	recv := newReceiver(t)
	defer recv.GracefulClose()
	frames, readerDone := receiveFrames(recv)

	src := newBusySource(1280, 720, 2)
	toRecv := &trickle{add: recv.AddICECandidate}
	const fps = 1000
	s, err := New(Config{AllowedNets: loopbackNets(t), Logger: testLogger(t), MaxFPS: fps}, src, toRecv.push)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer s.Close()
	negotiate(t, s, recv, toRecv)

	waitFor(t, 10*time.Second, "the first frame", func() bool { return len(frames.arrivals()) > 0 })
	began := time.Now()
	time.Sleep(1500 * time.Millisecond)
	src.stopped.Store(true)
	stopped := time.Now()
	time.Sleep(500 * time.Millisecond)

	caps, arr := src.captures(), frames.arrivals()
	window := stopped.Sub(began)
	n := 0
	for _, c := range caps {
		if c.After(began) {
			n++
		}
	}
	rate := float64(n) / window.Seconds()
	t.Logf("%.0f captures/s of %d asked; %d frames received", rate, fps, len(arr))
	if rate > fps/2 {
		t.Fatalf("%.0f captures/s: encoding kept up with %d frames/s, so this test shows nothing", rate, fps)
	}

	// Age of each frame at the receiver, bounded above: arrival less the
	// second newest capture before it. The frame carries the newest one
	// or, when the loop had already captured the next picture by the
	// time the packet was read, the second newest. A queue of q frames
	// would add q loop times.
	var ages []time.Duration
	late := 0
	for _, a := range arr {
		if a.After(stopped) {
			late++
		}
		if a.Before(began) || a.After(stopped) {
			continue
		}
		i := sort.Search(len(caps), func(i int) bool { return caps[i].After(a) })
		if i > 1 {
			ages = append(ages, a.Sub(caps[i-2]))
		}
	}
	if len(ages) < 10 {
		t.Fatalf("only %d frames arrived in %v", len(ages), window)
	}
	slices.Sort(ages)
	perFrame := window / time.Duration(n)
	p50, worst := ages[len(ages)/2], ages[len(ages)-1]
	t.Logf("capture to arrival at most: p50 %v, max %v; loop time per frame %v; %d frames after the stop", p50, worst, perFrame, late)
	// The frame in hand when the screen stopped, and the one before it
	// if it is still in the receiver's stack; a queue holds more.
	if late > 2 {
		t.Errorf("%d frames arrived after the screen stopped, want at most 2", late)
	}
	if p50 > 3*perFrame {
		t.Errorf("median frame age up to %v, over three loop times (%v): frames wait in a queue", p50, perFrame)
	}

	frames.mu.Lock()
	packets, delayed := frames.packets, frames.delayed
	frames.mu.Unlock()
	if delayed > 0 {
		t.Errorf("%d of %d packets lacked a zero playout delay", delayed, packets)
	}

	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	_ = recv.GracefulClose()
	<-readerDone
}
