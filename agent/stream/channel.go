package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/meekijk/meekijk/internal/datachannel"
)

// The data channel carries the technician's input, the clipboard, files and
// screen choices (internal/datachannel). The agent opens it, ordered and
// reliable, with the video: input must arrive in the order it was made, and
// a lost key-up would leave a key held.

// channelLabel names the data channel; the console accepts only this one.
const channelLabel = "meekijk"

// Flow control for Send: above sendHighWater bytes queued, SendWait waits
// until the queue drains below sendLowWater, so a large file never fills
// the agent's memory or delays input behind seconds of queued chunks.
const (
	sendHighWater = 1 << 20
	sendLowWater  = 256 << 10
)

// ErrChannelClosed is returned by Send before the channel opened or after
// it closed.
var ErrChannelClosed = errors.New("stream: data channel not open")

func (s *Sender) openChannel(onMessage func(datachannel.Message), onOpen func()) error {
	ordered := true
	dc, err := s.pc.CreateDataChannel(channelLabel, &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		return fmt.Errorf("stream: create data channel: %w", err)
	}
	s.dc = dc
	s.drained = make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(sendLowWater)
	dc.OnBufferedAmountLow(func() {
		select {
		case s.drained <- struct{}{}:
		default:
		}
	})
	dc.OnOpen(func() {
		s.log.Info("stream: data channel open")
		if onOpen != nil {
			onOpen()
		}
	})
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		if !msg.IsString {
			s.log.Warn("stream: binary data-channel message dropped", "bytes", len(msg.Data))
			return
		}
		m, err := datachannel.Decode(msg.Data)
		if err != nil {
			// The console runs in a browser we do not control: say what
			// was wrong, drop it, carry on.
			s.badMessages.Add(1)
			s.log.Warn("stream: data-channel message refused", "err", err)
			return
		}
		if onMessage != nil {
			onMessage(m)
		}
	})
	return nil
}

// Send sends m on the data channel without waiting.
func (s *Sender) Send(m datachannel.Message) error {
	if s.dc == nil || s.dc.ReadyState() != webrtc.DataChannelStateOpen {
		return ErrChannelClosed
	}
	b, err := datachannel.Encode(m)
	if err != nil {
		return err
	}
	if err := s.dc.SendText(string(b)); err != nil {
		return fmt.Errorf("stream: send %s: %w", m.Type(), err)
	}
	return nil
}

// SendWait sends m once the channel's queue is below its high-water mark,
// waiting for it to drain if need be, until ctx ends.
func (s *Sender) SendWait(ctx context.Context, m datachannel.Message) error {
	for s.dc != nil && s.dc.BufferedAmount() > sendHighWater {
		select {
		case <-s.drained:
		case <-time.After(100 * time.Millisecond):
			// OnBufferedAmountLow fires on crossing the threshold only;
			// a closed channel never crosses it.
			if s.dc.ReadyState() != webrtc.DataChannelStateOpen {
				return ErrChannelClosed
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Send(m)
}

// BadMessages counts data-channel messages refused as malformed.
func (s *Sender) BadMessages() int64 { return s.badMessages.Load() }
