package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/audit"
	"github.com/meekijk/meekijk/internal/store"
)

// CheckpointFile is where the relay appends the audit chain's head.
const CheckpointFile = "audit-checkpoints.log"

func dbPath(dataDir string) string { return filepath.Join(dataDir, "meekijk.db") }

// StoreLocation is what store.Open is given: the -db URL when set, else
// the SQLite file in the data directory.
func StoreLocation(dataDir, db string) (string, error) {
	switch {
	case db == "":
		return dbPath(dataDir), nil
	case !store.IsPostgresURL(db):
		return "", fmt.Errorf("-db takes a postgres:// URL, not %q (the SQLite database is always %s)", db, dbPath(dataDir))
	}
	return db, nil
}

// openExisting opens the database of dataDir (or db), refusing to create
// one: a verify or backup of a mistyped directory or URL must fail, not
// succeed on an empty database.
func openExisting(ctx context.Context, dataDir, db string) (*store.Store, error) {
	where, err := StoreLocation(dataDir, db)
	if err != nil {
		return nil, err
	}
	st, err := store.OpenExisting(ctx, where)
	if err != nil && db == "" {
		return nil, fmt.Errorf("no database in %s: %w", dataDir, err)
	}
	return st, err
}

// CheckpointsNone, given as the checkpoint file, checks the chain alone
// (a backup copy, before its checkpoints are at hand).
const CheckpointsNone = "none"

// VerifyAudit checks the audit chain of dataDir and then that every signed
// checkpoint is still in it: a chain cut short, or rewritten and re-hashed
// after its last checkpoint, verifies on its own but not against its seals.
// checkpointPath "" means the data directory's file; pubKey "" means the
// public half of the data directory's key (give the one printed at first
// start, kept elsewhere, to rule out a replaced key). It prints only when
// everything holds: a failure is the returned error alone.
func VerifyAudit(ctx context.Context, dataDir, db, checkpointPath, pubKey string, out io.Writer) error {
	st, err := openExisting(ctx, dataDir, db)
	if err != nil {
		return err
	}
	defer st.Close()
	head, err := st.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if checkpointPath == CheckpointsNone {
		fmt.Fprintf(out, "audit chain ok: %d entries, head hash %x\nno checkpoints checked (-checkpoints none): a chain cut short or rewritten from scratch would pass\n", head.Seq, head.Hash)
		return nil
	}
	if checkpointPath == "" {
		checkpointPath = filepath.Join(dataDir, CheckpointFile)
	}
	var pub ed25519.PublicKey
	if pubKey != "" {
		pub, err = audit.ParsePublicKey(pubKey)
	} else {
		pub, err = audit.PublicKey(dataDir)
	}
	if err != nil {
		return fmt.Errorf("checkpoints: %w (or give -pubkey)", err)
	}
	res, err := checkCheckpoints(ctx, st, head, checkpointPath, pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "audit chain ok: %d entries, head hash %x\n", head.Seq, head.Hash)
	fmt.Fprintf(out, "%d signed checkpoints match (key %s)\n", res.signed, audit.FormatPublicKey(pub))
	if res.unsigned > 0 {
		fmt.Fprintf(out, "%d older checkpoints without a signature match too (written before checkpoints were signed)\n", res.unsigned)
	}
	if tail := head.Seq - res.last; tail > 0 {
		fmt.Fprintf(out, "%d entries after the last checkpoint (seq %d) are not sealed yet: a running relay seals them within a minute or 100 entries, and at shutdown\n", tail, res.last)
	}
	return nil
}

type checkpointResult struct {
	signed, unsigned int
	last             int64 // the newest checkpoint's seq
}

