package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes one recording.
type Config struct {
	// UploadURL is the relay's chunk endpoint (https://relay/agent/recording);
	// chunk n goes to UploadURL/n.
	UploadURL string
	// Token is the bearer token the relay gave for this session.
	Token string
	// MaxChunkBytes is the relay's limit for one chunk; a cluster is cut
	// before it would grow past it.
	MaxChunkBytes int64
	// Width and Height are the picture's size, for the track header.
	Width, Height int
	// Chunk is how much video a chunk holds at most: what a crash may lose.
	// <= 0 means DefaultChunk.
	Chunk time.Duration
	// KeyEvery is how often a changing screen is asked for a keyframe, so
	// a seek decodes at most that much; <= 0 means DefaultKeyEvery.
	KeyEvery time.Duration
	Client   *http.Client
	Logger   *slog.Logger
}

const (
	// DefaultChunk: a crash loses at most about this much video.
	DefaultChunk = 4 * time.Second
	// DefaultKeyEvery: keyframes cost bytes in the live stream too, so
	// they come only this often, and only while the screen changes.
	DefaultKeyEvery = 20 * time.Second
	// frameQueue bounds the frames waiting for the recorder (2 s at 30
	// fps); beyond it frames are dropped and the recording waits for the
	// next keyframe, which it asks for.
	frameQueue = 60
	// chunkQueue bounds the chunks waiting for upload (about half a
	// minute of video); beyond it a chunk is dropped, logged, and a
	// keyframe asked for so what follows decodes.
	chunkQueue = 8
)

// ErrRefused is returned by Run when the relay refused the recording for
// good: its token is no longer valid, the session's limit was reached, or
// the session is over.
var ErrRefused = errors.New("record: the relay refused the recording")

// Recorder muxes the frames it is given and uploads the chunks. Frame
// and SetKeyRequester are safe from any goroutine; Run owns the muxer.
type Recorder struct {
	cfg    Config
	log    *slog.Logger
	frames chan frame
	// dropped is set when Frame found the queue full: the recorder skips
	// to the next keyframe.
	dropped atomic.Bool
	keyReq  atomic.Pointer[func()]
	// Uploaded counts the chunks the relay acknowledged.
	uploaded atomic.Int64
	bytes    atomic.Int64
}

type frame struct {
	data []byte
	at   time.Time
}

// New returns a Recorder; Run starts it.
func New(cfg Config) *Recorder {
	if cfg.Chunk <= 0 {
		cfg.Chunk = DefaultChunk
	}
	if cfg.KeyEvery <= 0 {
		cfg.KeyEvery = DefaultKeyEvery
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Recorder{cfg: cfg, log: cfg.Logger, frames: make(chan frame, frameQueue)}
}

// Frame hands the recorder one encoded frame. It copies data and never
// blocks: the live stream must not wait for the recording.
func (r *Recorder) Frame(data []byte, at time.Time) {
	select {
	case r.frames <- frame{bytes.Clone(data), at}:
	default:
		r.dropped.Store(true)
	}
}

// SetKeyRequester sets how the recorder asks the encoder for a keyframe
// (the running stream's RequestKeyFrame); sharing may restart with a new
// stream.
func (r *Recorder) SetKeyRequester(f func()) { r.keyReq.Store(&f) }

func (r *Recorder) requestKey() {
	if f := r.keyReq.Load(); f != nil && *f != nil {
		(*f)()
	}
}

// Uploaded reports the chunks and bytes the relay has stored.
func (r *Recorder) Uploaded() (chunks, bytes int64) { return r.uploaded.Load(), r.bytes.Load() }

// Run records until ctx ends, then closes the open cluster and uploads
// what is left, for at most drain. It returns ErrRefused (wrapped) when
// the relay refused the recording, and nil otherwise.
func (r *Recorder) Run(ctx context.Context, drain time.Duration) error {
	chunks := make(chan []byte, chunkQueue)
	upCtx, upCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer upCancel()
	var wg sync.WaitGroup
	var upErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		upErr = r.uploadAll(upCtx, chunks)
		if upErr != nil {
			upCancel()
		}
	}()
	err := r.mux(ctx, upCtx, chunks)
	close(chunks)
	// The last chunks get drain to arrive, then the uploader is stopped.
	stop := time.AfterFunc(drain, upCancel)
	wg.Wait()
	stop.Stop()
	if upErr != nil {
		return upErr
	}
	return err
}

