// Package recording keeps the session recordings customers agreed to: it
// takes the agent's chunks over HTTPS, stores them under the data
// directory, seals each chunk's SHA-256 in the audit chain as it arrives
// and the whole file's when the session ends, serves the file for
// playback, checks files against the chain, and deletes them when the
// desk's retention has passed (docs/audit.md, "Recordings").
//
// The agent's container (agent/record) is a Matroska file whose chunks
// are appended as they come: chunk 0 the header, every later one a
// Cluster that starts at a keyframe. A file is therefore playable up to
// its last stored chunk whatever happens to the agent.
package recording

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meekijk/meekijk/internal/audit"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/privfile"
	"github.com/meekijk/meekijk/internal/store"
)

// Store is what the service needs of internal/store.
type Store interface {
	OpenRecording(ctx context.Context, sessionID int64, tokenSHA256 []byte) error
	Recording(ctx context.Context, sessionID int64) (store.Recording, error)
	RecordingByToken(ctx context.Context, tokenSHA256 []byte) (store.Recording, error)
	Recordings(ctx context.Context) ([]store.Recording, error)
	ExpiredRecordings(ctx context.Context, t time.Time) ([]store.Recording, error)
	AddRecordingChunk(ctx context.Context, sessionID, seq, offset, size int64, sum []byte) error
	SealRecording(ctx context.Context, sessionID int64, sum []byte) error
	DeleteRecording(ctx context.Context, sessionID int64, reason string) error
	SessionAudit(ctx context.Context, sessionID int64) ([]audit.Entry, error)
	RecordingSettings(ctx context.Context) (store.RecordingSettings, error)
	UnsealedRecordingsOfEndedSessions(ctx context.Context, before time.Time) ([]store.Recording, error)
}

// Limits bound what one agent may store.
type Limits struct {
	// MaxChunk bounds one upload; <= 0 means DefaultMaxChunk.
	MaxChunk int64
	// MaxSession bounds one session's file; <= 0 means DefaultMaxSession.
	MaxSession int64
}

const (
	// DefaultMaxChunk: a 4 s chunk at the encoder's 8 Mbit/s ceiling is
	// 4 MB; a keyframe-heavy one may be twice that.
	DefaultMaxChunk = 16 << 20
	// DefaultMaxSession: about 8 hours at 3 Mbit/s... of a busy screen;
	// an idle one costs a small fraction.
	DefaultMaxSession = 4 << 30
)

// UploadPath is where agents send chunks: POST UploadPath/{seq} with the
// token as a bearer credential.
const UploadPath = "/agent/recording"

// Service keeps recordings in a directory.
type Service struct {
	dir    string
	store  Store
	log    *slog.Logger
	limits Limits
	now    func() time.Time

	mu    sync.Mutex            // guards locks
	locks map[int64]*sync.Mutex // per session: one chunk or seal at a time
}

// New returns a service keeping files in dir, which the first recording
// creates (0700): a desk that never records has none.
func New(dir string, st Store, limits Limits, log *slog.Logger) *Service {
	if limits.MaxChunk <= 0 {
		limits.MaxChunk = DefaultMaxChunk
	}
	if limits.MaxSession <= 0 {
		limits.MaxSession = DefaultMaxSession
	}
	return &Service{dir: dir, store: st, log: log, limits: limits, now: time.Now, locks: map[int64]*sync.Mutex{}}
}

// Settings are the desk's recording rules.
func (s *Service) Settings(ctx context.Context) (store.RecordingSettings, error) {
	return s.store.RecordingSettings(ctx)
}

// Active reports whether the session has a recording that is not sealed.
func (s *Service) Active(ctx context.Context, sessionID int64) (bool, error) {
	rec, err := s.store.Recording(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && rec.SealedAt.IsZero(), err
}

// MaxChunkBytes bounds one upload.
func (s *Service) MaxChunkBytes() int64 { return s.limits.MaxChunk }

// SealAfter is how long after its session ended a recording is sealed:
// the agent uploads its last chunk as it stops, after the session's end
// reached it.
const SealAfter = 5 * time.Second

// Run seals the recordings of sessions that ended SealAfter ago or more
// (also those a killed relay left open), every sealEvery, and deletes
// recordings past the desk's retention every expireEvery, until ctx ends.
func (s *Service) Run(ctx context.Context, sealEvery, expireEvery time.Duration) {
	seal := time.NewTicker(sealEvery)
	defer seal.Stop()
	expire := time.NewTicker(expireEvery)
	defer expire.Stop()
	s.expire(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-seal.C:
			s.sealEnded(ctx)
		case <-expire.C:
			s.expire(ctx)
		}
	}
}

