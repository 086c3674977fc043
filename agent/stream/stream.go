// Package stream sends one screen to one peer over WebRTC as H.264.
//
// A Sender owns a PeerConnection with a single send-only video track. It
// does not capture or encode anything until ICE and DTLS are up, so an
// agent waiting for a technician costs no CPU.
package stream

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"image"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/meekijk/meekijk/agent/capture"
	"github.com/meekijk/meekijk/agent/stream/h264"
	"github.com/meekijk/meekijk/internal/datachannel"
	"github.com/meekijk/meekijk/internal/pionlog"
)

const (
	defaultBitRate = 3_000_000
	// defaultMaxFPS is the capture rate while the screen changes: 30, not
	// more, because a frame costs OpenH264 ~15 ms of CPU at 1080p however
	// small the change (BenchmarkEncoderSettings), and the browser and X
	// server share the agent's cores.
	defaultMaxFPS = 30

	// Congestion control moves the encoder's target inside this range.
	// The floor is high because pion's GCC recovers slowly from a false
	// alarm on a screen's traffic, which mostly sends far less than the
	// link carries: on overuse it drops to 0.85x the rate received
	// (typing: ~50 kbit/s), then climbs back by at most 8 % a second
	// (additively while the received rate stays near the one it fell
	// from), with no probing. One 69 ms scheduling stall on a loaded
	// two-core machine, on loopback, took a bench run from 7.6 to
	// 0.41 Mbit/s: some 40 s to climb back. Held at 1 Mbit/s, text
	// scrolls and typing still fit (the bench's scroll used
	// ~0.4 Mbit/s); only whole-screen motion waits for GCC to recover.
	// The ceiling is above what a
	// full-screen scroll of dense text asks at the frame-rate cap
	// (~25 kB a frame in BenchmarkEncoderSettings, 6 Mbit/s at
	// 30 frames/s).
	minBitRate = 1_000_000
	maxBitRate = 8_000_000
	// rateStep is the relative change in the estimate worth passing to
	// the encoder: each change re-configures OpenH264's rate control.
	rateStep = 0.1

	// playoutDelayURI names the RTP header extension by which a sender
	// bounds the receiver's playout delay (Chrome honours it).
	playoutDelayURI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

	// h264PayloadType matches what Chrome and Firefox commonly use for
	// constrained baseline with packetization-mode=1, which keeps the
	// answer's payload type identical to ours in the common case.
	h264PayloadType = 102
)

// h264Codec is constrained baseline (42e01f), the one H.264 profile every
// browser decodes in hardware or software. packetization-mode=1 lets pion
// fragment large NAL units (FU-A) instead of being limited to one per
// packet. It is a function, not a variable, because pion appends feedback
// entries to the capability it is given.
func h264Codec() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{
		MimeType:    webrtc.MimeTypeH264,
		ClockRate:   90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		// "nack" and "nack pli" are added by the default interceptors;
		// FIR is what some browsers send instead of PLI after a decoder
		// reset.
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "ccm", Parameter: "fir"}},
	}
}

// Config configures a Sender. The zero value is usable.
type Config struct {
	ICEServers []webrtc.ICEServer
	// RelayOnly gathers and uses relay (TURN) candidates only, so the
	// customer's own addresses never reach the other side.
	RelayOnly bool
	// AllowedNets, when non-empty, restricts both the local addresses the
	// agent gathers candidates on and the remote candidates it will talk
	// to (pion SettingEngine.SetIPFilter and SetRemoteIPFilter). When it
	// contains a loopback range, loopback candidates are included
	// (SetIncludeLoopbackCandidate(true)).
	AllowedNets []*net.IPNet
	// BitRate is the encoder's starting target in bits/s; <= 0 means
	// 3_000_000. From there pion's congestion control (GCC, from the
	// peer's transport-wide feedback) moves it between 1 and 8 Mbit/s
	// (or BitRate, if higher).
	BitRate int
	// MaxFPS caps the capture rate; <= 0 means 30.
	MaxFPS int
	// Logger receives the Sender's and pion's logging; nil discards it.
	Logger *slog.Logger
	// OnMessage receives each valid message from the console's data
	// channel, in order, on pion's goroutine: blocking it holds back the
	// next message (back-pressure for file chunks). Malformed messages are
	// logged and dropped.
	OnMessage func(datachannel.Message)
	// OnChannelOpen is called when the data channel opens.
	OnChannelOpen func()
	// OnEncoded, when set, receives every encoded frame sent (Annex B
	// H.264) with its capture time, on the frame goroutine: the recorder
	// (agent/record) copies it without a second encode. It must not
	// block, and must copy data, which is reused after it returns.
	OnEncoded func(data []byte, captured time.Time)
	// StageTimes logs, for every picture sent after a change, when it was
	// captured and how long capture, encoding and sending took: the
	// agent's share of glass-to-glass latency, which the benchmark
	// (bench/) lines up with its paints and the browser's frame times.
	StageTimes bool
}

