// Package pgtest starts Debian's PostgreSQL for tests: one throw-away
// cluster per test binary, a fresh database per test.
//
// A package that uses it calls Run from its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
//
// and each test asks for a database with NewDatabase(t), which returns a
// postgres:// URL. The cluster starts at the first NewDatabase (packages
// whose tests never ask pay nothing) and Run stops it after m.Run.
//
// The cluster is initdb'd into a temporary directory and listens on a unix
// socket in that directory and on 127.0.0.1 at a free port, with trust
// authentication (loopback only, a directory only its owner can enter).
// PostgreSQL refuses to run as root; when the tests run as root (as in CI
// here), initdb and postgres run as the user named by MEEKIJK_PG_USER, else
// "postgres" (Debian's package creates it), else "nobody": the Go process
// drops to that user for the child through SysProcAttr.Credential, so no
// runuser/setpriv/sudo is needed, and the temporary directory is given to
// that user.
//
// When no PostgreSQL binaries are found (looked for in MEEKIJK_PG_BIN, the
// newest /usr/lib/postgresql/*/bin, then PATH), NewDatabase skips the test
// saying why, unless MEEKIJK_PG_REQUIRED=1, when it fails it instead:
// make test sets that, so CI cannot pass by skipping.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// cluster is the running server of this test binary.
type cluster struct {
	dir     string // temporary root: data/, sock/, log
	bin     string
	cred    *syscall.Credential // nil when we are not root
	port    int
	cmd     *exec.Cmd
	logPath string
	// releaseThread frees the thread that started the postmaster, once it
	// was reaped (startOnOwnThread).
	releaseThread func()
}

var (
	startOnce sync.Once
	running   *cluster
	startErr  error
	skipWhy   string // non-empty: no PostgreSQL here, and why
	dbSeq     atomic.Int64
)

