package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/audit"
)

// sealedDesk runs a relay on a fresh data directory, records n audit
// entries, and shuts it down; it returns the directory and the public key
// the relay printed at first start.
func sealedDesk(t *testing.T, n int) (dir, printedKey string) {
	t.Helper()
	dir = t.TempDir()
	srv, _, out, stop := startRelayWith(t, Config{DataDir: dir})
	// The tests keep the seals of the entries before theirs: wait for the
	// first one, which Run writes as it starts (on a loaded machine, after
	// the events below unless waited for).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(filepath.Join(dir, CheckpointFile)); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no first checkpoint within 10 s of the start")
		}
	}
	for i := range n {
		if err := srv.store.RecordAudit(context.Background(), "test.event", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	_, after, ok := strings.Cut(out.String(), "Audit checkpoint key: ")
	if !ok {
		t.Fatalf("first start printed no audit key: %q", out.String())
	}
	return dir, strings.SplitN(after, "\n", 2)[0]
}

// copyDesk copies a data directory, so each tampering starts from the same
// sealed desk.
func copyDesk(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		// A folder of the desk (attachments) is copied whole; the files at
		// the top keep the owner-only mode the verify insists on.
		if e.IsDir() {
			if err := os.CopyFS(filepath.Join(dst, e.Name()), os.DirFS(filepath.Join(src, e.Name()))); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// tamper plays an attacker with write access to the database file: it
// drops the triggers that guard the log, runs q, and, when rehash is set,
// recomputes every hash so the chain verifies on its own.
func tamper(t *testing.T, dir, q string, rehash bool) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{"DROP TRIGGER IF EXISTS audit_log_no_update", "DROP TRIGGER IF EXISTS audit_log_no_delete", q} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if !rehash {
		return
	}
	rows, err := db.Query("SELECT seq, at, actor, ip, event, payload FROM audit_log ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	var entries []audit.Entry
	for rows.Next() {
		var e audit.Entry
		var payload string
		if err := rows.Scan(&e.Seq, &e.At, &e.Actor, &e.IP, &e.Event, &payload); err != nil {
			t.Fatal(err)
		}
		e.Payload = []byte(payload)
		entries = append(entries, e)
	}
	rows.Close()
	prev := audit.Genesis
	for _, e := range entries {
		if prev, err = audit.ChainHash(prev, e); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("UPDATE audit_log SET hash = ? WHERE seq = ?", prev, e.Seq); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(dir, checkpoints, pub string) (string, error) {
	var out bytes.Buffer
	err := VerifyAudit(context.Background(), dir, checkpoints, pub, &out)
	return out.String(), err
}

func lastCheckpoint(t *testing.T, dir string) audit.Checkpoint {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	cp, err := audit.ParseCheckpoint(lines[len(lines)-1])
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// TestCheckpointAtShutdown: the relay seals the chain's head when it stops,
// so nothing it wrote is left after the last checkpoint; verify uses the
// data directory's file and key by default.
func TestCheckpointAtShutdown(t *testing.T) {
	dir, key := sealedDesk(t, 5)
	cp := lastCheckpoint(t, dir)
	if cp.Seq != 7 { // the first admin, the desk's default rate, then five entries
		t.Fatalf("last checkpoint %s, want seq 7: the shutdown did not seal the head", cp)
	}
	pub, err := audit.ParsePublicKey(key)
	if err != nil || !cp.Verify(pub) {
		t.Fatalf("checkpoint %s does not verify with the printed key %s (%v)", cp, key, err)
	}
	out, err := verify(dir, "", "")
	if err != nil || !strings.Contains(out, "audit chain ok: 7 entries") || !strings.Contains(out, "signed checkpoints match") ||
		strings.Contains(out, "not sealed") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	if st, err := os.Stat(filepath.Join(dir, audit.KeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, st.Mode())
	}
}

// TestVerifyCatchesTailTampering: each way of changing the newest part of
// the log unseen is caught by the default verify, which then prints
// nothing but the failure.
func TestVerifyCatchesTailTampering(t *testing.T) {
	desk, key := sealedDesk(t, 6)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	// forgeLine plays the attacker who also edits the checkpoint file:
	// the genuine seals of rewritten entries go, a new one of the forged
	// head comes.
	forgeLine := func(t *testing.T, dir string, sign func(cp audit.Checkpoint) audit.Checkpoint) {
		var head audit.Checkpoint
		db, _ := sql.Open("sqlite", "file:"+dbPath(dir))
		defer db.Close()
		if err := db.QueryRow("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&head.Seq, &head.Hash); err != nil {
			t.Fatal(err)
		}
		head.At = time.Now()
		path := filepath.Join(dir, CheckpointFile)
		old, _ := os.ReadFile(path)
		var kept []string
		for _, l := range strings.Split(strings.TrimSpace(string(old)), "\n") {
			if cp, err := audit.ParseCheckpoint(l); err == nil && cp.Seq < 5 {
				kept = append(kept, l)
			}
		}
		kept = append(kept, sign(head).String())
		if err := os.WriteFile(path, []byte(strings.Join(kept, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rewrite := `UPDATE audit_log SET payload = '{"n":99}' WHERE seq >= 5`
	for _, tc := range []struct {
		name, pub, want string
		do              func(t *testing.T, dir string)
	}{
		{"newest rows deleted", "", "beyond the chain's end", func(t *testing.T, dir string) {
			tamper(t, dir, "DELETE FROM audit_log WHERE seq >= 6", false)
		}},
		{"tail rewritten and re-hashed", "", "does not match the chain (rewritten)", func(t *testing.T, dir string) {
			tamper(t, dir, rewrite, true)
		}},
		{"forged unsigned checkpoint", "", "no signature after signed ones", func(t *testing.T, dir string) {
			tamper(t, dir, rewrite, true)
			forgeLine(t, dir, func(cp audit.Checkpoint) audit.Checkpoint { return cp })
		}},
		{"checkpoint signed by another key", "", "signature does not verify", func(t *testing.T, dir string) {
			tamper(t, dir, rewrite, true)
			forgeLine(t, dir, func(cp audit.Checkpoint) audit.Checkpoint {
				return audit.SignCheckpoint(otherKey, cp.At, cp.Seq, cp.Hash)
			})
		}},
		{"key replaced and every checkpoint re-signed", key, "signature does not verify", func(t *testing.T, dir string) {
			tamper(t, dir, rewrite, true)
			os.Remove(filepath.Join(dir, audit.KeyFile))
			os.Remove(filepath.Join(dir, CheckpointFile))
			k, _, err := audit.LoadOrCreateKey(dir)
			if err != nil {
				t.Fatal(err)
			}
			forgeLine(t, dir, func(cp audit.Checkpoint) audit.Checkpoint { return audit.SignCheckpoint(k, cp.At, cp.Seq, cp.Hash) })
		}},
		{"checkpoint file removed", "", "checkpoints:", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, CheckpointFile))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDesk(t, desk)
			tc.do(t, dir)
			out, err := verify(dir, "", tc.pub)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("verify: %v, want an error with %q\n%s", err, tc.want, out)
			}
			if out != "" {
				t.Fatalf("verify printed %q before failing: it must print only the failure", out)
			}
		})
	}
	// The chain alone (a backup without its checkpoints) is still checkable,
	// and says what it did not check.
	dir := copyDesk(t, desk)
	tamper(t, dir, rewrite, true)
	if out, err := verify(dir, CheckpointsNone, ""); err != nil || !strings.Contains(out, "no checkpoints checked") {
		t.Fatalf("-checkpoints none: %v\n%s", err, out)
	}
}

// TestCheckpointEvery100Entries: a burst of entries is sealed without
// waiting for the interval.
func TestCheckpointEvery100Entries(t *testing.T) {
	dir := t.TempDir()
	srv, _, _, _ := startRelayWith(t, Config{DataDir: dir, CheckpointInterval: time.Minute})
	for i := range 150 {
		if err := srv.store.RecordAudit(context.Background(), "test.event", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for lastCheckpoint(t, dir).Seq < 101 {
		if time.Now().After(deadline) {
			t.Fatalf("after 150 entries the last checkpoint is %s, want seq ≥ 101 well before the minute", lastCheckpoint(t, dir))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T, network string) int {
	t.Helper()
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
}

// TestCheckpointsReachSyslog: with -audit-syslog, each checkpoint reaches
// Debian's rsyslogd (started here on 127.0.0.1 with a private config and
// spool directory) as an RFC 5424 message, over TCP and over UDP.
func TestCheckpointsReachSyslog(t *testing.T) {
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Fatal("rsyslogd not found: run scripts/deps.sh (Debian package rsyslog)")
	}
	work := t.TempDir()
	spool := filepath.Join(work, "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	received := filepath.Join(work, "received.log")
	tcpPort, udpPort := freePort(t, "tcp"), freePort(t, "udp")
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imtcp")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="cp")
input(type="imudp" address="127.0.0.1" port="%d" ruleset="cp")
template(name="fields" type="string" string="%%protocol-version%% %%syslogfacility-text%% %%syslogseverity-text%% %%app-name%% %%msgid%% %%msg%%\n")
ruleset(name="cp") { action(type="omfile" file=%q template="fields") }
`, spool, tcpPort, udpPort, received)
	confPath := filepath.Join(work, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(work, "rsyslogd.pid"))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd does not listen: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			port := tcpPort
			if network == "udp" {
				port = udpPort
			}
			dir := t.TempDir()
			srv, _, _, stop := startRelayWith(t, Config{DataDir: dir, AuditSyslog: fmt.Sprintf("%s://127.0.0.1:%d", network, port)})
			if err := srv.store.RecordAudit(context.Background(), "test.event", map[string]any{"via": network}); err != nil {
				t.Fatal(err)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			want := "1 authpriv notice meekijk-relay audit-checkpoint " + lastCheckpoint(t, dir).String()
			deadline := time.Now().Add(10 * time.Second)
			for {
				b, _ := os.ReadFile(received)
				if strings.Contains(string(b), want+"\n") {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("rsyslogd received %q, want a line %q\nrsyslogd: %s", b, want, logs.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