// Sender streams one capture.Source to one peer. Its methods are safe for
// concurrent use.
type Sender struct {
	log         *slog.Logger
	src         capture.Source
	pc          *webrtc.PeerConnection
	track       *webrtc.TrackLocalStaticSample
	onCandidate func(webrtc.ICECandidateInit)
	// bwe is pion's send-side bandwidth estimate for pc; the frame loop
	// polls it and retunes the encoder.
	bwe cc.BandwidthEstimator
	// onEncoded is Config.OnEncoded.
	onEncoded func([]byte, time.Time)
	// stageTimes is Config.StageTimes.
	stageTimes bool

	bitRate int
	fps     int
	// size is what the encoder is built for: the source's size rounded
	// down to even, since 4:2:0 H.264 wants whole chroma blocks.
	size image.Point

	// ctx is cancelled by Close, or when the connection fails for good,
	// to stop the frame loop between frames.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// keyFrame is set by the RTCP reader and consumed by the frame loop,
	// so the encoders are only ever touched from one goroutine (OpenH264
	// is not safe for concurrent use).
	keyFrame atomic.Bool
	frames   atomic.Int64
	// encoderRate is the bit rate the encoder was last given, written by
	// the frame loop only.
	encoderRate atomic.Int64

	dc          *webrtc.DataChannel
	drained     chan struct{} // a token when the channel's queue drained
	badMessages atomic.Int64

	// connected is closed when the connection first comes up: the frame
	// loop, started by New, builds its encoder meanwhile and captures
	// nothing before it.
	connected   chan struct{}
	connectOnce sync.Once
	// encoderReady is set once the frame loop has built its encoder.
	encoderReady atomic.Bool

	mu           sync.Mutex
	connectedAt  time.Time
	onFirstFrame func()
	onState      func(webrtc.PeerConnectionState)

	closeOnce sync.Once
	closeErr  error
}

// New builds the PeerConnection with one sendonly H.264 video track
// (webrtc.TrackLocalStaticSample, MimeTypeH264) fed from src. It captures
// nothing until the connection is up.
//
// onCandidate receives each local ICE candidate as it is gathered (trickle
// ICE), possibly before Offer has returned, so the signalling side must be
// able to hold candidates until the offer has been sent. The end of
// gathering is not reported. The Sender does not close src.
func New(cfg Config, src capture.Source, onCandidate func(webrtc.ICECandidateInit)) (*Sender, error) {
	if src == nil {
		return nil, errors.New("stream: nil capture source")
	}
	if onCandidate == nil {
		return nil, errors.New("stream: nil onCandidate: trickle ICE needs somewhere to send candidates")
	}
	if slices.Contains(cfg.AllowedNets, nil) {
		return nil, errors.New("stream: nil entry in AllowedNets")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.BitRate <= 0 {
		cfg.BitRate = defaultBitRate
	}
	if cfg.MaxFPS <= 0 {
		cfg.MaxFPS = defaultMaxFPS
	}
	b := src.Bounds()
	size := image.Pt(b.Dx()&^1, b.Dy()&^1)
	if size.X <= 0 || size.Y <= 0 {
		return nil, fmt.Errorf("stream: source bounds %v too small to encode", b)
	}

	api, bwes, err := newAPI(cfg, log)
	if err != nil {
		return nil, err
	}
	policy := webrtc.ICETransportPolicyAll
	if cfg.RelayOnly {
		policy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: cfg.ICEServers, ICETransportPolicy: policy})
	if err != nil {
		return nil, fmt.Errorf("stream: new peer connection: %w", err)
	}
	var bwe cc.BandwidthEstimator
	select {
	case bwe = <-bwes:
	default:
		_ = pc.Close()
		return nil, errors.New("stream: congestion control was not set up")
	}
	track, err := webrtc.NewTrackLocalStaticSample(h264Codec(), "video", "screen")
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("stream: new track: %w", err)
	}
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{
		Direction: webrtc.RTPTransceiverDirectionSendonly,
	})
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("stream: add video transceiver: %w", err)
	}

	s := &Sender{
		log:         log,
		src:         src,
		pc:          pc,
		track:       track,
		onCandidate: onCandidate,
		bwe:         bwe,
		onEncoded:   cfg.OnEncoded,
		stageTimes:  cfg.StageTimes,
		bitRate:     cfg.BitRate,
		fps:         cfg.MaxFPS,
		size:        size,
		connected:   make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.openChannel(cfg.OnMessage, cfg.OnChannelOpen); err != nil {
		_ = pc.Close()
		return nil, err
	}
	pc.OnICECandidate(s.handleCandidate)
	pc.OnConnectionStateChange(s.handleState)

	s.wg.Add(1)
	go s.readRTCP(tr.Sender())
	s.wg.Add(1)
	go s.sendFrames()
	return s, nil
}

