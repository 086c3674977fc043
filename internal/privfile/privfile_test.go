package privfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// Even with a umask of 0 (OpenFile's mode would be kept) or 022, and for
// files left 0644 by an older relay, private files end up 0600.
func TestModesWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	f := filepath.Join(dir, "db")
	if err := Create(f); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, f); m != Mode {
		t.Errorf("created file mode %v", m)
	}
	if err := Create(f); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over an existing file: %v, want ErrExist", err)
	}
	loose := filepath.Join(dir, "old")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Tighten(loose, filepath.Join(dir, "absent")); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, loose); m != Mode {
		t.Errorf("tightened file mode %v", m)
	}
}

func TestKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	k1, created, err := Key(path, 32)
	if err != nil || !created || len(k1) != 32 {
		t.Fatalf("first Key: %d bytes, created %v, %v", len(k1), created, err)
	}
	if m := mode(t, path); m != Mode {
		t.Errorf("key mode %v", m)
	}
	k2, created, err := Key(path, 32)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second Key: created %v, same %v, %v", created, bytes.Equal(k1, k2), err)
	}
	if _, _, err := Key(path, 16); err == nil {
		t.Error("a 32-byte key file accepted as a 16-byte key")
	}
}
