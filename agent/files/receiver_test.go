package files

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

const chunkSize = 48 << 10

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// send writes data in chunkSize chunks, stopping at the first error.
func send(r *Receiver, data []byte) error {
	for off := 0; off < len(data); off += chunkSize {
		if err := r.Write(int64(off), data[off:min(off+chunkSize, len(data))]); err != nil {
			return err
		}
	}
	return nil
}

// receive runs a whole transfer and returns the final name.
func receive(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	r, err := NewReceiver(Config{Dir: dir}, name, int64(len(data)), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Accept(); err != nil {
		t.Fatal(err)
	}
	if err := send(r, data); err != nil {
		t.Fatal(err)
	}
	final, err := r.Finish(sum(data))
	if err != nil {
		t.Fatal(err)
	}
	return final
}

func TestReceiveLargeFile(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 20<<20)
	rand.Read(data)
	var progress []int64
	r, err := NewReceiver(Config{Dir: dir, Progress: func(received, size int64) {
		if size != int64(len(data)) {
			t.Errorf("progress size %d", size)
		}
		progress = append(progress, received)
	}}, "../backup/kassa.db", int64(len(data)), sum(data))
	if err != nil {
		t.Fatal(err)
	}
	if r.Name() != "kassa.db" || r.Size() != int64(len(data)) {
		t.Fatalf("Name, Size = %q, %d", r.Name(), r.Size())
	}
	if err := r.Accept(); err != nil {
		t.Fatal(err)
	}
	if err := send(r, data); err != nil {
		t.Fatal(err)
	}
	final, err := r.Finish(sum(data))
	if err != nil {
		t.Fatal(err)
	}
	if final != "kassa.db" {
		t.Errorf("final name %q", final)
	}
	got, err := os.ReadFile(filepath.Join(dir, final))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("received file differs from the sent one")
	}
	if want := (len(data) + chunkSize - 1) / chunkSize; len(progress) != want {
		t.Errorf("%d progress calls, want %d", len(progress), want)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] <= progress[i-1] {
			t.Fatalf("progress not monotone at %d: %d after %d", i, progress[i], progress[i-1])
		}
	}
	if last := progress[len(progress)-1]; last != int64(len(data)) {
		t.Errorf("final progress %d, want %d", last, len(data))
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"kassa.db"}) {
		t.Errorf("directory holds %q; want only the file (no temp file left)", names)
	}
	if err := r.Cancel(); err != nil {
		t.Errorf("Cancel after Finish: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, final)); err != nil {
		t.Errorf("Cancel after Finish removed the file: %v", err)
	}
}

func TestEmptyFile(t *testing.T) {
	dir := t.TempDir()
	if final := receive(t, dir, "leeg.txt", nil); final != "leeg.txt" {
		t.Fatalf("final %q", final)
	}
	if fi, err := os.Stat(filepath.Join(dir, "leeg.txt")); err != nil || fi.Size() != 0 {
		t.Fatalf("Stat = %v, %v", fi, err)
	}
}

func TestNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.txt", "a (2).txt", "noext"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("original"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ name, want string }{
		{"a.txt", "a (3).txt"},
		{"a.txt", "a (4).txt"},
		{"noext", "noext (2)"},
		{"b.tar.gz", "b.tar.gz"},
		{"b.tar.gz", "b.tar (2).gz"},
	} {
		if got := receive(t, dir, c.name, []byte("new")); got != c.want {
			t.Errorf("received %q as %q, want %q", c.name, got, c.want)
		}
	}
	for _, n := range []string{"a.txt", "a (2).txt", "noext"} {
		if b, _ := os.ReadFile(filepath.Join(dir, n)); string(b) != "original" {
			t.Errorf("%s overwritten: %q", n, b)
		}
	}
}

