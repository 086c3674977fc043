// Package privfile creates the relay's private files (the database and its
// WAL and SHM files, backups, keys) readable and writable by their owner
// only. The mode is set explicitly after creating, so a permissive umask
// (022 gives 0644) cannot leave session data or keys readable by every
// account on the host.
package privfile

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Mode is the mode of every private file.
const Mode fs.FileMode = 0o600

// Create makes path as an empty private file; it fails if path exists, so
// nothing is ever overwritten.
func Create(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, Mode)
	if err != nil {
		return fmt.Errorf("privfile: create %s: %w", path, err)
	}
	// The umask applies to OpenFile's mode; Chmod does not go through it.
	err = f.Chmod(Mode)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("privfile: create %s: %w", path, err)
	}
	return nil
}

// Tighten sets Mode on those of paths that exist: files made by an older
// relay, or by SQLite, which copies the database's mode but not always.
func Tighten(paths ...string) error {
	var errs []error
	for _, p := range paths {
		if err := os.Chmod(p, Mode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("privfile: chmod %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// Key returns the size-byte key kept in path, creating it with random bytes
// on first use; created reports that it did. A key file others could read
// (an older relay's, or a restored backup's) is tightened to Mode rather
// than refused, so an upgrade keeps working; the audit checkpoints'
// signing key alone is refused instead (internal/audit), because a copy
// of it could forge the seals that prove the chain unaltered. A key file of another size
// is an error, never silently replaced: everything hashed under the old
// key would stop matching.
func Key(path string, size int) (key []byte, created bool, err error) {
	key, err = os.ReadFile(path)
	switch {
	case err == nil:
		if len(key) != size {
			return nil, false, fmt.Errorf("privfile: key %s has %d bytes, want %d", path, len(key), size)
		}
		return key, false, Tighten(path)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("privfile: read key: %w", err)
	}
	key = make([]byte, size)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, false, fmt.Errorf("privfile: new key: %w", err)
	}
	// Written to a temporary name and linked into place, so a crash never leaves a
	// short key behind that the next start would refuse.
	tmp := path + ".new"
	_ = os.Remove(tmp)
	if err := Create(tmp); err != nil {
		return nil, false, err
	}
	if err := os.WriteFile(tmp, key, Mode); err != nil {
		return nil, false, fmt.Errorf("privfile: write key: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return nil, false, err
	}
	// Link, not rename: a key another process made meanwhile is kept.
	err = os.Link(tmp, path)
	_ = os.Remove(tmp)
	if errors.Is(err, fs.ErrExist) {
		return Key(path, size)
	}
	if err != nil {
		return nil, false, fmt.Errorf("privfile: install key: %w", err)
	}
	return key, true, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("privfile: sync %s: %w", path, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("privfile: sync %s: %w", path, err)
	}
	return nil
}