// newAPI assembles pion with only H.264, send-side congestion control and
// the ICE restrictions the agent needs: customers' networks are not ours
// to probe. The channel yields the bandwidth estimator of the one
// PeerConnection the API is made for, once that is created.
func newAPI(cfg Config, log *slog.Logger) (*webrtc.API, <-chan cc.BandwidthEstimator, error) {
	lf := pionlog.New(log)

	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: h264Codec(),
		PayloadType:        h264PayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, fmt.Errorf("stream: register H.264: %w", err)
	}
	ir := &interceptor.Registry{}
	// GCC first: interceptors added later wrap it, so the TWCC sequence
	// number is already in each packet when GCC notes its departure.
	//
	// The pacer is pion's no-op one. Its leaky-bucket pacer sends at
	// 1.5x the estimate from an unbounded queue: a 1080p keyframe of
	// dense text (550 kB) spent 1.15 s in it at 3 Mbit/s, against 61 us
	// in the no-op pacer (BenchmarkPacerKeyframe), and every frame after
	// it would wait in that queue: the stale frames sendFrames is built
	// to avoid. The encoder's own rate control, retuned from the
	// estimate, keeps the average in bounds.
	bwes := make(chan cc.BandwidthEstimator, 1)
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(cfg.BitRate),
			gcc.SendSideBWEMinBitrate(minBitRate),
			gcc.SendSideBWEMaxBitrate(max(maxBitRate, cfg.BitRate)),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
			gcc.WithLoggerFactory(lf),
		)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("stream: congestion control: %w", err)
	}
	ccf.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) {
		select {
		case bwes <- e:
		default: // one PeerConnection per API; never reached
		}
	})
	ir.Add(ccf)
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: playoutDelayURI},
		webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, fmt.Errorf("stream: register playout-delay extension: %w", err)
	}
	ir.Add(&zeroPlayoutDelay{})
	// Sequence numbers for the peer's transport-wide feedback, then
	// NACK retransmission, receiver/sender reports and the TWCC
	// generator; registered after the codec because they add their RTCP
	// feedback to it.
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, ir); err != nil {
		return nil, nil, fmt.Errorf("stream: register TWCC header extension: %w", err)
	}
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(m, ir,
		webrtc.WithInterceptorLoggerFactory(lf)); err != nil {
		return nil, nil, fmt.Errorf("stream: register interceptors: %w", err)
	}

	se := webrtc.SettingEngine{LoggerFactory: lf}
	// pion would otherwise accept data-channel messages up to 1 GiB.
	se.SetSCTPMaxMessageSize(datachannel.MaxFrameBytes)
	// Browsers hide host addresses behind mDNS names we do not resolve,
	// so the working pair is usually peer-reflexive; pion's default wait
	// before accepting such pairs would add a second to every connect.
	se.SetPrflxAcceptanceMinWait(0)
	se.SetHostAcceptanceMinWait(0)
	// A media path silent for 3 s is disconnected, for 9 s failed (pion's
	// defaults: 5 s and 30 s). A failed path is restarted (agent/app's
	// link handling) as soon as the relay is reachable, well within the
	// session's grace period.
	se.SetICETimeouts(3*time.Second, 6*time.Second, time.Second)
	// mDNS would multicast onto the customer's LAN.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(cfg.AllowedNets) > 0 {
		nets := slices.Clone(cfg.AllowedNets)
		allowed := func(ip net.IP) bool {
			return slices.ContainsFunc(nets, func(n *net.IPNet) bool { return n.Contains(ip) })
		}
		se.SetIPFilter(allowed)
		se.SetRemoteIPFilter(allowed)
		// pion skips loopback interfaces unless asked, whatever the
		// filter says.
		if slices.ContainsFunc(nets, func(n *net.IPNet) bool { return n.IP.IsLoopback() }) {
			se.SetIncludeLoopbackCandidate(true)
		}
	}

	return webrtc.NewAPI(
		webrtc.WithMediaEngine(m),
		webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se),
	), bwes, nil
}

