package server

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Everything secret the relay writes is 0600 whatever the umask: the
// database and its WAL and SHM files, the HMAC key, and backups. Under
// the usual umask 022 they used to be 0644, readable by every account on
// the host.
func TestPrivateFilesWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	_, _, stop := startRelay(t, dir)
	check := func(name string) {
		t.Helper()
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	for _, name := range []string{"meekijk.db", "meekijk.db-wal", "meekijk.db-shm", KeyFile} {
		check(name)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := Backup(context.Background(), dir, "", filepath.Join(dir, "copy.db"), io.Discard); err != nil {
		t.Fatal(err)
	}
	check("copy.db")
}

// The key survives restarts (codes made before a restart still work) and
// a key file of the wrong size stops the relay instead of being replaced.
func TestKeyFileKeptAndChecked(t *testing.T) {
	dir := t.TempDir()
	_, _, stop := startRelay(t, dir)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil || len(key) != 32 {
		t.Fatalf("key file: %d bytes, %v", len(key), err)
	}
	_, _, stop = startRelay(t, dir)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, KeyFile)); string(again) != string(key) {
		t.Fatal("the key changed across a restart")
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), key[:16], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir}, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a relay started with a 16-byte key")
	}
}