func (s *Service) sealEnded(ctx context.Context) {
	open, err := s.store.UnsealedRecordingsOfEndedSessions(ctx, s.now().Add(-SealAfter))
	if err != nil {
		s.log.Error("recordings: list unsealed", "err", err)
	}
	for _, rec := range open {
		if err := s.Seal(ctx, rec.SessionID); err != nil {
			s.log.Error("recordings: seal", "session", rec.SessionID, "err", err)
		}
	}
}

func (s *Service) expire(ctx context.Context) {
	set, err := s.store.RecordingSettings(ctx)
	if err != nil {
		s.log.Error("recordings: settings", "err", err)
		return
	}
	n, err := s.Expire(ctx, time.Duration(set.RetentionDays)*24*time.Hour)
	if err != nil {
		s.log.Error("recordings: retention", "err", err)
	}
	if n > 0 {
		s.log.Info("recordings deleted at the end of their retention", "count", n, "days", set.RetentionDays)
	}
}

// Path is the file of a session's recording.
func (s *Service) Path(sessionID int64) string {
	return filepath.Join(s.dir, strconv.FormatInt(sessionID, 10)+".mkv")
}

// lock takes the session's lock and returns its release.
func (s *Service) lock(sessionID int64) func() {
	s.mu.Lock()
	l := s.locks[sessionID]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[sessionID] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Open starts a session's recording and returns the upload token the
// agent presents with every chunk. Only its hash is stored.
func (s *Service) Open(ctx context.Context, sessionID int64) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("recording: token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return "", fmt.Errorf("recording: directory: %w", err)
	}
	// Made by hand or by an older build, it may be wider.
	if err := os.Chmod(s.dir, 0o700); err != nil {
		return "", fmt.Errorf("recording: directory: %w", err)
	}
	if err := privfile.Create(s.Path(sessionID)); err != nil {
		return "", fmt.Errorf("recording: %w", err)
	}
	sum := sha256.Sum256([]byte(token))
	if err := s.store.OpenRecording(ctx, sessionID, sum[:]); err != nil {
		_ = os.Remove(s.Path(sessionID))
		return "", err
	}
	return token, nil
}

// Upload refusals, as the agent sees them (error codes in the JSON body).
var (
	errNoToken     = httpx.Errorf(http.StatusUnauthorized, "no_token", "no or unknown recording token")
	errSealed      = httpx.Errorf(http.StatusGone, "sealed", "the recording is sealed: the session is over")
	errBadSeq      = httpx.Errorf(http.StatusBadRequest, "bad_seq", "the chunk number is not a number")
	errNoLength    = httpx.Errorf(http.StatusLengthRequired, "no_length", "a chunk needs its Content-Length")
	errNotMKV      = httpx.Errorf(http.StatusBadRequest, "not_matroska", "the chunk is neither a Matroska header (first) nor a cluster (later)")
	errEmpty       = httpx.Errorf(http.StatusBadRequest, "empty", "an empty chunk")
	errSessionFull = httpx.Errorf(http.StatusRequestEntityTooLarge, "recording_full", "the recording reached its size limit")
)

// The EBML IDs a chunk must start with.
var (
	ebmlHeaderID = []byte{0x1a, 0x45, 0xdf, 0xa3}
	clusterID    = []byte{0x1f, 0x43, 0xb6, 0x75}
)