func TestOfferChecks(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, MaxSize: 1000}
	if _, err := NewReceiver(cfg, "a.bin", 1001, ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("size over max: %v, want ErrTooLarge", err)
	}
	if _, err := NewReceiver(Config{Dir: dir}, "a.bin", DefaultMaxSize+1, ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("size over default max: %v, want ErrTooLarge", err)
	}
	if _, err := NewReceiver(cfg, "a.bin", -1, ""); err == nil {
		t.Error("negative size accepted")
	}
	if _, err := NewReceiver(cfg, "..", 1, ""); !errors.Is(err, ErrBadName) {
		t.Errorf("name ..: %v, want ErrBadName", err)
	}
	if _, err := NewReceiver(cfg, "a.bin", 1, "abc"); err == nil {
		t.Error("bad sha accepted")
	}
	if _, err := NewReceiver(cfg, "a.bin", 1000, ""); err != nil {
		t.Errorf("size at max: %v", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("offers touched the disk: %q", names)
	}
}

func TestDeclineTouchesNothing(t *testing.T) {
	// The directory does not even exist: a declined offer must not need it.
	dir := filepath.Join(t.TempDir(), "missing")
	r, err := NewReceiver(Config{Dir: dir}, "a.txt", 3, "")
	if err != nil {
		t.Fatal(err)
	}
	r.Decline()
	if err := r.Accept(); !errors.Is(err, ErrState) {
		t.Errorf("Accept after Decline: %v, want ErrState", err)
	}
	if err := r.Write(0, []byte("abc")); !errors.Is(err, ErrState) {
		t.Errorf("Write after Decline: %v, want ErrState", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(dir) = %v; a declined file touched the disk", err)
	}
}

func TestWriteBeforeAccept(t *testing.T) {
	dir := t.TempDir()
	r, err := NewReceiver(Config{Dir: dir}, "a.txt", 3, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Write(0, []byte("abc")); !errors.Is(err, ErrState) {
		t.Errorf("Write before Accept: %v, want ErrState", err)
	}
	if _, err := r.Finish(sum([]byte("abc"))); !errors.Is(err, ErrState) {
		t.Errorf("Finish before Accept: %v, want ErrState", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("directory holds %q", names)
	}
}

// Every failure after Accept leaves the directory as it was.
func TestFailuresLeaveNothing(t *testing.T) {
	data := []byte("0123456789")
	cases := []struct {
		name string
		run  func(r *Receiver) error
		want error
	}{
		{"overflow", func(r *Receiver) error {
			if err := r.Write(0, data); err != nil {
				return err
			}
			return r.Write(10, []byte("x"))
		}, ErrTooLarge},
		{"one big chunk", func(r *Receiver) error {
			return r.Write(0, append(data, 'x'))
		}, ErrTooLarge},
		{"gap", func(r *Receiver) error {
			if err := r.Write(0, data[:4]); err != nil {
				return err
			}
			return r.Write(5, data[5:])
		}, ErrOutOfOrder},
		{"repeat", func(r *Receiver) error {
			if err := r.Write(0, data[:4]); err != nil {
				return err
			}
			return r.Write(0, data[:4])
		}, ErrOutOfOrder},
		{"wrong hash", func(r *Receiver) error {
			if err := r.Write(0, data); err != nil {
				return err
			}
			_, err := r.Finish(sum([]byte("something else")))
			return err
		}, ErrHashMismatch},
		{"garbage hash", func(r *Receiver) error {
			if err := r.Write(0, data); err != nil {
				return err
			}
			_, err := r.Finish("zz")
			return err
		}, ErrHashMismatch},
		{"incomplete", func(r *Receiver) error {
			if err := r.Write(0, data[:9]); err != nil {
				return err
			}
			_, err := r.Finish(sum(data[:9]))
			return err
		}, ErrIncomplete},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			r, err := NewReceiver(Config{Dir: dir}, "a.txt", int64(len(data)), "")
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Accept(); err != nil {
				t.Fatal(err)
			}
			if err := c.run(r); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if names := listDir(t, dir); len(names) != 0 {
				t.Errorf("directory holds %q after failure", names)
			}
			// The transfer is over: nothing more is accepted.
			if err := r.Write(r.Received(), []byte("x")); !errors.Is(err, ErrState) {
				t.Errorf("Write after failure: %v, want ErrState", err)
			}
		})
	}
}

// The offer's hash binds too: a done with another (self-consistent) hash is
// refused.
func TestOfferHashMustMatch(t *testing.T) {
	dir := t.TempDir()
	data := []byte("hello")
	r, err := NewReceiver(Config{Dir: dir}, "a.txt", 5, sum([]byte("HELLO")))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Accept(); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(0, data); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Finish(sum(data)); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("Finish = %v, want ErrHashMismatch", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("directory holds %q", names)
	}
}

func TestCancelRemovesPartial(t *testing.T) {
	dir := t.TempDir()
	r, err := NewReceiver(Config{Dir: dir}, "a.txt", 100, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Accept(); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(0, make([]byte, 50)); err != nil {
		t.Fatal(err)
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Fatalf("expected one temporary file, got %q", names)
	}
	if err := r.Cancel(); err != nil {
		t.Fatal(err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("directory holds %q after Cancel", names)
	}
	if err := r.Cancel(); err != nil {
		t.Errorf("second Cancel: %v", err)
	}
	if err := r.Write(50, make([]byte, 50)); !errors.Is(err, ErrState) {
		t.Errorf("Write after Cancel: %v, want ErrState", err)
	}
}

// The customer may cancel from the UI while chunks arrive.
func TestCancelWhileWriting(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 4<<20)
	r, err := NewReceiver(Config{Dir: dir}, "a.bin", int64(len(data)), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Accept(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := send(r, data); err != nil && !errors.Is(err, ErrState) {
			t.Errorf("send: %v", err)
		}
	})
	wg.Go(func() {
		for r.Received() == 0 {
		}
		if err := r.Cancel(); err != nil {
			t.Errorf("Cancel: %v", err)
		}
	})
	wg.Wait()
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("directory holds %q after Cancel", names)
	}
}

func symlinkOrSkip(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot create symlinks here: %v", err)
	}
}

