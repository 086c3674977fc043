// Package audit defines Meekijk's tamper-evident log: each entry's hash
// covers the previous entry's hash and the entry's canonical bytes, so
// editing, deleting, inserting or reordering any entry breaks the chain
// from that entry on. docs/audit.md gives the format precisely enough to
// check an evidence pack with a short script.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
)

// Entry is one audit record.
type Entry struct {
	Seq     int64           `json:"seq"`
	At      int64           `json:"at"` // Unix milliseconds, relay clock
	Actor   string          `json:"actor"`
	IP      string          `json:"ip"`
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"` // canonical JSON
	Hash    []byte          `json:"-"`
}

// Genesis is the "previous hash" of the first entry.
var Genesis = make([]byte, sha256.Size)

// Canonical re-encodes JSON canonically: object keys sorted, no
// insignificant white space, numbers as written. Two encodings of the same
// value give the same bytes, so a verifier in any language can recompute
// hashes from the values alone.
func Canonical(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit: canonical: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("audit: canonical: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil {
		return nil, fmt.Errorf("audit: canonical: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Bytes is what an entry's hash covers: the canonical JSON of the object
// {"actor","at","event","ip","payload","seq"}.
func (e Entry) Bytes() ([]byte, error) {
	return Canonical(map[string]any{
		"seq": e.Seq, "at": e.At, "actor": e.Actor, "ip": e.IP, "event": e.Event, "payload": e.Payload,
	})
}

// ChainHash is SHA-256(prev || e.Bytes()).
func ChainHash(prev []byte, e Entry) ([]byte, error) {
	b, err := e.Bytes()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(b)
	return h.Sum(nil), nil
}

// ErrBroken is wrapped by every verification failure.
var ErrBroken = errors.New("audit chain broken")

// BrokenError names the first entry at which the chain breaks.
type BrokenError struct {
	Seq    int64 // the first bad sequence number
	Reason string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit chain broken at seq %d: %s", e.Seq, e.Reason)
}

func (e *BrokenError) Unwrap() error { return ErrBroken }

// Verifier checks entries one by one, in sequence order, from the first.
type Verifier struct {
	prev []byte
	next int64
}

// NewVerifier starts at the genesis.
func NewVerifier() *Verifier { return &Verifier{prev: Genesis, next: 1} }

// Add checks the next entry. Sequence numbers must run 1, 2, 3... without
// gaps (a deleted entry), repeats or disorder (an insertion or a swap), and
// each stored hash must equal the recomputed one (an edit).
func (v *Verifier) Add(e Entry) error {
	if e.Seq != v.next {
		reason := fmt.Sprintf("expected seq %d, found %d (entry deleted, inserted or moved)", v.next, e.Seq)
		return &BrokenError{Seq: v.next, Reason: reason}
	}
	want, err := ChainHash(v.prev, e)
	if err != nil {
		return &BrokenError{Seq: e.Seq, Reason: err.Error()}
	}
	if !bytes.Equal(want, e.Hash) {
		return &BrokenError{Seq: e.Seq, Reason: "hash does not match its content and predecessor (entry edited)"}
	}
	v.prev, v.next = want, v.next+1
	return nil
}

// Head is the last verified entry's sequence number and hash.
func (v *Verifier) Head() (int64, []byte) { return v.next - 1, v.prev }
