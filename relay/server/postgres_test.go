package server

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/pgtest"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/internal/store/storetest"
)

// Two relays on one PostgreSQL database and one data directory (its key
// files shared): the first creates the schema and the admin, the second
// finds them; each says which store it uses; both append to the audit
// chain at once; /metrics counts the sessions
// in PostgreSQL and times the query. After both stop, relay audit verify
// accepts the shared chain against both relays' checkpoints, and relay
// backup writes a pg_dump archive of a verified snapshot.
func TestTwoRelaysOnOnePostgresDatabase(t *testing.T) {
	db := pgtest.NewDatabase(t)
	dir := t.TempDir()
	maddr, maddrB := freeAddr(t), freeAddr(t)
	a, _, outA, stopA := startRelayWith(t, Config{DataDir: dir, DB: db, MetricsAddr: maddr})
	b, _, outB, stopB := startRelayWith(t, Config{DataDir: dir, DB: db, MetricsAddr: maddrB})
	for name, out := range map[string]string{"A": outA.String(), "B": outB.String()} {
		if !strings.Contains(out, "Store: PostgreSQL postgres://meekijk@127.0.0.1:") {
			t.Errorf("relay %s printed %q, want which store it uses", name, out)
		}
	}
	if !strings.Contains(outA.String(), "First admin login") || strings.Contains(outB.String(), "First admin login") {
		t.Errorf("the admin should be made once, by the first relay: A %q, B %q", outA.String(), outB.String())
	}

	// A session made through relay A's store is counted in PostgreSQL.
	ctx := store.WithActor(context.Background(), store.Actor{Name: "system"})
	storetest.WaitingSession(t, a.store, []byte("0123456789abcdef0123456789abcdef"), time.Now().Add(time.Minute))
	// Both relays append to the one chain at once: it stays linear (the
	// verify below walks it and checks it against both relays' seals).
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := []*Server{a, b}[i%2].store.RecordAudit(ctx, "test.write", map[string]int{"i": i}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(outA.String(), "Metrics: http://"+maddr) ||
		!strings.Contains(outB.String(), "Metrics: http://"+maddrB); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the relays did not say where their metrics are: %q, %q", outA.String(), outB.String())
		}
	}
	scrape(t, "http://"+maddr) // the histogram may be gathered before the scrape's own query
	m := scrape(t, "http://"+maddr)
	if m[`meekijk_sessions{status="waiting"}`] != 1 || m["meekijk_store_query_seconds_count"] < 1 {
		t.Errorf("metrics: sessions waiting %v, store queries timed %v; want 1 and at least 1",
			m[`meekijk_sessions{status="waiting"}`], m["meekijk_store_query_seconds_count"])
	}
	// Exactly one of the two runs the desk's jobs, once the lock is taken.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		la, lb := scrape(t, "http://"+maddr), scrape(t, "http://"+maddrB)
		_, hasA := la["meekijk_cluster_leader"]
		_, hasB := lb["meekijk_cluster_leader"]
		if !hasA || !hasB {
			t.Fatalf("meekijk_cluster_leader missing: A %v, B %v", hasA, hasB)
		}
		if n := la["meekijk_cluster_leader"] + lb["meekijk_cluster_leader"]; n == 1 {
			break
		} else if n > 1 || time.Now().After(deadline) {
			t.Fatalf("%v relays report leading the desk, want 1", n)
		}
	}

	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := VerifyAudit(context.Background(), dir, db, "", "", &out); err != nil {
		t.Fatalf("audit verify -db: %v", err)
	}
	if !strings.Contains(out.String(), "audit chain ok") || !strings.Contains(out.String(), "signed checkpoints match") {
		t.Errorf("audit verify printed %q", out.String())
	}
	out.Reset()
	file := filepath.Join(t.TempDir(), "desk.dump")
	if err := Backup(context.Background(), dir, db, file, &out); err != nil {
		t.Fatalf("backup -db: %v", err)
	}
	if !strings.Contains(out.String(), "audit chain ok") || !strings.Contains(out.String(), "pg_restore") {
		t.Errorf("backup printed %q", out.String())
	}

	// A URL of a database without Meekijk's schema is refused, not
	// migrated: a typo must not verify an empty desk.
	if err := VerifyAudit(context.Background(), dir, pgtest.NewDatabase(t), "", "", &out); err == nil ||
		!strings.Contains(err.Error(), "no Meekijk schema") {
		t.Errorf("verify of an empty database: %v, want refused", err)
	}
	if err := VerifyAudit(context.Background(), dir, "host=127.0.0.1", "", "", &out); err == nil ||
		!strings.Contains(err.Error(), "postgres:// URL") {
		t.Errorf("verify with a -db that is no URL: %v, want refused", err)
	}
}
