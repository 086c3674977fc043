package stream

import (
	"errors"
	"image"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

// busySource is a screen that changes on every capture (a band of noise
// rows moves down a row), so the encoder always has something to send.
// Stop makes further captures fail, as a screen that went away would.
type busySource struct {
	img   *image.RGBA
	noise []byte
	row   int

	stopped atomic.Bool
	mu      sync.Mutex
	times   []time.Time // when each successful capture was taken
}

func newBusySource(w, h, band int) *busySource {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(6, 40))
	noise := make([]byte, img.Stride*band)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	return &busySource{img: img, noise: noise}
}

func (s *busySource) Bounds() image.Rectangle { return s.img.Rect }
func (s *busySource) Close() error            { return nil }
func (s *busySource) Capture() (*image.RGBA, error) {
	if s.stopped.Load() {
		return nil, errors.New("test screen stopped")
	}
	clear(s.img.Pix)
	s.row = (s.row + 1) % (s.img.Rect.Dy() - len(s.noise)/s.img.Stride)
	copy(s.img.Pix[s.row*s.img.Stride:], s.noise)
	s.mu.Lock()
	s.times = append(s.times, time.Now())
	s.mu.Unlock()
	return s.img, nil
}

func (s *busySource) captures() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

// lossyLink is the receiver's first interceptor, so it sits nearest the
// wire: while on, it swallows every other incoming RTP packet before the
// receiver's NACK and TWCC interceptors see it, as a congested link
// would. The sender learns of it only through the receiver's feedback.
type lossyLink struct {
	interceptor.NoOp
	on atomic.Bool
	n  atomic.Int64
}

func (l *lossyLink) NewInterceptor(string) (interceptor.Interceptor, error) { return l, nil }

func (l *lossyLink) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := r.Read(b, a)
			if err != nil || !l.on.Load() || l.n.Add(1)%2 == 0 {
				return n, attr, err
			}
		}
	})
}

// frameLog records when the receiver got the last packet of each frame,
// and counts packets that did not ask for immediate playout.
type frameLog struct {
	mu      sync.Mutex
	times   []time.Time
	packets int
	delayed int
}

func (f *frameLog) arrivals() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.times...)
}

// receiveFrames reads recv's video track into a frameLog until the track
// ends; done is closed then.
func receiveFrames(recv *webrtc.PeerConnection) (log *frameLog, done chan struct{}) {
	log, done = &frameLog{}, make(chan struct{})
	recv.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		defer close(done)
		var id uint8
		for _, e := range r.GetParameters().HeaderExtensions {
			if e.URI == playoutDelayURI {
				id = uint8(e.ID)
			}
		}
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			var pd rtp.PlayoutDelayExtension
			zero := id != 0 && pd.Unmarshal(pkt.GetExtension(id)) == nil && pd == rtp.PlayoutDelayExtension{}
			log.mu.Lock()
			log.packets++
			if !zero {
				log.delayed++
			}
			if pkt.Marker {
				log.times = append(log.times, time.Now())
			}
			log.mu.Unlock()
		}
	})
	return log, done
}

// TestBitRateFollowsCongestion runs a real pion receiver on loopback. On a
// clean link GCC raises its estimate above the start and the encoder is
// retuned to it; when the link starts losing half the packets, the
// receiver's TWCC feedback shows the loss and the encoder's target falls,
// but never below minBitRate.
func TestBitRateFollowsCongestion(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	link := &lossyLink{}
	recv := newReceiver(t, link)
	defer recv.GracefulClose()
	_, readerDone := receiveFrames(recv)

	const start = 2_000_000
	src := newBusySource(640, 360, 40)
	toRecv := &trickle{add: recv.AddICECandidate}
	s, err := New(Config{AllowedNets: loopbackNets(t), Logger: testLogger(t), BitRate: start}, src, toRecv.push)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer s.Close()
	negotiate(t, s, recv, toRecv)

	began := time.Now()
	waitFor(t, 10*time.Second, "the encoder's rate to rise above the start", func() bool {
		return s.encoderRate.Load() >= start*(1+rateStep)
	})
	high := s.encoderRate.Load()
	t.Logf("clean link: encoder at %d bit/s after %v (GCC: %v)", high, time.Since(began).Round(time.Millisecond), s.bwe.GetStats())

	link.on.Store(true)
	began = time.Now()
	waitFor(t, 10*time.Second, "the encoder's rate to fall below half", func() bool {
		return s.encoderRate.Load() <= high/2
	})
	t.Logf("50%% loss: encoder at %d bit/s after %v (GCC: %v)", s.encoderRate.Load(), time.Since(began).Round(time.Millisecond), s.bwe.GetStats())
	time.Sleep(2 * time.Second) // the loss goes on; the floor must hold
	if r := s.encoderRate.Load(); r < minBitRate {
		t.Errorf("encoder rate %d fell below the floor %d", r, minBitRate)
	}

	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	_ = recv.GracefulClose()
	<-readerDone
	toRecv.check(t, "sender")
}

// annexBTypes lists the NAL unit types in an Annex-B byte stream, as
// OpenH264 writes it.
func annexBTypes(b []byte) []byte {
	var types []byte
	for i := 0; i+3 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			types = append(types, b[i+3]&0x1f)
			i += 3
		}
	}
	return types
}

// TestSetBitRateKeepsPFrames checks what retune relies on: OpenH264 takes a
// new bit rate at run time without a keyframe, and the frames that follow
// shrink to fit it.
func TestSetBitRateKeepsPFrames(t *testing.T) {
	src := newBusySource(640, 360, 40)
	s := &Sender{src: src, bitRate: defaultBitRate, fps: defaultMaxFPS, size: src.Bounds().Size()}
	frame := image.NewYCbCr(src.img.Rect, image.YCbCrSubsampleRatio420)
	enc, err := newPipeline(slog.New(slog.DiscardHandler), s.size, s.fps, s.bitRate)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.takeFull(true); err != nil {
		t.Fatal(err)
	}
	defer enc.close()
	// encode returns the mean size of n busy frames and whether any was
	// (or began) an IDR.
	encode := func(n int) (mean int, idr bool) {
		total := 0
		for range n {
			if err := s.grab(frame); err != nil {
				t.Fatal(err)
			}
			f, err := enc.full.Encode(frame, false)
			if err != nil {
				t.Fatal(err)
			}
			total += len(f.Data)
			for _, typ := range annexBTypes(f.Data) {
				idr = idr || typ == 5 || typ == 7
			}
		}
		return total / n, idr
	}
	encode(25) // the first keyframe and rate control's settling
	high, _ := encode(25)
	const lowRate = 300_000
	if err := enc.setTarget(lowRate); err != nil {
		t.Fatal(err)
	}
	low, idr := encode(25)
	t.Logf("mean frame at %d bit/s: %d B; at %d bit/s: %d B", defaultBitRate, high, lowRate, low)
	if idr {
		t.Error("SetBitRate brought a keyframe")
	}
	if low*2 > high {
		t.Errorf("frames at %d bit/s average %d B, not under half of %d B at %d bit/s", lowRate, low, high, defaultBitRate)
	}
}
