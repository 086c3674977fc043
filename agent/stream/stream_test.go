package stream

import (
	"encoding/binary"
	"fmt"
	"github.com/meekijk/meekijk/internal/pionlog"
	"image"
	"image/color"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

// solidSource is a 640x360 screen of one colour that counts captures.
type solidSource struct {
	img   *image.RGBA
	calls atomic.Int64
}

func newSolidSource(c color.RGBA) *solidSource {
	img := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return &solidSource{img: img}
}

func (s *solidSource) Bounds() image.Rectangle { return s.img.Rect }
func (s *solidSource) Close() error            { return nil }
func (s *solidSource) Capture() (*image.RGBA, error) {
	s.calls.Add(1)
	return s.img, nil
}

func loopbackNets(t *testing.T) []*net.IPNet {
	t.Helper()
	_, lo, err := net.ParseCIDR("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	return []*net.IPNet{lo}
}

func testLogger(t *testing.T) *slog.Logger {
	// pion warns about routine things (pings before pairs exist, streams
	// closing); keep quiet runs quiet.
	level := slog.LevelError
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// newReceiver plays the technician's browser: H.264 only, and held to
// loopback exactly like the Sender so the test never touches eth0 or
// multicasts mDNS. first are interceptors nearest the wire, ahead of
// pion's defaults.
func newReceiver(t *testing.T, first ...interceptor.Factory) *webrtc.PeerConnection {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: h264Codec(), PayloadType: h264PayloadType},
		webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	// As Chrome does: the Sender then marks its frames for playout at once.
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: playoutDelayURI},
		webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	for _, f := range first {
		ir.Add(f)
	}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	lo := loopbackNets(t)[0]
	se := webrtc.SettingEngine{LoggerFactory: pionlog.New(testLogger(t).With("peer", "receiver"))}
	se.SetIPFilter(lo.Contains)
	se.SetRemoteIPFilter(lo.Contains)
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// trickle stands in for the signalling channel: it holds candidates until
// the far side has its remote description, as a real relay must, and
// records every address so the test can prove it stayed on loopback.
type trickle struct {
	add func(webrtc.ICECandidateInit) error

	mu      sync.Mutex
	ready   bool
	pending []webrtc.ICECandidateInit
	addrs   []string
	errs    []error
}

func (q *trickle) push(c webrtc.ICECandidateInit) {
	q.mu.Lock()
	if cand, err := ice.UnmarshalCandidate(c.Candidate); err != nil {
		q.errs = append(q.errs, fmt.Errorf("parse %q: %w", c.Candidate, err))
	} else {
		q.addrs = append(q.addrs, cand.Address())
	}
	if !q.ready {
		q.pending = append(q.pending, c)
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	q.deliver(c)
}

func (q *trickle) open() {
	q.mu.Lock()
	q.ready = true
	p := q.pending
	q.pending = nil
	q.mu.Unlock()
	for _, c := range p {
		q.deliver(c)
	}
}

func (q *trickle) deliver(c webrtc.ICECandidateInit) {
	if err := q.add(c); err != nil {
		q.mu.Lock()
		q.errs = append(q.errs, err)
		q.mu.Unlock()
	}
}

// check fails the test unless every candidate was a loopback address and
// delivered cleanly.
func (q *trickle) check(t *testing.T, name string) {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, err := range q.errs {
		t.Errorf("%s candidates: %v", name, err)
	}
	for _, a := range q.addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			t.Errorf("%s gathered non-loopback candidate %q", name, a)
		}
	}
	t.Logf("%s candidates: %v", name, q.addrs)
}

// rtpStats is what the receiver saw.
type rtpStats struct {
	mu        sync.Mutex
	mime      string
	packets   int
	frames    int // packets with the marker bit: one per access unit
	keyframes int
	inIDR     bool
}

func (st *rtpStats) snapshot() (packets, frames, keyframes int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.packets, st.frames, st.keyframes
}

// hasIDR reports whether an H.264 RTP payload carries (the start of) an IDR
// slice or an SPS, which openh264 only emits in front of one.
func hasIDR(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case 5, 7:
		return true
	case 24: // STAP-A: 16-bit length-prefixed NAL units
		for p = p[1:]; len(p) > 2; {
			n := int(binary.BigEndian.Uint16(p))
			p = p[2:]
			if n == 0 || n > len(p) {
				return false
			}
			if nt := p[0] & 0x1f; nt == 5 || nt == 7 {
				return true
			}
			p = p[n:]
		}
	case 28: // FU-A: the header's low bits name the fragmented NAL type
		return len(p) > 1 && p[1]&0x1f == 5
	}
	return false
}