// zeroPlayoutDelay marks every outgoing video packet with a playout delay
// of zero, when the peer accepted the extension. A browser otherwise
// holds each frame in its jitter buffer to smooth playback: for the
// screen's counter that was 73 ms of the 85 ms glass-to-glass median
// (BENCHMARKS.md, before this change). A technician steering a cursor
// wants each picture at once, not evenly spaced ones; with the delay
// capped at zero Chrome renders a frame as soon as it is decoded.
type zeroPlayoutDelay struct{ interceptor.NoOp }

func (z *zeroPlayoutDelay) NewInterceptor(string) (interceptor.Interceptor, error) { return z, nil }

func (*zeroPlayoutDelay) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == playoutDelayURI && e.ID > 0 && e.ID < 256 {
			id = uint8(e.ID)
		}
	}
	if id == 0 {
		return w
	}
	ext, err := rtp.PlayoutDelayExtension{}.Marshal()
	if err != nil { // zero delays are always valid
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if err := h.SetExtension(id, ext); err != nil {
			return 0, fmt.Errorf("stream: set playout delay: %w", err)
		}
		return w.Write(h, payload, a)
	})
}

// Offer creates the SDP offer and sets it as the local description, which
// starts candidate gathering.
func (s *Sender) Offer() (sdp string, err error) {
	offer, err := s.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("stream: create offer: %w", err)
	}
	if err := s.pc.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("stream: set local description: %w", err)
	}
	return offer.SDP, nil
}

// SetAnswer applies the peer's SDP answer.
func (s *Sender) SetAnswer(sdp string) error {
	err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
	if err != nil {
		return fmt.Errorf("stream: set answer: %w", err)
	}
	return nil
}

// AddCandidate adds a remote ICE candidate. It must follow SetAnswer.
func (s *Sender) AddCandidate(c webrtc.ICECandidateInit) error {
	if err := s.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("stream: add candidate: %w", err)
	}
	return nil
}

// OnFirstFrame sets f to be called once, after the first encoded frame was
// written to the track. Set it before the connection comes up. f runs on
// the frame goroutine: it must not block, and must not call Close.
func (s *Sender) OnFirstFrame(f func()) {
	s.mu.Lock()
	s.onFirstFrame = f
	s.mu.Unlock()
}

// OnState sets f to be called on every PeerConnection state change. Calls
// come from pion's goroutines, may overlap, and the final ones may arrive
// after Close has returned. f may call Close.
func (s *Sender) OnState(f func(webrtc.PeerConnectionState)) {
	s.mu.Lock()
	s.onState = f
	s.mu.Unlock()
}

// RequestKeyFrame makes the next frame a keyframe, as a peer's PLI does:
// the recorder cuts its chunks at keyframes.
func (s *Sender) RequestKeyFrame() { s.keyFrame.Store(true) }

// FramesCaptured reports how many frames the source has delivered.
func (s *Sender) FramesCaptured() int64 { return s.frames.Load() }

// Close stops capturing and closes the PeerConnection, waiting for the
// Sender's goroutines. It is safe to call more than once; later calls
// return the first call's result.
func (s *Sender) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		// GracefulClose also waits for pion's own goroutines, so nothing
		// of the connection outlives Close.
		if err := s.pc.GracefulClose(); err != nil {
			s.closeErr = fmt.Errorf("stream: close peer connection: %w", err)
		}
		s.wg.Wait()
	})
	return s.closeErr
}

func (s *Sender) handleCandidate(c *webrtc.ICECandidate) {
	if c == nil { // end of gathering
		return
	}
	s.onCandidate(c.ToJSON())
}

