package files

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// DefaultMaxSize is the largest file a Receiver accepts when Config.MaxSize
// is not set.
const DefaultMaxSize = 2 << 30

// maxSuffix bounds the " (n)" tried when a name is taken; past it, something
// is wrong with the directory and giving up beats looping.
const maxSuffix = 999

// Errors. Every error from Accept, Write and Finish ends the transfer and
// removes whatever was written: the sender must start over.
var (
	ErrTooLarge     = errors.New("file larger than allowed or offered")
	ErrOutOfOrder   = errors.New("chunk out of order")
	ErrIncomplete   = errors.New("file incomplete")
	ErrHashMismatch = errors.New("SHA-256 mismatch")
	ErrState        = errors.New("transfer not in a state for this")
)

// Config configures a Receiver.
type Config struct {
	// Dir is the directory the customer chose. Nothing is written
	// outside it: every file operation goes through an os.Root on it,
	// which refuses "..", absolute paths and symlinks that lead out.
	Dir string
	// MaxSize is the largest file accepted; <= 0 means DefaultMaxSize.
	MaxSize int64
	// Progress, when set, is called after every chunk written, with the
	// bytes received so far and the offered size. It is called with the
	// Receiver's lock held, so calls are ordered and the count never goes
	// down; it must not call the Receiver.
	Progress func(received, size int64)
}

type state int

const (
	offered   state = iota // waiting for the customer
	receiving              // accepted: temp file open
	done                   // file in place
	closed                 // declined, cancelled or failed; nothing on disk
)

// Receiver receives one file into Config.Dir. The bytes go to a hidden
// temporary file, which is given the offered (sanitized) name only after
// Finish has checked its size and SHA-256, and never over an existing file:
// " (2)", " (3)"… are added instead. A Receiver that is declined, cancelled
// or fails leaves nothing behind.
//
// Its methods are safe for concurrent use (the customer may cancel from the
// UI while chunks arrive), but chunks must be written in order.
type Receiver struct {
	mu       sync.Mutex
	cfg      Config
	name     string // sanitized
	size     int64
	sha      string // from the offer, lowercase hex, or ""
	state    state
	root     *os.Root
	file     *os.File
	tmp      string
	received int64
	hash     hash.Hash
	final    string
}

// NewReceiver checks an offer: the name must sanitize to something usable,
// the size must not exceed the maximum, and sha256hex, when set, must be a
// SHA-256 in hex. It touches no disk; the offer can be put to the customer
// with Name and Size, and then Accepted or Declined.
func NewReceiver(cfg Config, name string, size int64, sha256hex string) (*Receiver, error) {
	clean, err := SanitizeName(name)
	if err != nil {
		return nil, err
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if size < 0 {
		return nil, fmt.Errorf("files: negative size %d", size)
	}
	if size > cfg.MaxSize {
		return nil, fmt.Errorf("%w: %d bytes offered, at most %d accepted", ErrTooLarge, size, cfg.MaxSize)
	}
	if sha256hex != "" {
		if b, err := hex.DecodeString(sha256hex); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("files: bad SHA-256 %q", sha256hex)
		}
	}
	return &Receiver{cfg: cfg, name: clean, size: size, sha: strings.ToLower(sha256hex)}, nil
}

// Name is the sanitized name the file will get (or a " (n)" variant of it).
// It is what the customer should be shown, not the offered one.
func (r *Receiver) Name() string { return r.name }

// Size is the offered size.
func (r *Receiver) Size() int64 { return r.size }

// Received is the number of bytes written so far.
func (r *Receiver) Received() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.received
}

// Accept opens the directory and creates the temporary file. Call it once
// the customer agreed, before the first Write.
func (r *Receiver) Accept() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != offered {
		return ErrState
	}
	root, err := os.OpenRoot(r.cfg.Dir)
	if err != nil {
		r.state = closed
		return fmt.Errorf("files: open %s: %w", r.cfg.Dir, err)
	}
	// A leading dot keeps the temp name out of the way on Unix; it can
	// never collide with a final name, which SanitizeName strips of
	// leading dots. O_EXCL: never reuse whatever is there, not even a
	// symlink.
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := ".meekijk-" + hex.EncodeToString(rnd[:]) + ".part"
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		root.Close()
		r.state = closed
		return fmt.Errorf("files: create temporary file: %w", err)
	}
	r.root, r.file, r.tmp, r.hash, r.state = root, f, tmp, sha256.New(), receiving
	return nil
}