// A symlink in the target directory that points outside it is never
// followed: not when it has the offered name (O_EXCL sees it as taken), and
// not through os.Root when a name would go through it.
func TestSymlinkNotFollowed(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	victim := filepath.Join(outside, "victim.txt")
	if err := os.WriteFile(victim, []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	symlinkOrSkip(t, victim, filepath.Join(dir, "victim.txt"))                         // to an existing file
	symlinkOrSkip(t, filepath.Join(outside, "new.txt"), filepath.Join(dir, "new.txt")) // dangling
	symlinkOrSkip(t, outside, filepath.Join(dir, "out"))                               // to a directory

	if got := receive(t, dir, "victim.txt", []byte("evil")); got != "victim (2).txt" {
		t.Errorf("received as %q, want victim (2).txt", got)
	}
	if got := receive(t, dir, "new.txt", []byte("evil")); got != "new (2).txt" {
		t.Errorf("received as %q, want new (2).txt", got)
	}
	if b, _ := os.ReadFile(victim); string(b) != "original" {
		t.Errorf("file outside the directory written through a symlink: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(outside, "new.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file created outside the directory through a dangling symlink: %v", err)
	}

	// SanitizeName never lets a separator through, so go around it to
	// check the second line of defence: os.Root refuses to leave dir.
	receiveAs(t, dir, "out/escaped.txt")
	receiveAs(t, dir, "../escaped.txt")
	for _, p := range []string{filepath.Join(outside, "escaped.txt"), filepath.Join(filepath.Dir(dir), "escaped.txt")} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("file created outside the directory: %s: %v", p, err)
		}
	}
	names := listDir(t, dir)
	slices.Sort(names)
	if want := []string{"new (2).txt", "new.txt", "out", "victim (2).txt", "victim.txt"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %q, want %q", names, want)
	}
}

// receiveAs runs a transfer with name forced past SanitizeName; Finish must
// fail.
func receiveAs(t *testing.T, dir, name string) {
	t.Helper()
	r, err := NewReceiver(Config{Dir: dir}, "x.txt", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	r.name = name
	if err := r.Accept(); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(0, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if final, err := r.Finish(sum([]byte("x"))); err == nil {
		t.Errorf("name %q accepted by os.Root, stored as %q", name, final)
	} else {
		t.Logf("%s: %v", name, err)
	}
}