// mux is the recorder's loop: frames into the muxer, chunks out to the
// uploader, a timer closing the cluster of an idle screen.
func (r *Recorder) mux(ctx, upCtx context.Context, chunks chan<- []byte) error {
	m := NewMuxer(r.cfg.Width, r.cfg.Height, r.cfg.Chunk, r.cfg.KeyEvery)
	tick := time.NewTicker(r.cfg.Chunk / 4)
	defer tick.Stop()
	send := func(cs ...[]byte) {
		for _, c := range cs {
			if c == nil {
				continue
			}
			select {
			case chunks <- c:
			default:
				r.log.Warn("record: upload too slow; a chunk is dropped", "bytes", len(c))
				r.requestKey()
			}
		}
	}
	waitKey := false
	r.requestKey()
	for {
		select {
		case <-ctx.Done():
			// The last cluster waits for room: it is what a clean stop
			// must not lose.
			c, err := m.Flush()
			if c != nil {
				select {
				case chunks <- c:
				case <-upCtx.Done():
				}
			}
			return err
		case <-upCtx.Done():
			return nil // the uploader gave up; Run reports why
		case now := <-tick.C:
			if !m.started {
				r.requestKey()
			}
			if m.Due(now) {
				c, err := m.Flush()
				if err != nil {
					return err
				}
				send(c)
			}
		case f := <-r.frames:
			if r.dropped.Swap(false) {
				// Frames were lost before this one: what follows
				// decodes only from a keyframe.
				waitKey = true
				r.requestKey()
			}
			if waitKey {
				if !isKeyframe(splitAnnexB(f.data)) {
					continue
				}
				waitKey = false
			}
			if int64(m.Pending()+len(f.data)) > r.cfg.MaxChunkBytes*9/10 && r.cfg.MaxChunkBytes > 0 {
				c, err := m.Flush()
				if err != nil {
					return err
				}
				send(c)
			}
			out, err := m.Add(f.data, f.at)
			if errors.Is(err, ErrNoKeyframe) {
				r.requestKey()
				continue
			}
			if err != nil {
				return err
			}
			send(out...)
			if m.KeyDue(f.at) {
				r.requestKey()
			}
		}
	}
}

// uploadAll sends chunks in order until the channel closes or ctx ends.
func (r *Recorder) uploadAll(ctx context.Context, chunks <-chan []byte) error {
	var seq int64
	for c := range chunks {
		if err := r.upload(ctx, seq, c); err != nil {
			if errors.Is(err, ErrRefused) {
				return err
			}
			r.log.Warn("record: chunk not stored", "seq", seq, "err", err)
			if ctx.Err() != nil {
				return nil
			}
			continue // the relay's numbering did not move: the next chunk takes this number
		}
		seq++
		r.uploaded.Add(1)
		r.bytes.Add(int64(len(c)))
	}
	return nil
}

// upload sends one chunk, trying again on network and server errors a few
// times before giving it up.
func (r *Recorder) upload(ctx context.Context, seq int64, c []byte) error {
	wait := 250 * time.Millisecond
	var err error
	for range 5 {
		var retry bool
		if retry, err = r.post(ctx, seq, c); err == nil || !retry {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
	return err
}

// post sends one chunk once; retry reports whether trying again may help.
func (r *Recorder) post(ctx context.Context, seq int64, c []byte) (retry bool, err error) {
	url := strings.TrimSuffix(r.cfg.UploadURL, "/") + "/" + strconv.FormatInt(seq, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(c))
	if err != nil {
		return false, fmt.Errorf("record: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	req.Header.Set("Content-Type", "video/x-matroska")
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return true, fmt.Errorf("record: upload chunk %d: %w", seq, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode/100 == 2:
		return false, nil
	case resp.StatusCode >= 500:
		return true, fmt.Errorf("record: upload chunk %d: %s", seq, resp.Status)
	}
	var problem struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &problem)
	switch problem.Error {
	case "no_token", "sealed", "recording_full":
		return false, fmt.Errorf("%w: %s", ErrRefused, problem.Message)
	}
	return false, fmt.Errorf("record: upload chunk %d: %s: %s", seq, resp.Status, problem.Message)
}