// negotiate runs offer, answer and trickled candidates between s and recv
// in-process, the way the relay would carry them, and returns the channel
// of receiver candidates for later checks.
func negotiate(t *testing.T, s *Sender, recv *webrtc.PeerConnection, toRecv *trickle) *trickle {
	t.Helper()
	toSender := &trickle{add: s.AddCandidate}
	recv.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			toSender.push(c.ToJSON())
		}
	})
	offer, err := s.Offer()
	if err != nil {
		t.Fatalf("Offer: %v", err)
	}
	if err := recv.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatalf("receiver: set offer: %v", err)
	}
	toRecv.open()
	answer, err := recv.CreateAnswer(nil)
	if err != nil {
		t.Fatalf("receiver: create answer: %v", err)
	}
	if err := recv.SetLocalDescription(answer); err != nil {
		t.Fatalf("receiver: set answer: %v", err)
	}
	if err := s.SetAnswer(answer.SDP); err != nil {
		t.Fatalf("SetAnswer: %v", err)
	}
	toSender.open()
	return toSender
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSenderStreamsToPeer(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	start := time.Now()

	recv := newReceiver(t)
	recvClosed := false
	defer func() {
		if !recvClosed {
			_ = recv.GracefulClose()
		}
	}()

	src := newSolidSource(color.RGBA{200, 30, 60, 255})
	toRecv := &trickle{add: recv.AddICECandidate}
	s, err := New(Config{
		AllowedNets: loopbackNets(t),
		Logger:      testLogger(t).With("peer", "sender"),
	}, src, toRecv.push)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer s.Close()

	var firstFrames atomic.Int32
	s.OnFirstFrame(func() { firstFrames.Add(1) })
	var states sync.Map
	s.OnState(func(st webrtc.PeerConnectionState) { states.Store(st, true) })

	stats := &rtpStats{}
	readerDone := make(chan struct{})
	var remote atomic.Pointer[webrtc.TrackRemote]
	recv.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		defer close(readerDone)
		remote.Store(tr)
		stats.mu.Lock()
		stats.mime = tr.Codec().MimeType
		stats.mu.Unlock()
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			stats.mu.Lock()
			stats.packets++
			stats.inIDR = stats.inIDR || hasIDR(pkt.Payload)
			if pkt.Marker {
				stats.frames++
				if stats.inIDR {
					stats.keyframes++
				}
				stats.inIDR = false
			}
			stats.mu.Unlock()
		}
	})
	toSender := negotiate(t, s, recv, toRecv)
	offer := recv.RemoteDescription().SDP

	waitFor(t, 10*time.Second, "10 RTP packets in 3 frames", func() bool {
		p, f, _ := stats.snapshot()
		return p >= 10 && f >= 3
	})
	t.Logf("media flowing %v after start", time.Since(start).Round(time.Millisecond))
	stats.mu.Lock()
	mime := stats.mime
	stats.mu.Unlock()
	if !strings.EqualFold(mime, webrtc.MimeTypeH264) {
		t.Errorf("receiver track codec %q, want %q", mime, webrtc.MimeTypeH264)
	}
	if !strings.Contains(offer, "packetization-mode=1") || !strings.Contains(offer, "42e01f") {
		t.Errorf("offer lacks the H.264 fmtp we register:\n%s", offer)
	}

	// A PLI must produce a fresh IDR: the encoder makes none on its own.
	_, _, kfBefore := stats.snapshot()
	tr := remote.Load()
	if err := recv.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}}); err != nil {
		t.Fatalf("receiver: send PLI: %v", err)
	}
	waitFor(t, 5*time.Second, "a keyframe after PLI", func() bool {
		_, _, kf := stats.snapshot()
		return kf > kfBefore
	})

	if n := firstFrames.Load(); n != 1 {
		t.Errorf("OnFirstFrame called %d times, want 1", n)
	}
	if n := s.FramesCaptured(); n <= 0 {
		t.Errorf("FramesCaptured() = %d, want > 0", n)
	}
	if _, ok := states.Load(webrtc.PeerConnectionStateConnected); !ok {
		t.Error("OnState never reported connected")
	}
	p, f, kf := stats.snapshot()
	t.Logf("received %d packets, %d frames, %d keyframes (%d before PLI); captured %d",
		p, f, kf, kfBefore, s.FramesCaptured())

	closeStart := time.Now()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(closeStart); d > time.Second {
		t.Errorf("Close took %v, want <= 1s", d)
	} else {
		t.Logf("Close took %v", d)
	}
	calls := src.calls.Load()
	time.Sleep(200 * time.Millisecond) // five frame intervals
	if n := src.calls.Load(); n != calls {
		t.Errorf("source captured %d more frames after Close", n-calls)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	toRecv.check(t, "sender")
	toSender.check(t, "receiver")

	recvClosed = true
	if err := recv.GracefulClose(); err != nil {
		t.Errorf("receiver close: %v", err)
	}
	select {
	case <-readerDone:
	case <-time.After(5 * time.Second):
		t.Error("receiver's track reader did not stop")
	}
}