// Decline refuses the offer; nothing was or will be written.
func (r *Receiver) Decline() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == offered {
		r.state = closed
	}
}

// Write appends one chunk. offset must equal the bytes received so far (a
// sender that skips or repeats is broken, and guessing would corrupt the
// file), and the total must stay within the offered size: a sender that
// offers 1 KB and sends 1 GB is stopped at the first byte too many.
func (r *Receiver) Write(offset int64, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != receiving {
		return ErrState
	}
	if offset != r.received {
		return r.abort(fmt.Errorf("%w: offset %d, expected %d", ErrOutOfOrder, offset, r.received))
	}
	if int64(len(data)) > r.size-r.received {
		return r.abort(fmt.Errorf("%w: chunk ends at %d, %d bytes offered", ErrTooLarge, r.received+int64(len(data)), r.size))
	}
	if _, err := r.file.Write(data); err != nil {
		return r.abort(fmt.Errorf("files: write: %w", err))
	}
	r.hash.Write(data)
	r.received += int64(len(data))
	if r.cfg.Progress != nil {
		r.cfg.Progress(r.received, r.size)
	}
	return nil
}

// Finish checks that the whole file arrived and that its SHA-256 matches
// sha256hex (and the offer's, if it had one), then moves it to its final
// name in Dir and returns that name (not a path: join it with Dir).
func (r *Receiver) Finish(sha256hex string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != receiving {
		return "", ErrState
	}
	if r.received != r.size {
		return "", r.abort(fmt.Errorf("%w: %d of %d bytes", ErrIncomplete, r.received, r.size))
	}
	want, err := hex.DecodeString(sha256hex)
	if err != nil || len(want) != sha256.Size {
		return "", r.abort(fmt.Errorf("%w: bad SHA-256 %q", ErrHashMismatch, sha256hex))
	}
	got := r.hash.Sum(nil)
	if !bytes.Equal(got, want) || (r.sha != "" && r.sha != hex.EncodeToString(got)) {
		return "", r.abort(fmt.Errorf("%w: received %x", ErrHashMismatch, got))
	}
	// Sync before the rename, so that a crash cannot leave a file with its
	// final name and without its bytes.
	if err := r.file.Sync(); err != nil {
		return "", r.abort(fmt.Errorf("files: sync: %w", err))
	}
	err = r.file.Close()
	r.file = nil
	if err != nil {
		return "", r.abort(fmt.Errorf("files: close: %w", err))
	}
	final, err := r.place()
	if err != nil {
		return "", r.abort(err)
	}
	r.root.Close()
	r.root, r.final, r.state = nil, final, done
	return final, nil
}

// place renames the temp file to the first free name among name, "stem
// (2).ext", "stem (3).ext"… A rename would replace an existing file, so the
// name is first claimed with O_EXCL (an empty placeholder that the rename
// then replaces); this works on every file system, hard links or not.
func (r *Receiver) place() (string, error) {
	stem, ext := r.name, ""
	if i := strings.LastIndexByte(r.name, '.'); i > 0 {
		stem, ext = r.name[:i], r.name[i:]
	}
	for n := 1; n <= maxSuffix; n++ {
		candidate := r.name
		if n > 1 {
			candidate = fmt.Sprintf("%s (%d)%s", stem, n, ext)
		}
		f, err := r.root.OpenFile(candidate, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("files: claim %q: %w", candidate, err)
		}
		f.Close()
		if err := r.root.Rename(r.tmp, candidate); err != nil {
			r.root.Remove(candidate)
			return "", fmt.Errorf("files: rename to %q: %w", candidate, err)
		}
		return candidate, nil
	}
	return "", fmt.Errorf("files: %q and %d variants all exist", r.name, maxSuffix)
}

// Cancel stops the transfer and removes the partial file. It is a no-op
// once the file is in place, or after a failure (which cleaned up already).
func (r *Receiver) Cancel() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case offered:
		r.state = closed
	case receiving:
		if err := r.abort(nil); err != nil {
			return fmt.Errorf("files: cancel: %w", err)
		}
	}
	return nil
}

// abort closes and removes the temp file and ends the transfer. It returns
// cause joined with any cleanup failure.
func (r *Receiver) abort(cause error) error {
	var errs []error
	if cause != nil {
		errs = append(errs, cause)
	}
	if r.file != nil {
		r.file.Close()
		r.file = nil
	}
	if r.root != nil {
		if err := r.root.Remove(r.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove temporary file: %w", err))
		}
		r.root.Close()
		r.root = nil
	}
	r.state = closed
	return errors.Join(errs...)
}
