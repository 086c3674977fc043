package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/audit"
	"github.com/meekijk/meekijk/internal/store"
)

// CheckpointFile is where the relay appends the audit chain's head.
const CheckpointFile = "audit-checkpoints.log"

func dbPath(dataDir string) string { return filepath.Join(dataDir, "meekijk.db") }

// openExisting opens the database of dataDir, refusing to create one: a
// verify or backup of a mistyped directory must fail, not succeed on an
// empty database.
func openExisting(ctx context.Context, dataDir string) (*store.Store, error) {
	if _, err := os.Stat(dbPath(dataDir)); err != nil {
		return nil, fmt.Errorf("no database in %s: %w", dataDir, err)
	}
	return store.Open(ctx, dbPath(dataDir))
}

// Checkpoint is a recorded head of the audit chain.
type Checkpoint struct {
	At   time.Time
	Seq  int64
	Hash []byte
}

func (c Checkpoint) String() string {
	return fmt.Sprintf("%s seq=%d hash=%x", c.At.UTC().Format(time.RFC3339), c.Seq, c.Hash)
}

func parseCheckpoint(line string) (Checkpoint, error) {
	var c Checkpoint
	f := strings.Fields(line)
	if len(f) != 3 || !strings.HasPrefix(f[1], "seq=") || !strings.HasPrefix(f[2], "hash=") {
		return c, fmt.Errorf("checkpoint line %q: want TIME seq=N hash=HEX", line)
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
	return c, nil
}

// VerifyAudit checks the audit chain of dataDir, and, when checkpointPath
// is given, that every recorded head is still in the chain: a chain cut
// short or rewritten from scratch verifies on its own, but not against a
// copy of the checkpoints kept elsewhere.
func VerifyAudit(ctx context.Context, dataDir, checkpointPath string, out io.Writer) error {
	st, err := openExisting(ctx, dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	head, err := st.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "audit chain ok: %d entries, head hash %x\n", head.Seq, head.Hash)
	if checkpointPath == "" {
		return nil
	}
	f, err := os.Open(checkpointPath)
	if err != nil {
		return fmt.Errorf("checkpoints: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		cp, err := parseCheckpoint(sc.Text())
		if err != nil {
			return err
		}
		if cp.Seq > head.Seq {
			return &audit.BrokenError{Seq: head.Seq + 1, Reason: fmt.Sprintf("checkpoint %s is beyond the chain's end (entries removed)", cp)}
		}
		entries, err := st.AuditEntries(ctx, store.AuditFilter{AfterSeq: cp.Seq - 1, Limit: 1})
		if err != nil {
			return err
		}
		if len(entries) != 1 || !bytes.Equal(entries[0].Hash, cp.Hash) {
			return &audit.BrokenError{Seq: cp.Seq, Reason: fmt.Sprintf("checkpoint %s does not match the chain (rewritten)", cp)}
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("checkpoints: %w", err)
	}
	fmt.Fprintf(out, "%d checkpoints match\n", n)
	return nil
}

// Backup copies the database of dataDir to file while the relay may be
// running, then checks the copy: SQLite's integrity check and the audit
// chain.
func Backup(ctx context.Context, dataDir, file string, out io.Writer) error {
	if _, err := os.Stat(file); err == nil {
		return fmt.Errorf("backup: %s already exists", file)
	}
	st, err := openExisting(ctx, dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, file); err != nil {
		return err
	}
	copyStore, err := store.Open(ctx, file)
	if err != nil {
		return fmt.Errorf("backup: open copy: %w", err)
	}
	defer copyStore.Close()
	if err := copyStore.IntegrityCheck(ctx); err != nil {
		return fmt.Errorf("backup copy: %w", err)
	}
	head, err := copyStore.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("backup copy: %w", err)
	}
	fmt.Fprintf(out, "backup written to %s: integrity ok, audit chain ok (%d entries, head %x)\n", file, head.Seq, head.Hash)
	return nil
}

// checkpoints appends the audit head to the checkpoint file and the log
// every interval (and once at start), until ctx ends.
func (s *Server) checkpoints(ctx context.Context, interval time.Duration) {
	path := filepath.Join(s.cfg.DataDir, CheckpointFile)
	var last int64 = -1
	write := func() {
		head, err := s.store.VerifyAudit(ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				s.log.Error("audit chain does not verify", "err", err)
			}
			return
		}
		if head.Seq == last {
			return
		}
		cp := Checkpoint{At: time.Now(), Seq: head.Seq, Hash: head.Hash}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err == nil {
			_, err = fmt.Fprintln(f, cp)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			s.log.Error("write audit checkpoint", "err", err)
			return
		}
		last = head.Seq
		s.log.Info("audit checkpoint", "seq", cp.Seq, "hash", hex.EncodeToString(cp.Hash))
	}
	write()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			write()
		}
	}
}