func TestSenderIdleUntilConnected(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	src := newSolidSource(color.RGBA{0, 0, 255, 255})
	cands := &trickle{add: func(webrtc.ICECandidateInit) error { return nil }}
	s, err := New(Config{AllowedNets: loopbackNets(t), Logger: testLogger(t)}, src, cands.push)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var firstFrames atomic.Int32
	s.OnFirstFrame(func() { firstFrames.Add(1) })
	if _, err := s.Offer(); err != nil {
		t.Fatalf("Offer: %v", err)
	}
	// The encoder is built, and the first picture captured and encoded,
	// while the connection is still being set up; nothing more is read
	// of the screen before it is up.
	waitFor(t, 5*time.Second, "encoder built before the connection", s.encoderReady.Load)
	time.Sleep(300 * time.Millisecond) // several frame intervals at 30 fps
	if n := src.calls.Load(); n != 1 {
		t.Errorf("source captured %d frames with no connection, want the first picture's one", n)
	}

	start := time.Now()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v, want <= 1s", d)
	} else {
		t.Logf("Close took %v", d)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := src.calls.Load(); n != 1 {
		t.Errorf("source captured %d frames after Close", n-1)
	}
	if s.FramesCaptured() != 1 || firstFrames.Load() != 0 {
		t.Errorf("FramesCaptured=%d OnFirstFrame calls=%d, want 1 (prepared, never sent) and 0", s.FramesCaptured(), firstFrames.Load())
	}
	cands.check(t, "sender")
}

// paintedSource is a screen whose picture the test replaces, and which
// cannot tell when it changes (as GDI on Windows cannot).
type paintedSource struct {
	img   atomic.Pointer[image.RGBA]
	calls atomic.Int64
}

func newPaintedSource(c color.RGBA) *paintedSource {
	s := &paintedSource{}
	s.paint(c)
	return s
}

func (s *paintedSource) paint(c color.RGBA) { s.img.Store(newSolidSource(c).img) }

