package pgtest

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// Two tests' databases are separate and each starts empty.
func TestDatabasesAreFreshAndSeparate(t *testing.T) {
	ctx := context.Background()
	var urls []string
	for i := 0; i < 2; i++ {
		urls = append(urls, NewDatabase(t))
	}
	if urls[0] == urls[1] {
		t.Fatalf("same database twice: %s", urls[0])
	}
	for i, u := range urls {
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("database %d has %d tables, want a fresh one", i, n)
		}
		if _, err := db.ExecContext(ctx, "CREATE TABLE only_here (x INTEGER)"); err != nil {
			t.Fatal(err)
		}
	}
}

// The server does not run as root (PostgreSQL refuses to) and listens on
// loopback only.
func TestServerRunsAsNonRootOnLoopback(t *testing.T) {
	u := NewDatabase(t)
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var listen string
	if err := db.QueryRow("SHOW listen_addresses").Scan(&listen); err != nil {
		t.Fatal(err)
	}
	if listen != "127.0.0.1" {
		t.Fatalf("listen_addresses = %q", listen)
	}
	if running.cmd.SysProcAttr.Credential != nil && running.cmd.SysProcAttr.Credential.Uid == 0 {
		t.Fatal("postgres started as root")
	}
	if os.Geteuid() == 0 && running.cred == nil {
		t.Fatal("tests run as root but the server was given no other user")
	}
}

// A child with Pdeathsig dies when the thread that started it ends, and
// the runtime ends a thread whenever a goroutine locked to it returns (the
// e2e tests' network namespaces do). Started plainly from such a goroutine,
// a child is killed; started through startOnOwnThread, it lives until it
// is stopped. The postmaster used to die this way mid-run, and the e2e
// package then failed at its end: pg_ctl waited in vain for it to stop.
func TestChildOutlivesTheThreadThatAskedForIt(t *testing.T) {
	sleep := func() *exec.Cmd {
		cmd := exec.Command("sleep", "30")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		return cmd
	}
	// from runs start on a goroutine locked to its thread, which the
	// runtime then ends.
	from := func(start func(*exec.Cmd) error, cmd *exec.Cmd) {
		errc := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			errc <- start(cmd)
		}()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	// alive waits a moment and reports whether cmd still runs, reaping it.
	alive := func(cmd *exec.Cmd) bool {
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
			return false
		case <-time.After(300 * time.Millisecond):
			_ = cmd.Process.Kill()
			<-exited
			return true
		}
	}

	// The process's first thread is never ended, and a goroutine may
	// run on it: a few tries make the fault show.
	killed := false
	for try := 0; try < 5 && !killed; try++ {
		plain := sleep()
		from((*exec.Cmd).Start, plain)
		killed = !alive(plain)
	}
	if !killed {
		t.Fatal("children started from threads that ended still run: this test cannot show the fault")
	}
	kept := sleep()
	var release func()
	from(func(cmd *exec.Cmd) (err error) {
		release, err = startOnOwnThread(cmd)
		return err
	}, kept)
	if !alive(kept) {
		t.Fatal("the child started through startOnOwnThread died with the thread that asked for it")
	}
	release()
}