func (s *Sender) handleState(st webrtc.PeerConnectionState) {
	s.log.Info("stream: connection state", "state", st.String())
	switch st {
	case webrtc.PeerConnectionStateConnected:
		s.connectOnce.Do(func() {
			s.mu.Lock()
			s.connectedAt = time.Now()
			s.mu.Unlock()
			close(s.connected)
		})
	case webrtc.PeerConnectionStateClosed:
		s.cancel()
		// A failed connection keeps its frame loop: its owner either
		// restarts ICE (RestartOffer), and the picture goes on, or
		// closes the Sender.
	}
	s.mu.Lock()
	f := s.onState
	s.mu.Unlock()
	if f != nil {
		f(st)
	}
}

// readRTCP drains the sender's RTCP, which pion's interceptors (NACK,
// reports) need anyway, and turns PLI and FIR into a keyframe request.
// It ends when the PeerConnection closes.
func (s *Sender) readRTCP(sender *webrtc.RTPSender) {
	defer s.wg.Done()
	// RTPSender.ReadRTCP would also fail on a malformed packet; reading
	// raw keeps that from ending the loop.
	buf := make([]byte, 1500)
	for {
		n, _, err := sender.Read(buf)
		if errors.Is(err, io.ErrShortBuffer) {
			continue // the oversized packet is dropped, the stream lives on
		}
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			s.log.Debug("stream: bad RTCP packet", "err", err)
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.log.Debug("stream: keyframe requested", "by", fmt.Sprintf("%T", p))
				s.keyFrame.Store(true)
			}
		}
	}
}

// sendFrames is the capture, convert, encode, send loop. The encoder is
// created here so its cgo state lives and dies on this goroutine. New
// starts it, so the encoder is built (~200 ms of CPU at 1080p) while the
// offer, ICE and DTLS take their round trips, not after: that was half of
// the time from Allow to the first frame (bench: "Allow to first frame:
// the steps"). So are the first capture and its keyframe (prepareFirst);
// the next capture waits for the connection.
//
// It never sends a stale frame: the picture prepared before the
// connection goes out only if the screen has not changed since, and
// nothing on the way can hold a second one. Capture, conversion, encoding and WriteSample run one after
// another on this goroutine through a single frame buffer, so the screen
// is read only once the previous picture has left for the socket. The
// ticker's channel holds at most one tick and drops those that fall due
// while the loop works, so after a slow frame the next capture happens at
// once and takes the screen as it is then. Below WriteSample, pion's path
// (interceptors, GCC's no-op pacer, SRTP, the UDP socket) writes
// synchronously and queues nothing. When encoding falls behind, the frame
// rate drops, never the freshness (TestNoStaleFrames).
func (s *Sender) sendFrames() {
	defer s.wg.Done()

	frame := image.NewYCbCr(image.Rectangle{Max: s.size}, image.YCbCrSubsampleRatio420)
	built := time.Now()
	enc, err := newPipeline(s.log, s.size, s.fps, s.bitRate)
	if err != nil {
		s.log.Error("stream: start encoder", "err", err)
		return
	}
	defer enc.close()
	s.encoderRate.Store(int64(s.bitRate))
	s.encoderReady.Store(true)
	s.log.Info("stream: encoder ready", "took", time.Since(built))
	// The first picture is captured and encoded while ICE and DTLS take
	// their round trips: the first touch of the capture's and the
	// encoders' buffers costs 130-280 ms in a fresh process (page faults;
	// the first grab of a 1080p screen took 130-280 ms where the next take
	// 4 ms), which came after the connection before. It goes out only if
	// the screen has not changed since, so no stale picture leaves.
	first, firstAt, firstSum := s.prepareFirst(frame, enc)
	select {
	case <-s.connected:
	case <-s.ctx.Done():
		return
	}

	interval := time.Second / time.Duration(s.fps)

	// OpenH264 keeps refining a changed picture for about a second of
	// further frames (a keyframe overshoots its budget, then skipped frames
	// and quality steps follow); after that an unchanged frame still costs
	// ~14 ms of CPU for ~65 bytes. So the loop encodes for refine ticks
	// after the last change, then idles until the screen changes or the
	// browser asks for a keyframe.
	refine := s.fps * 3 / 2
	var (
		last       time.Time
		sent       bool
		idle       int       // ticks since the screen last changed
		lastErr    string    // logged failures repeat every tick; log changes only
		lastGrab   time.Time // the last capture, changed or not
		lastChange time.Time // the last capture that found a change
		lastSize   = s.size  // the picture size last sent
	)
	fail := func(what string, err error) {
		if msg := err.Error(); msg != lastErr {
			lastErr = msg
			s.log.Warn("stream: "+what, "err", err)
		}
	}
	// write sends a picture encoded from the capture at grabbed; false
	// means the sender is closing.
	write := func(f encoded, grabbed time.Time) bool {
		if f.size != lastSize {
			s.log.Debug("stream: picture size", "width", f.size.X, "height", f.size.Y)
			lastSize = f.size
		}
		now := time.Now()
		d := interval
		if sent {
			d = now.Sub(last)
		}
		// pion advances the RTP timestamp by Duration after this sample,
		// so timestamps trail capture times by one frame; the browser
		// only cares about their spacing.
		err := s.track.WriteSample(media.Sample{Data: f.Data, Duration: d})
		if s.onEncoded != nil {
			s.onEncoded(f.Data, grabbed)
		}
		if err != nil {
			if s.ctx.Err() != nil {
				return false
			}
			fail("write sample", err)
			return true
		}
		last = now
		lastErr = ""
		if !sent {
			sent = true
			s.firstFrame(len(f.Data), f.size)
		}
		return true
	}
	if len(first.Data) > 0 {
		if s.stillShows(frame, firstSum) {
			lastGrab, lastChange = firstAt, firstAt
			if !write(first, firstAt) {
				return
			}
		} else {
			// The screen moved on: the loop's first picture replaces
			// it, and must be a keyframe as the prepared one was.
			s.keyFrame.Store(true)
		}
	}
	for {
		if !s.awaitFrame(interval, idle <= refine || s.keyFrame.Load(), lastGrab, lastChange, last, fail) {
			return
		}
		lastGrab = time.Now()
		err := s.grab(frame)
		grabbed := time.Now()
		switch {
		case errors.Is(err, capture.ErrUnchanged):
			// frame still holds the last picture.
			if idle++; idle > refine && !s.keyFrame.Load() && lastGrab.Sub(last) < idleKeepAlive {
				continue
			}
		case err != nil:
			fail("capture", err)
			continue
		default:
			idle = 0
			lastChange = lastGrab
		}
		s.retune(enc)
		f, size, err := enc.encode(frame, lastGrab, idle == 0, s.keyFrame.Swap(false))
		if err != nil {
			fail("encode", err)
			continue
		}
		if len(f.Data) == 0 {
			// Rate control skipped the frame; the next sample's
			// duration covers the gap.
			continue
		}
		coded := time.Now()
		if !write(encoded{f, size}, lastGrab) {
			return
		}
		if s.stageTimes && idle == 0 {
			s.log.Info("stream: picture times", "captured_us", lastGrab.UnixMicro(),
				"capture_us", grabbed.Sub(lastGrab).Microseconds(), "encode_us", coded.Sub(grabbed).Microseconds(),
				"send_us", time.Since(coded).Microseconds(), "bytes", len(f.Data))
		}
	}
}

