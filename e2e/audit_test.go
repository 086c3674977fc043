package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func relayCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(bin.relay, args...).CombinedOutput()
	return string(out), err
}

// TestAuditSurvivesKill9: a burst of audited writes, kill -9 in the middle,
// restart: the file is intact, the chain verifies, and every write the
// relay acknowledged before dying is in it.
func TestAuditSurvivesKill9(t *testing.T) {
	r := startRelay(t)
	api := loginAPI(t, r.url, "admin", r.password)
	var acked atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Bounded: at most 2000 writes or 20 s.
		deadline := time.Now().Add(20 * time.Second)
		for i := 0; i < 2000 && time.Now().Before(deadline); i++ {
			status := api.do(t, "POST", "/api/v1/rates/default", map[string]any{"centsPerHour": 5000 + i, "effectiveFrom": "2026-01-01"}, nil)
			if status == 0 {
				return
			}
			if status == 200 {
				acked.Add(1)
			}
		}
	}()
	for acked.Load() < 150 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := r.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-r.Done()
	<-done
	n := acked.Load()

	out, err := relayCmd(t, "audit", "verify", "-data", r.dataDir)
	if err != nil || !strings.Contains(out, "audit chain ok") {
		t.Fatalf("verify after kill -9: %v\n%s", err, out)
	}
	var logged int64
	if err := r.db(t).QueryRow(`SELECT count(*) FROM audit_log WHERE event = 'rate.added'`).Scan(&logged); err != nil {
		t.Fatal(err)
	}
	var integrity string
	r.db(t).QueryRow(`PRAGMA integrity_check`).Scan(&integrity)
	if logged < n || integrity != "ok" {
		t.Fatalf("%d writes acknowledged, %d in the audit log after kill -9; integrity %q", n, logged, integrity)
	}
	t.Logf("%d acknowledged writes before kill -9, %d recorded", n, logged)

	// The relay starts again on the same data, and the chain goes on.
	again := start(t, nil, bin.relay, "-addr", "127.0.0.1:0", "-data", r.dataDir)
	url := strings.TrimSuffix(waitLine(t, again, "Console: "), "/")
	if status := loginAPI(t, url, "admin", r.password).do(t, "POST", "/api/v1/rates/default", map[string]any{"centsPerHour": 1, "effectiveFrom": "2026-01-01"}, nil); status != 200 {
		t.Fatalf("write after restart: %d", status)
	}
	if out, err := relayCmd(t, "audit", "verify", "-data", r.dataDir); err != nil {
		t.Fatalf("verify after restart: %v\n%s", err, out)
	}
}

// TestBackupAndTamperedCopy: an online backup of a running relay passes
// the integrity check and verification; the same copy, tampered, fails and
// names the first bad entry; a checkpoint catches a truncated chain.
func TestBackupAndTamperedCopy(t *testing.T) {
	r := startRelay(t, "-checkpoint-interval", "200ms")
	api := loginAPI(t, r.url, "admin", r.password)
	for i := 0; i < 5; i++ {
		if status := api.do(t, "POST", "/api/v1/rates/default", map[string]any{"centsPerHour": 7000 + i, "effectiveFrom": "2026-01-01"}, nil); status != 200 {
			t.Fatalf("rate %d: %d", i, status)
		}
	}
	time.Sleep(500 * time.Millisecond) // a checkpoint of the current head
	backup := filepath.Join(t.TempDir(), "backup.db")
	out, err := relayCmd(t, "backup", "-data", r.dataDir, backup)
	if err != nil || !strings.Contains(out, "integrity ok, audit chain ok") {
		t.Fatalf("backup while running: %v\n%s", err, out)
	}
	copyDir := filepath.Dir(backup)
	if err := os.Rename(backup, filepath.Join(copyDir, "meekijk.db")); err != nil {
		t.Fatal(err)
	}
	// A copy has no checkpoints of its own: it is checked against the
	// relay's, with the key the relay printed (relay audit pubkey).
	pub, err := relayCmd(t, "audit", "pubkey", "-data", r.dataDir)
	if err != nil || !strings.HasPrefix(pub, "ed25519:") {
		t.Fatalf("audit pubkey: %v %q", err, pub)
	}
	pub = strings.TrimSpace(pub)
	if out, err := relayCmd(t, "audit", "verify", "-data", copyDir); err == nil || strings.Contains(out, "audit chain ok") {
		t.Fatalf("a copy without checkpoints verified by default: %v\n%s", err, out)
	}
	if out, err := relayCmd(t, "audit", "verify", "-data", copyDir, "-checkpoints", "none"); err != nil {
		t.Fatalf("verify untouched copy: %v\n%s", err, out)
	}
	checkpoints := filepath.Join(r.dataDir, "audit-checkpoints.log")
	cp, err := os.ReadFile(checkpoints)
	if err != nil || !regexp.MustCompile(`seq=\d+ hash=[0-9a-f]{64}`).Match(cp) {
		t.Fatalf("checkpoint file %q: %v", cp, err)
	}
	if out, err := relayCmd(t, "audit", "verify", "-data", copyDir, "-checkpoints", checkpoints, "-pubkey", pub); err != nil {
		t.Fatalf("verify against checkpoints: %v\n%s", err, out)
	}

	tamper := func(q string) {
		t.Helper()
		out, err := exec.Command("go", "run", "./sqlexec", filepath.Join(copyDir, "meekijk.db"), q).CombinedOutput()
		if err != nil {
			t.Fatalf("tamper: %v\n%s", err, out)
		}
	}
	// Truncation: drop the last entries; the chain alone still verifies,
	// the checkpoints do not.
	var head int64
	all := regexp.MustCompile(`seq=(\d+)`).FindAllStringSubmatch(string(cp), -1)
	fmt.Sscanf(all[len(all)-1][1], "%d", &head)
	tamper(fmt.Sprintf("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq >= %d", head))
	if out, err := relayCmd(t, "audit", "verify", "-data", copyDir, "-checkpoints", "none"); err != nil {
		t.Fatalf("a truncated chain should verify on its own: %v\n%s", err, out)
	}
	if out, err := relayCmd(t, "audit", "verify", "-data", copyDir, "-checkpoints", checkpoints, "-pubkey", pub); err == nil || !strings.Contains(out, "broken at seq") {
		t.Fatalf("truncation not caught by the checkpoints: %v\n%s", err, out)
	}
	// An edited payload: verification names the entry.
	tamper("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET payload = replace(payload, '7002', '1') WHERE event = 'rate.added'")
	out, err = relayCmd(t, "audit", "verify", "-data", copyDir, "-checkpoints", "none")
	if err == nil || !regexp.MustCompile(`broken at seq \d+: hash does not match`).MatchString(out) {
		t.Fatalf("edited payload not caught: %v\n%s", err, out)
	}
	t.Logf("tampered copy: %s", strings.TrimSpace(out))
}
