package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A checkpoint seals the chain's head: "at this time, entry seq had this
// hash", signed with the relay's ed25519 key. Whoever can write the database
// can rewrite the chain and recompute every hash, but cannot sign a
// matching checkpoint without the key (kept in the data directory, 0600,
// and its public half printed at first start so an admin can keep it
// elsewhere). docs/audit.md describes the line format.

// KeyFile is the signing key's file in the data directory.
const KeyFile = "audit-signing.key"

// checkpointDomain is signed before the line's text, so a checkpoint
// signature can never be taken for a signature of anything else.
const checkpointDomain = "meekijk audit checkpoint v1\n"

const keyPEMType = "MEEKIJK AUDIT SIGNING KEY"

// Checkpoint is a recorded head of the chain. Sig is nil on lines written
// before checkpoints were signed.
type Checkpoint struct {
	At   time.Time
	Seq  int64
	Hash []byte
	Sig  []byte
}

// body is the signed text: "TIME seq=N hash=HEX".
func (c Checkpoint) body() string {
	return fmt.Sprintf("%s seq=%d hash=%x", c.At.UTC().Format(time.RFC3339), c.Seq, c.Hash)
}

// String is the checkpoint file's line: the body and, when signed, sig=HEX.
func (c Checkpoint) String() string {
	if c.Sig == nil {
		return c.body()
	}
	return fmt.Sprintf("%s sig=%x", c.body(), c.Sig)
}

// SignCheckpoint seals seq and hash at time at.
func SignCheckpoint(key ed25519.PrivateKey, at time.Time, seq int64, hash []byte) Checkpoint {
	c := Checkpoint{At: at.UTC().Truncate(time.Second), Seq: seq, Hash: hash}
	c.Sig = ed25519.Sign(key, []byte(checkpointDomain+c.body()))
	return c
}

// Verify reports whether c carries a valid signature by pub.
func (c Checkpoint) Verify(pub ed25519.PublicKey) bool {
	return c.Sig != nil && ed25519.Verify(pub, []byte(checkpointDomain+c.body()), c.Sig)
}

// ParseCheckpoint reads one line of the checkpoint file.
func ParseCheckpoint(line string) (Checkpoint, error) {
	var c Checkpoint
	f := strings.Fields(line)
	if (len(f) != 3 && len(f) != 4) || !strings.HasPrefix(f[1], "seq=") || !strings.HasPrefix(f[2], "hash=") ||
		(len(f) == 4 && !strings.HasPrefix(f[3], "sig=")) {
		return c, fmt.Errorf("checkpoint line %q: want TIME seq=N hash=HEX sig=HEX", line)
	}
	var err error
	if c.At, err = time.Parse(time.RFC3339, f[0]); err != nil {
		return c, fmt.Errorf("checkpoint line %q: %w", line, err)
	}
	if c.Seq, err = strconv.ParseInt(strings.TrimPrefix(f[1], "seq="), 10, 64); err != nil {
		return c, fmt.Errorf("checkpoint line %q: %w", line, err)
	}
	if c.Hash, err = hex.DecodeString(strings.TrimPrefix(f[2], "hash=")); err != nil {
		return c, fmt.Errorf("checkpoint line %q: %w", line, err)
	}
	if len(f) == 4 {
		if c.Sig, err = hex.DecodeString(strings.TrimPrefix(f[3], "sig=")); err != nil || len(c.Sig) != ed25519.SignatureSize {
			return c, fmt.Errorf("checkpoint line %q: the signature is not %d bytes of hex", line, ed25519.SignatureSize)
		}
	}
	return c, nil
}

// LoadOrCreateKey reads the data directory's signing key, creating it
// (mode 0600) when there is none; created says which. A key file that
// others may read is refused: with it, anyone could sign a forged
// checkpoint.
func LoadOrCreateKey(dataDir string) (key ed25519.PrivateKey, created bool, err error) {
	path := filepath.Join(dataDir, KeyFile)
	key, err = readKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("audit: signing key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("audit: signing key: %w", err)
	}
	err = pem.Encode(f, &pem.Block{Type: keyPEMType, Bytes: key.Seed()})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("audit: signing key %s: %w", path, err)
	}
	return key, true, nil
}

// PublicKey reads the public half of the data directory's signing key.
func PublicKey(dataDir string) (ed25519.PublicKey, error) {
	key, err := readKey(filepath.Join(dataDir, KeyFile))
	if err != nil {
		return nil, err
	}
	return key.Public().(ed25519.PublicKey), nil
}

func readKey(path string) (ed25519.PrivateKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("audit: signing key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("audit: signing key %s is readable by others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != keyPEMType || len(block.Bytes) != ed25519.SeedSize {
		return nil, fmt.Errorf("audit: signing key %s is not a %s", path, keyPEMType)
	}
	return ed25519.NewKeyFromSeed(block.Bytes), nil
}

// FormatPublicKey writes a public key the way it is printed and typed:
// "ed25519:" and 64 hex digits.
func FormatPublicKey(pub ed25519.PublicKey) string { return "ed25519:" + hex.EncodeToString(pub) }

// ParsePublicKey reads what FormatPublicKey writes.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "ed25519:"))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %q: want ed25519: and %d hex digits", s, 2*ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}