// encoded is a picture as the pipeline made it, with its size.
type encoded struct {
	h264.Frame
	size image.Point
}

// prepareFirst captures and encodes the first picture, a keyframe, before
// the connection is up, and says when it was captured and the sum of its
// pixels (pictureSum). It returns an empty picture when it could not; the
// loop then starts as it would have.
func (s *Sender) prepareFirst(frame *image.YCbCr, enc *pipeline) (encoded, time.Time, uint64) {
	at := time.Now()
	if err := s.grab(frame); err != nil {
		return encoded{}, time.Time{}, 0
	}
	f, size, err := enc.encode(frame, at, true, true)
	if err != nil || !f.IDR {
		s.keyFrame.Store(true)
		return encoded{}, time.Time{}, 0
	}
	return encoded{f, size}, at, pictureSum(frame)
}

// stillShows reports whether the screen still shows the prepared picture,
// whose pixels sum to sum. X DAMAGE reports drawing, not changed pixels:
// a window redrawn on its Expose event (the agent's own indicator is
// mapped at Allow) damages the screen without changing it. The bench's
// timeline showed the prepared picture thrown away and 55-70 ms spent on
// a new keyframe after the connection was up. So when the source saw
// drawing, or cannot tell, the screen is grabbed into frame (4 ms at
// 1080p) and compared; a picture that differs stays in frame for the
// loop.
func (s *Sender) stillShows(frame *image.YCbCr, sum uint64) bool {
	if changed, ok, err := capture.WaitChange(s.src, 0); ok && err == nil && !changed {
		return true
	}
	switch err := s.grab(frame); {
	case errors.Is(err, capture.ErrUnchanged):
		return true
	case err != nil:
		return false
	}
	return pictureSum(frame) == sum
}

