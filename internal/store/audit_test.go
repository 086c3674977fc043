package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/meekijk/meekijk/internal/audit"
	"github.com/meekijk/meekijk/internal/pgtest"
)

// auditedStore is a store with a few dozen real audited changes in it.
func auditedStore(t *testing.T) *Store {
	t.Helper()
	s, _ := openTest(t)
	ctx := WithActor(context.Background(), Actor{Name: "user:1", IP: "192.0.2.7"})
	if _, err := s.BootstrapAdmin(ctx, User{Email: "admin", Name: "Admin", PasswordHash: "secret-hash"}, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := s.AddRate(ctx, 0, int64(8000+i), fmt.Sprintf("2026-01-%02d", i+1), 1); err != nil {
			t.Fatal(err)
		}
	}
	newSession(t, s, &clock{}, "123456789") // creates a user and a session: audited
	return s
}

func seqOf(t *testing.T, err error) int64 {
	t.Helper()
	var be *audit.BrokenError
	if !errors.As(err, &be) || !errors.Is(err, audit.ErrBroken) {
		t.Fatalf("err = %v, want a broken chain", err)
	}
	return be.Seq
}

func TestAuditChainDetectsTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper string
		bad    int64
	}{
		{"untouched", ``, 0},
		{"a payload byte changed", `UPDATE audit_log SET payload = replace(payload, '8004', '8005') WHERE seq = 6`, 6},
		{"the actor changed", `UPDATE audit_log SET actor = 'user:2' WHERE seq = 3`, 3},
		{"a row deleted", `DELETE FROM audit_log WHERE seq = 4`, 4},
		{"two rows swapped", `UPDATE audit_log SET seq = -1 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = 6; UPDATE audit_log SET seq = 6 WHERE seq = -1`, 5},
		{"a forged row inserted", `UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 7; UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1007;
			INSERT INTO audit_log (seq, at, actor, ip, event, payload, hash) SELECT 7, at, 'user:1', ip, 'rate.added', payload, hash FROM audit_log WHERE seq = 6`, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := auditedStore(t)
			ctx := context.Background()
			if c.tamper != "" {
				// An attacker with the file drops the guards first.
				drop := []string{"DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"}
				if s.Dialect() == Postgres { // a PostgreSQL trigger is named within its table
					drop = []string{"DROP TRIGGER audit_log_no_update ON audit_log", "DROP TRIGGER audit_log_no_delete ON audit_log"}
				}
				for _, q := range append(drop, strings.Split(c.tamper, ";")...) {
					if _, err := s.db.Exec(q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
			}
			head, err := s.VerifyAudit(ctx)
			if c.bad == 0 {
				if err != nil || head.Seq != 13 {
					t.Fatalf("head %+v, %v", head, err)
				}
				return
			}
			if got := seqOf(t, err); got != c.bad {
				t.Fatalf("first bad seq %d, want %d (%v)", got, c.bad, err)
			}
		})
	}
}

func TestAuditLogIsAppendOnlyForTheProduct(t *testing.T) {
	s := auditedStore(t)
	for _, q := range []string{"UPDATE audit_log SET actor = 'x' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 1"} {
		if _, err := s.db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused", q, err)
		}
	}
	entries, err := s.AuditEntries(context.Background(), AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(string(e.Payload), "secret-hash") {
			t.Errorf("entry %d holds a password hash: %s", e.Seq, e.Payload)
		}
	}
	if entries[1].IP != "192.0.2.7" || entries[1].Actor != "user:1" || entries[1].Event != "rate.added" {
		t.Errorf("entry 2 = %+v, want rate.added by user:1 from 192.0.2.7", entries[1])
	}
}

// 50 writers at once, through two Store handles on one database (on
// PostgreSQL: two relays): one linear chain, no gaps, no SQLITE_BUSY or
// duplicate seq reaching anyone.
func TestAuditConcurrentWriters(t *testing.T) {
	s, c := openTest(t)
	stores := []*Store{s, twin(t, s, c)}
	const writers, each = 50, 4
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := WithActor(context.Background(), Actor{Name: fmt.Sprintf("user:%d", w)})
			for i := 0; i < each; i++ {
				if err := stores[w%2].RecordAudit(ctx, "test.write", map[string]int{"writer": w, "i": i}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("writer error: %v", err)
	}
	head, err := s.VerifyAudit(context.Background())
	if err != nil || head.Seq != writers*each {
		t.Fatalf("head %d, %v; want %d entries in one valid chain", head.Seq, err, writers*each)
	}
}

func TestBackupIsConsistentAndVerifies(t *testing.T) {
	s := auditedStore(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "backup.db")
	got, err := s.Backup(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(ctx, path); err == nil {
		t.Error("a backup over an existing file was allowed")
	}
	orig, _ := s.VerifyAudit(ctx)
	if got.Seq != orig.Seq || string(got.Hash) != string(orig.Hash) {
		t.Fatalf("backup head %+v, original %+v", got, orig)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() == 0 {
		t.Fatalf("backup file: %v, %v; want a non-empty 0600 file", fi, err)
	}
	if s.Dialect() == Postgres {
		// The archive restores into an empty database with the same chain.
		target := pgtest.NewDatabase(t)
		dsn, _, _ := splitPassword(target)
		if err := runPGProgram(ctx, "", "pg_restore", "--no-owner", "--exit-on-error", "--dbname="+dsn, path); err != nil {
			t.Fatal(err)
		}
		path = target
	}
	copyStore, err := OpenExisting(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer copyStore.Close()
	if err := copyStore.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	restored, err := copyStore.VerifyAudit(ctx)
	if err != nil || restored.Seq != orig.Seq || string(restored.Hash) != string(orig.Hash) {
		t.Fatalf("restored head %+v (%v), original %+v", restored, err, orig)
	}
}