// Run runs the tests and then stops the cluster if one was started. Use it
// from TestMain.
func Run(m *testing.M) int {
	code := m.Run()
	if running != nil {
		if err := running.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// NewDatabase creates a fresh, empty database for the test on the shared
// cluster and returns its postgres:// URL. The database is dropped when
// the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return NewDatabaseFrom(t, "template0")
}

var (
	templatesMu sync.Mutex
	templates   = map[string]error{} // made templates, and how making each ended
)

// Template makes, once per test binary, a database called name that fill
// prepares (given its URL; fill must close its connections when done), to
// copy with NewDatabaseFrom: a package whose every test needs the same
// schema builds it once instead of once per test.
func Template(t testing.TB, name string, fill func(url string) error) string {
	t.Helper()
	c := Cluster(t).c
	templatesMu.Lock()
	defer templatesMu.Unlock()
	err, made := templates[name]
	if !made {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err = c.admin(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err == nil {
			err = fill(c.url(name))
		}
		templates[name] = err
	}
	if err != nil {
		t.Fatalf("pgtest: template %s: %v", name, err)
	}
	return name
}

// NewDatabaseFrom is NewDatabase with a copy of template (a name Template
// returned) instead of an empty database.
func NewDatabaseFrom(t testing.TB, template string) string {
	t.Helper()
	c := Cluster(t).c
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.admin(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE closes connections a failed test left open.
		if err := c.admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c.url(name)
}

// Handle is the running cluster as seen by a test.
type Handle struct{ c *cluster }

// Cluster starts the shared cluster if needed, skipping the test (or
// failing it under MEEKIJK_PG_REQUIRED=1) where PostgreSQL is not
// installed.
func Cluster(t testing.TB) Handle {
	t.Helper()
	startOnce.Do(func() { running, startErr = start() })
	if skipWhy != "" {
		if os.Getenv("MEEKIJK_PG_REQUIRED") == "1" {
			t.Fatalf("pgtest: MEEKIJK_PG_REQUIRED=1 but %s", skipWhy)
		}
		t.Skipf("pgtest: %s", skipWhy)
	}
	if startErr != nil {
		t.Fatalf("pgtest: %v", startErr)
	}
	return Handle{running}
}

// URL is the postgres:// URL of database name on the cluster, over TCP on
// 127.0.0.1 (what a relay started as another process would be given).
func (h Handle) URL(name string) string { return h.c.url(name) }

// BinDir is the directory of the PostgreSQL programs in use (pg_dump,
// psql), so tests run the same version as the server.
func (h Handle) BinDir() string { return h.c.bin }

func (c *cluster) url(name string) string {
	return fmt.Sprintf("postgres://meekijk@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

func (c *cluster) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.url("postgres"))
	if err != nil {
		return fmt.Errorf("connect to cluster: %w (log %s)", err, c.logPath)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// findBin returns the directory of initdb/postgres/pg_ctl, or "" and why
// not.
func findBin() (string, string) {
	if d := os.Getenv("MEEKIJK_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err != nil {
			return "", fmt.Sprintf("MEEKIJK_PG_BIN=%s has no postgres program: %v", d, err)
		}
		return d, ""
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first: "15" < "16" as numbers, not strings.
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, ""
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		// Debian links its programs into /usr/local/bin on some machines;
		// resolve so pg_ctl/initdb come from the same version.
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return filepath.Dir(p), ""
	}
	return "", "PostgreSQL is not installed (no postgres in MEEKIJK_PG_BIN, /usr/lib/postgresql/*/bin or PATH); " +
		"install Debian's postgresql package (scripts/deps.sh does)"
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// serverUser is the account initdb and postgres run as when we are root.
func serverUser() (*syscall.Credential, string, error) {
	if os.Geteuid() != 0 {
		return nil, "", nil
	}
	names := []string{"postgres", "nobody"}
	if n := os.Getenv("MEEKIJK_PG_USER"); n != "" {
		names = []string{n}
	}
	for _, n := range names {
		u, err := user.Lookup(n)
		if err != nil {
			continue
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		if uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, n, nil
	}
	return nil, "", fmt.Errorf("running as root and none of the users %v exists to run PostgreSQL as (set MEEKIJK_PG_USER)", names)
}

func start() (*cluster, error) {
	bin, why := findBin()
	if bin == "" {
		skipWhy = why
		return nil, nil
	}
	cred, who, err := serverUser()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "meekijk-pg-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	c := &cluster{dir: dir, bin: bin, cred: cred, logPath: filepath.Join(dir, "postgres.log")}
	fail := func(err error) (*cluster, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	sock := filepath.Join(dir, "sock")
	if err := os.Mkdir(sock, 0o700); err != nil {
		return fail(err)
	}
	if cred != nil {
		// The directory stays 0700: only the server's user (and root) can
		// reach the socket and the data.
		for _, p := range []string{dir, sock} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return fail(fmt.Errorf("give %s to %s: %w", p, who, err))
			}
		}
	}
	data := filepath.Join(dir, "data")
	// --no-sync and, below, fsync=off: a test cluster is thrown away, and
	// syncing would cost the suite most of its time on this machine.
	initdb := c.command("initdb", "-D", data, "-U", "meekijk", "--auth=trust", "--no-sync",
		"--encoding=UTF8", "--locale=C")
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb (as %s): %w\n%s", nonEmpty(who), err, out))
	}
	c.port, err = freePort()
	if err != nil {
		return fail(err)
	}
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fail(err)
	}
	defer logf.Close()
	// The postmaster is our child, not pg_ctl's daemon: Pdeathsig kills it
	// if the test binary dies without reaching Run's stop (a timeout
	// panic, kill -9), and the backends exit when the postmaster does, so
	// nothing is left running.
	c.cmd = c.command("postgres", "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(c.port),
		"-c", "unix_socket_directories="+sock,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=64MB")
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if c.releaseThread, err = startOnOwnThread(c.cmd); err != nil {
		return fail(fmt.Errorf("start postgres: %w", err))
	}
	if err := c.waitReady(30 * time.Second); err != nil {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
		c.releaseThread()
		log, _ := os.ReadFile(c.logPath)
		return fail(fmt.Errorf("%w\n%s", err, log))
	}
	return c, nil
}

// startOnOwnThread starts cmd, whose Pdeathsig is set, from an OS thread
// kept for it until release is called. The kernel sends Pdeathsig when the
// thread that started the child ends, not the process, and the runtime
// ends a thread whenever a goroutine locked to it returns (the e2e tests'
// network namespaces do): started from any thread, the postmaster was
// killed at random mid-run, and pg_ctl then waited in vain for it to stop.
func startOnOwnThread(cmd *exec.Cmd) (release func(), err error) {
	started := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		started <- cmd.Start()
		<-done
	}()
	if err := <-started; err != nil {
		close(done)
		return nil, err
	}
	return func() { close(done) }, nil
}

func nonEmpty(who string) string {
	if who == "" {
		return "the current user"
	}
	return who
}

// command runs a PostgreSQL program as the server's user.
func (c *cluster) command(prog string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	// HOME and the locale of root would not do for another user.
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Dir = c.dir
	return cmd
}

// waitReady polls until the server takes connections. No goroutine waits
// on the postmaster: stop reaps it. (One holds the thread that started it,
// startOnOwnThread; tests that check with goleak that nothing outlives
// them take it as it was when they began, goleak.IgnoreCurrent.)
func (c *cluster) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		if c.cmd.ProcessState != nil || c.cmd.Process.Signal(syscall.Signal(0)) != nil {
			return fmt.Errorf("postgres exited while starting: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %s: %w", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the cluster down (immediate mode: nothing in it is kept),
// reaps the postmaster and removes the cluster's directory.
func (c *cluster) stop() error {
	var errs []error
	out, err := c.command("pg_ctl", "stop", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "-t", "30").CombinedOutput()
	if err != nil {
		errs = append(errs, fmt.Errorf("pg_ctl stop: %w: %s; killed", err, bytes.TrimSpace(out)))
		_ = c.cmd.Process.Kill()
	}
	// An immediate shutdown ends the postmaster with a non-zero status:
	// only its having ended matters here.
	var exit *exec.ExitError
	if err := c.cmd.Wait(); err != nil && !errors.As(err, &exit) {
		errs = append(errs, fmt.Errorf("wait for postgres: %w", err))
	}
	c.releaseThread()
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