// pictureSeed keys pictureSum for the process's life.
var pictureSeed = maphash.MakeSeed()

// pictureSum is a 64-bit hash of a frame's three planes: two pictures with
// the same sum are taken as the same (a false match, about one in 2^64,
// would send a picture ~0.2 s old that the next change replaces).
func pictureSum(frame *image.YCbCr) uint64 {
	var h maphash.Hash
	h.SetSeed(pictureSeed)
	h.Write(frame.Y)
	h.Write(frame.Cb)
	h.Write(frame.Cr)
	return h.Sum64()
}

// idleCheck bounds how long the frame loop sleeps on an unchanged screen,
// so it sees a stop or a keyframe request in time.
const idleCheck = 100 * time.Millisecond

// idleKeepAlive spaces the frames an unchanged screen still sends. Chrome
// asks for a key frame when no frame came for 3 s; answering that costs
// a full key frame (tens of ms of CPU, kilobytes) where an unchanged
// frame costs about 65 bytes.
const idleKeepAlive = 2 * time.Second

// awaitFrame waits until the frame loop should capture, and reports false
// when the Sender stops first. Captures come every interval while the
// encoder refines a recent change (refining). A source that can tell when
// its screen changes (X11 damage) is captured the moment it does, rather
// than at the next tick, which is most of the latency a sparse change
// (a typed key, a clicked button) would otherwise wait; changed frames
// still come no closer than interval, the frame rate cap. Other sources
// are captured on the tick and compared.
func (s *Sender) awaitFrame(interval time.Duration, refining bool, lastGrab, lastChange, lastSent time.Time, fail func(string, error)) bool {
	sleep := func(d time.Duration) bool {
		if d <= 0 {
			return s.ctx.Err() == nil
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-s.ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for {
		limit := idleCheck
		if refining {
			limit = max(time.Until(lastGrab.Add(interval)), 0)
		}
		changed, ok, err := capture.WaitChange(s.src, limit)
		switch {
		case !ok:
			return sleep(time.Until(lastGrab.Add(interval)))
		case err != nil:
			fail("wait for screen changes", err)
			return sleep(interval)
		case s.ctx.Err() != nil:
			return false
		case changed:
			return sleep(time.Until(lastChange.Add(interval)))
		case refining:
			return true
		}
		// Idle and unchanged: look again, unless a keyframe is wanted or
		// the browser needs a sign of life.
		if s.keyFrame.Load() || time.Since(lastSent) >= idleKeepAlive {
			return true
		}
	}
}

// retune hands the congestion controller's estimate to the encoder when it
// moved by rateStep or more since the encoder last heard, clamped to what
// suits screen content. It runs on the frame goroutine, between encodes:
// OpenH264's SetOption, like ForceIntraFrame, is not safe to call during
// one. OpenH264 applies a new rate from the next frame on without
// a keyframe (TestSetBitRateKeepsPFrames).
func (s *Sender) retune(enc *pipeline) {
	cur := int(s.encoderRate.Load())
	want := min(max(s.bwe.GetTargetBitrate(), minBitRate), max(maxBitRate, s.bitRate))
	if diff := want - cur; diff == 0 || float64(max(diff, -diff)) < rateStep*float64(cur) {
		return
	}
	if err := enc.setTarget(want); err != nil {
		s.log.Warn("stream: set bit rate", "bps", want, "err", err)
		return
	}
	s.encoderRate.Store(int64(want))
	s.log.Debug("stream: bit rate", "from", cur, "to", want)
}

func (s *Sender) firstFrame(bytes int, size image.Point) {
	s.mu.Lock()
	f := s.onFirstFrame
	since := time.Since(s.connectedAt)
	s.mu.Unlock()
	s.log.Info("stream: first frame sent",
		"width", size.X, "height", size.Y, "bytes", bytes, "after_connect", since)
	if f != nil {
		f()
	}
}

// grab captures a frame into dst; capture.ErrUnchanged means dst still
// holds the previous one. A screen smaller than the encoder's fixed size (a
// resolution change) is an error: it would need a new encoder and a
// renegotiation. FramesCaptured counts changed frames only.
func (s *Sender) grab(dst *image.YCbCr) error {
	if err := capture.Grab(s.src, dst); err != nil {
		return err
	}
	s.frames.Add(1)
	return nil
}