func (s *paintedSource) Bounds() image.Rectangle { return image.Rect(0, 0, 640, 360) }
func (s *paintedSource) Close() error            { return nil }
func (s *paintedSource) Capture() (*image.RGBA, error) {
	s.calls.Add(1)
	return s.img.Load(), nil
}

// TestPreparedPictureUnlessTheScreenChanged: the first picture, captured and
// encoded while the connection comes up, is what goes out once it is up
// when the screen still shows it, even from a source that cannot tell
// (compared pixel for pixel); when the screen changed meanwhile, the first
// picture sent is a capture taken after the connection.
func TestPreparedPictureUnlessTheScreenChanged(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, changed := range []bool{false, true} {
		t.Run(fmt.Sprintf("changed=%v", changed), func(t *testing.T) {
			recv := newReceiver(t)
			defer recv.Close()
			recv.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				for {
					if _, _, err := tr.ReadRTP(); err != nil {
						return
					}
				}
			})
			src := newPaintedSource(color.RGBA{20, 120, 200, 255})
			sent := make(chan time.Time, 1)
			toRecv := &trickle{add: recv.AddICECandidate}
			s, err := New(Config{AllowedNets: loopbackNets(t), Logger: testLogger(t),
				OnEncoded: func(_ []byte, captured time.Time) {
					select {
					case sent <- captured:
					default:
					}
				}}, src, toRecv.push)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer s.Close()
			waitFor(t, 5*time.Second, "the prepared capture", func() bool { return src.calls.Load() >= 1 })
			if changed {
				src.paint(color.RGBA{200, 120, 20, 255})
			}
			negotiate(t, s, recv, toRecv)
			var first time.Time
			select {
			case first = <-sent:
			case <-time.After(10 * time.Second):
				t.Fatal("no picture sent within 10 s")
			}
			s.mu.Lock()
			connected := s.connectedAt
			s.mu.Unlock()
			t.Logf("first picture captured %v before the connection was up", connected.Sub(first).Round(time.Millisecond))
			if prepared := first.Before(connected); prepared == changed {
				t.Errorf("first picture captured at %v, connection up at %v: prepared %v, want %v", first, connected, prepared, !changed)
			}
		})
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	src := newSolidSource(color.RGBA{})
	noop := func(webrtc.ICECandidateInit) {}
	if _, err := New(Config{}, nil, noop); err == nil {
		t.Error("New accepted a nil source")
	}
	if _, err := New(Config{}, src, nil); err == nil {
		t.Error("New accepted a nil onCandidate")
	}
	if _, err := New(Config{AllowedNets: []*net.IPNet{nil}}, src, noop); err == nil {
		t.Error("New accepted a nil AllowedNets entry")
	}
	tiny := &solidSource{img: image.NewRGBA(image.Rect(0, 0, 1, 1))}
	if _, err := New(Config{}, tiny, noop); err == nil {
		t.Error("New accepted a 1x1 source")
	}
}

// TestCloseFromOnState covers the documented promise that OnState may call
// Close: the callback runs on a pion goroutine that Close must not wait for.
func TestCloseFromOnState(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	recv := newReceiver(t)
	defer recv.GracefulClose()
	src := newSolidSource(color.RGBA{0, 255, 0, 255})
	toRecv := &trickle{add: recv.AddICECandidate}
	s, err := New(Config{AllowedNets: loopbackNets(t), Logger: testLogger(t)}, src, toRecv.push)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer s.Close()
	closed := make(chan error, 1)
	s.OnState(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			closed <- s.Close()
		}
	})
	negotiate(t, s, recv, toRecv)
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close from OnState: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close from OnState did not return")
	}
	calls := src.calls.Load()
	time.Sleep(100 * time.Millisecond)
	if n := src.calls.Load(); n != calls {
		t.Errorf("source captured %d frames after Close", n-calls)
	}
	toRecv.check(t, "sender")
}