// ServeUpload stores one chunk: POST UploadPath/{seq}, Authorization:
// Bearer token, the chunk as the body. A chunk already stored (a retry
// whose answer was lost) is acknowledged again without being stored twice.
func (s *Service) ServeUpload(w http.ResponseWriter, r *http.Request) {
	if err := s.upload(r); err != nil {
		httpx.WriteError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) upload(r *http.Request) error {
	ctx := store.WithActor(r.Context(), store.Actor{Name: "agent", IP: httpx.ClientIP(r)})
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return errNoToken
	}
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || seq < 0 {
		return errBadSeq
	}
	if r.ContentLength < 0 {
		return errNoLength
	}
	if r.ContentLength > s.limits.MaxChunk {
		return httpx.Errorf(http.StatusRequestEntityTooLarge, "chunk_too_large",
			"a chunk may hold at most %d bytes", s.limits.MaxChunk)
	}
	sum := sha256.Sum256([]byte(token))
	rec, err := s.store.RecordingByToken(ctx, sum[:])
	if errors.Is(err, store.ErrNotFound) {
		return errNoToken
	}
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.limits.MaxChunk))
	if err != nil {
		return httpx.Errorf(http.StatusBadRequest, "short_body", "reading the chunk: %v", err)
	}
	unlock := s.lock(rec.SessionID)
	defer unlock()
	// Read again under the lock: another upload may have moved it on.
	if rec, err = s.store.Recording(ctx, rec.SessionID); err != nil {
		return err
	}
	switch {
	case !rec.SealedAt.IsZero():
		return errSealed
	case seq < rec.Chunks:
		return nil // stored before; the agent missed the answer
	case seq > rec.Chunks:
		return httpx.Errorf(http.StatusConflict, "out_of_order", "chunk %d sent; chunk %d is next", seq, rec.Chunks)
	case len(body) == 0:
		return errEmpty
	case seq == 0 && !bytes.HasPrefix(body, ebmlHeaderID), seq > 0 && !bytes.HasPrefix(body, clusterID):
		return errNotMKV
	case rec.Bytes+int64(len(body)) > s.limits.MaxSession:
		return errSessionFull
	}
	if err := s.appendChunk(rec, body); err != nil {
		return err
	}
	chunkSum := sha256.Sum256(body)
	if err := s.store.AddRecordingChunk(ctx, rec.SessionID, seq, rec.Bytes, int64(len(body)), chunkSum[:]); err != nil {
		// Unrecorded bytes do not stay in the file: the next try
		// writes them again at the same offset.
		if terr := os.Truncate(s.Path(rec.SessionID), rec.Bytes); terr != nil {
			s.log.Error("recording: undo an unrecorded chunk", "session", rec.SessionID, "err", terr)
		}
		return err
	}
	return nil
}