// checkCheckpoints matches every line of the checkpoint file against the
// chain. Unsigned lines are accepted only before the first signed one
// (files from before signing); after it they are forgeries.
func checkCheckpoints(ctx context.Context, st *store.Store, head store.AuditHead, path string, pub ed25519.PublicKey) (checkpointResult, error) {
	var res checkpointResult
	f, err := os.Open(path)
	if err != nil {
		return res, fmt.Errorf("checkpoints: %w (the chain's tail cannot be checked without them; -checkpoints none checks the chain alone)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		cp, err := audit.ParseCheckpoint(sc.Text())
		if err != nil {
			return res, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		switch {
		case cp.Sig == nil && res.signed > 0:
			return res, fmt.Errorf("%s:%d: checkpoint %s has no signature after signed ones: forged", path, line, cp)
		case cp.Sig != nil && !cp.Verify(pub):
			return res, fmt.Errorf("%s:%d: checkpoint %s: signature does not verify with key %s: forged, or signed by another key", path, line, cp, audit.FormatPublicKey(pub))
		}
		if cp.Seq > head.Seq {
			return res, &audit.BrokenError{Seq: head.Seq + 1, Reason: fmt.Sprintf("checkpoint %s is beyond the chain's end (entries removed)", cp)}
		}
		entries, err := st.AuditEntries(ctx, store.AuditFilter{AfterSeq: cp.Seq - 1, Limit: 1})
		if err != nil {
			return res, err
		}
		if len(entries) != 1 || !bytes.Equal(entries[0].Hash, cp.Hash) {
			return res, &audit.BrokenError{Seq: cp.Seq, Reason: fmt.Sprintf("checkpoint %s does not match the chain (rewritten)", cp)}
		}
		if cp.Sig != nil {
			res.signed++
		} else {
			res.unsigned++
		}
		res.last = max(res.last, cp.Seq)
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("checkpoints: %w", err)
	}
	if res.signed == 0 && head.Seq > 0 {
		return res, fmt.Errorf("%s: no signed checkpoint: the chain's tail is not sealed", path)
	}
	return res, nil
}

// Backup copies the database of dataDir (or db) to file while relays may
// be running, and checks the copy (store.Backup): SQLite's integrity check
// and the audit chain; on PostgreSQL a pg_dump archive of the snapshot in
// which the chain was verified.
func Backup(ctx context.Context, dataDir, db, file string, out io.Writer) error {
	if _, err := os.Stat(file); err == nil {
		return fmt.Errorf("backup: %s already exists", file)
	}
	st, err := openExisting(ctx, dataDir, db)
	if err != nil {
		return err
	}
	defer st.Close()
	head, err := st.Backup(ctx, file)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "backup written to %s: integrity ok, audit chain ok (%d entries, head %x)\n", file, head.Seq, head.Hash)
	if st.Dialect() == store.Postgres {
		fmt.Fprintf(out, "a pg_dump custom archive: restore it into an empty database with pg_restore --no-owner -d URL %s\n", file)
	}
	return nil
}

// checkpointEvery is how many new entries make a checkpoint due before
// the interval ends: a burst of writes is sealed soon, not a minute later.
const checkpointEvery = 100

// checkpointer seals the audit chain's head: it signs a checkpoint, appends
// it to DATA/audit-checkpoints.log (fsynced) and, when configured, sends it
// to syslog. It verifies new entries incrementally, so a checkpoint never
// seals a chain that does not verify.
type checkpointer struct {
	store  *store.Store
	key    ed25519.PrivateKey
	path   string
	syslog *audit.Syslog // nil: none
	log    *slog.Logger
	v      *audit.Verifier
	sealed int64 // seq of the newest checkpoint written
}

// catchUp verifies the entries written since the last call.
func (c *checkpointer) catchUp(ctx context.Context) error {
	for {
		seq, _ := c.v.Head()
		entries, err := c.store.AuditEntries(ctx, store.AuditFilter{AfterSeq: seq, Limit: 500})
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := c.v.Add(e); err != nil {
				return err
			}
		}
		if len(entries) < 500 {
			return nil
		}
	}
}

// seal writes a checkpoint of the current head unless it is sealed already.
func (c *checkpointer) seal(ctx context.Context) {
	if err := c.catchUp(ctx); err != nil {
		if !errors.Is(err, context.Canceled) {
			c.log.Error("audit chain does not verify: no checkpoint written", "err", err)
		}
		return
	}
	seq, hash := c.v.Head()
	if seq == c.sealed {
		return
	}
	cp := audit.SignCheckpoint(c.key, time.Now(), seq, hash)
	if err := appendLine(c.path, cp.String()); err != nil {
		c.log.Error("write audit checkpoint", "err", err)
		return
	}
	c.sealed = seq
	c.log.Info("audit checkpoint", "seq", cp.Seq, "hash", hex.EncodeToString(cp.Hash))
	if c.syslog != nil {
		if err := c.syslog.Send(ctx, cp); err != nil {
			c.log.Error("send audit checkpoint to syslog", "err", err)
		}
	}
}

// appendLine appends one line and syncs it: a checkpoint the relay logged
// as written survives a crash.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, line)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// run seals at start, every interval, whenever checkpointEvery entries
// are unsealed, and once more when ctx ends (the caller cancels it after
// the HTTP server and the hub have stopped, so the final checkpoint covers
// everything this run wrote).
func (c *checkpointer) run(ctx context.Context, interval time.Duration) {
	c.seal(ctx)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c.seal(final)
			cancel()
			return
		case <-t.C:
			c.seal(ctx)
		case <-c.store.Written():
			if err := c.catchUp(ctx); err != nil {
				continue // the next tick's seal logs why, once a minute
			}
			if seq, _ := c.v.Head(); seq-c.sealed >= checkpointEvery {
				c.seal(ctx)
			}
		}
	}
}

// newCheckpointer loads (or, at first start, creates) the signing key;
// created says the key is new, so Run prints its public half. Its first
// seal verifies the whole chain, later ones only what was added.
func newCheckpointer(cfg Config, st *store.Store, log *slog.Logger) (c *checkpointer, created bool, err error) {
	key, created, err := audit.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return nil, false, fmt.Errorf("server: %w", err)
	}
	c = &checkpointer{store: st, key: key, path: filepath.Join(cfg.DataDir, CheckpointFile), log: log, v: audit.NewVerifier()}
	if cfg.AuditSyslog != "" {
		if c.syslog, err = audit.NewSyslog(cfg.AuditSyslog); err != nil {
			return nil, false, fmt.Errorf("server: -audit-syslog: %w", err)
		}
	}
	return c, created, nil
}
