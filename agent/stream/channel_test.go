package stream

import (
	"bytes"
	"context"
	"image/color"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/meekijk/meekijk/internal/datachannel"
)

// The data channel carries console messages to OnMessage, in order, drops
// malformed ones, and carries the agent's messages back, with flow control.
func TestDataChannelBothWays(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	recv := newReceiver(t)
	defer func() { _ = recv.GracefulClose() }()

	got := make(chan datachannel.Message, 16)
	opened := make(chan struct{})
	toRecv := &trickle{add: recv.AddICECandidate}
	s, err := New(Config{
		AllowedNets:   loopbackNets(t),
		Logger:        testLogger(t).With("peer", "sender"),
		OnMessage:     func(m datachannel.Message) { got <- m },
		OnChannelOpen: func() { close(opened) },
	}, newSolidSource(color.RGBA{10, 20, 30, 255}), toRecv.push)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Send(datachannel.Clipboard{Text: "too early"}); err != ErrChannelClosed {
		t.Errorf("Send before open: %v, want ErrChannelClosed", err)
	}

	var fromAgent atomic.Int64
	consoleSide := make(chan *webrtc.DataChannel, 1)
	recv.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() != channelLabel {
			t.Errorf("channel label %q", dc.Label())
		}
		dc.OnOpen(func() { consoleSide <- dc })
		dc.OnMessage(func(webrtc.DataChannelMessage) { fromAgent.Add(1) })
	})
	negotiate(t, s, recv, toRecv)
	var dc *webrtc.DataChannel
	select {
	case dc = <-consoleSide:
	case <-time.After(10 * time.Second):
		t.Fatal("data channel did not open")
	}
	select {
	case <-opened:
	case <-time.After(5 * time.Second):
		t.Fatal("OnChannelOpen not called")
	}

	for _, raw := range []string{
		`{"type":"pointer","data":{"action":"move","x":10,"y":20,"videoWidth":100,"videoHeight":100}}`,
		`{"type":"pointer","data":{"action":"move","x":1e9,"y":20,"videoWidth":100,"videoHeight":100}}`, // outside the video
		`not json`,
		`{"type":"key","data":{"action":"down","code":"KeyA","key":"a"}}`,
	} {
		if err := dc.SendText(raw); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"pointer", "key"} {
		select {
		case m := <-got:
			if m.Type() != want {
				t.Errorf("got %s, want %s", m.Type(), want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s message", want)
		}
	}
	if n := s.BadMessages(); n != 2 {
		t.Errorf("BadMessages = %d, want 2", n)
	}

	// Flow control: 4 MiB of chunks go out without the queue growing past
	// the high-water mark plus one chunk.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	chunk := bytes.Repeat([]byte{'x'}, datachannel.MaxChunkBytes)
	var peak uint64
	for i := range 4 << 20 / datachannel.MaxChunkBytes {
		if err := s.SendWait(ctx, datachannel.FileChunk{ID: "f-1", Offset: int64(i * len(chunk)), Data: chunk}); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		peak = max(peak, s.dc.BufferedAmount())
	}
	if limit := uint64(sendHighWater + 2*datachannel.MaxChunkMessageBytes); peak > limit {
		t.Errorf("queue peaked at %d bytes, want <= %d", peak, limit)
	}
	const chunks = 4 << 20 / datachannel.MaxChunkBytes
	waitFor(t, 20*time.Second, "every chunk at the console", func() bool { return fromAgent.Load() == chunks })
}