// appendChunk writes b at the recording's recorded end and syncs it, so
// that what the chain says was stored is on disk.
func (s *Service) appendChunk(rec store.Recording, b []byte) error {
	f, err := os.OpenFile(s.Path(rec.SessionID), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("recording: open session %d: %w", rec.SessionID, err)
	}
	defer f.Close()
	// Bytes beyond the recorded end are a chunk whose record failed.
	if err := f.Truncate(rec.Bytes); err != nil {
		return fmt.Errorf("recording: session %d: %w", rec.SessionID, err)
	}
	if _, err := f.WriteAt(b, rec.Bytes); err != nil {
		return fmt.Errorf("recording: write session %d: %w", rec.SessionID, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("recording: sync session %d: %w", rec.SessionID, err)
	}
	return nil
}

// Seal completes a session's recording, if it has one still open: the
// file's SHA-256 goes into the chain and no chunk is taken after it.
func (s *Service) Seal(ctx context.Context, sessionID int64) error {
	unlock := s.lock(sessionID)
	defer func() {
		unlock()
		s.mu.Lock()
		delete(s.locks, sessionID)
		s.mu.Unlock()
	}()
	rec, err := s.store.Recording(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !rec.SealedAt.IsZero() {
		return nil
	}
	sum, size, err := hashFile(s.Path(sessionID), rec.Bytes)
	if err != nil {
		return err
	}
	if size != rec.Bytes {
		return fmt.Errorf("recording: session %d: file holds %d of the %d bytes recorded", sessionID, size, rec.Bytes)
	}
	return s.store.SealRecording(ctx, sessionID, sum)
}

// hashFile hashes the first limit bytes of path.
func hashFile(path string, limit int64) ([]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("recording: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, limit))
	if err != nil {
		return nil, 0, fmt.Errorf("recording: read %s: %w", path, err)
	}
	return h.Sum(nil), n, nil
}

// Problem is a recording that does not match what the chain says.
type Problem struct {
	SessionID int64
	// Chunk is the first chunk whose bytes differ, or -1 when the file
	// as a whole is at fault (missing, wrong size, wrong final hash).
	Chunk  int64
	Detail string
}

func (p Problem) String() string {
	if p.Chunk >= 0 {
		return fmt.Sprintf("recording of session %d: chunk %d: %s", p.SessionID, p.Chunk, p.Detail)
	}
	return fmt.Sprintf("recording of session %d: %s", p.SessionID, p.Detail)
}

// chunkRecord is a session.recording_chunk entry's detail.
type chunkRecord struct {
	Seq    int64  `json:"seq"`
	Offset int64  `json:"offset"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Verify checks every kept recording against the hashes in the audit
// chain (which `relay audit verify` checks in its own right): each
// chunk's bytes at its offset, and the sealed file's hash.
func (s *Service) Verify(ctx context.Context) ([]Problem, error) {
	recs, err := s.store.Recordings(ctx)
	if err != nil {
		return nil, err
	}
	var out []Problem
	for _, rec := range recs {
		ps, err := s.verifyOne(ctx, rec)
		if err != nil {
			return out, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

func (s *Service) verifyOne(ctx context.Context, rec store.Recording) ([]Problem, error) {
	bad := func(chunk int64, format string, args ...any) []Problem {
		return []Problem{{SessionID: rec.SessionID, Chunk: chunk, Detail: fmt.Sprintf(format, args...)}}
	}
	data, err := os.ReadFile(s.Path(rec.SessionID))
	if err != nil {
		return bad(-1, "cannot read the file: %v", err), nil
	}
	entries, err := s.store.SessionAudit(ctx, rec.SessionID)
	if err != nil {
		return nil, err
	}
	var end int64
	for _, e := range entries {
		if e.Event != "session."+store.EventRecordingChunk {
			continue
		}
		c, err := chunkOf(e)
		if err != nil {
			return bad(-1, "audit entry %d: %v", e.Seq, err), nil
		}
		if c.Offset+c.Bytes > int64(len(data)) {
			return bad(c.Seq, "the file ends at byte %d, before the chunk's end at %d", len(data), c.Offset+c.Bytes), nil
		}
		got := sha256.Sum256(data[c.Offset : c.Offset+c.Bytes])
		if hex.EncodeToString(got[:]) != c.SHA256 {
			return bad(c.Seq, "SHA-256 %x, the audit chain says %s", got, c.SHA256), nil
		}
		end = c.Offset + c.Bytes
	}
	if int64(len(data)) != end && !rec.SealedAt.IsZero() {
		return bad(-1, "the file holds %d bytes, the chunks in the audit chain %d", len(data), end), nil
	}
	if !rec.SealedAt.IsZero() {
		got := sha256.Sum256(data)
		if !bytes.Equal(got[:], rec.SHA256) {
			return bad(-1, "SHA-256 of the file %x, sealed as %x", got, rec.SHA256), nil
		}
	}
	return nil, nil
}

func chunkOf(e audit.Entry) (chunkRecord, error) {
	var p struct {
		Detail chunkRecord `json:"detail"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return chunkRecord{}, fmt.Errorf("recording chunk entry: %w", err)
	}
	c := p.Detail
	if c.Offset < 0 || c.Bytes <= 0 {
		return c, fmt.Errorf("recording chunk entry: offset %d, %d bytes", c.Offset, c.Bytes)
	}
	return c, nil
}

// Expire deletes the files of recordings sealed more than retention ago
// and records each deletion. It returns how many it deleted.
func (s *Service) Expire(ctx context.Context, retention time.Duration) (int, error) {
	recs, err := s.store.ExpiredRecordings(ctx, s.now().Add(-retention))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, rec := range recs {
		if err := os.Remove(s.Path(rec.SessionID)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, fmt.Errorf("recording: delete session %d: %w", rec.SessionID, err)
		}
		if err := s.store.DeleteRecording(ctx, rec.SessionID, "retention"); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ServeFile serves a session's recording for playback, with ranges (the
// browser seeks by asking for the bytes of a later cluster). The caller
// has checked who may see it.
func (s *Service) ServeFile(w http.ResponseWriter, r *http.Request, sessionID int64) error {
	rec, err := s.store.Recording(r.Context(), sessionID)
	if err != nil {
		return err
	}
	if !rec.DeletedAt.IsZero() {
		return httpx.Errorf(http.StatusGone, "deleted", "the recording was deleted at the end of its retention")
	}
	f, err := os.Open(s.Path(sessionID))
	if err != nil {
		return fmt.Errorf("recording: open session %d: %w", sessionID, err)
	}
	defer f.Close()
	// Only what the chain records: bytes of a chunk being written are
	// not served.
	content := io.NewSectionReader(f, 0, rec.Bytes)
	w.Header().Set("Content-Type", "video/x-matroska")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=\"session-%d.mkv\"", sessionID))
	// A long recording downloads longer than the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
	http.ServeContent(w, r, "", rec.StartedAt, content)
	return nil
}
