// Package e2e drives the real relay and agent binaries, a real X display
// (Xvfb), a real browser (Debian's Chromium via chromedp), real WebRTC and
// the real SQLite file. Everything listens on 127.0.0.1 only.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	_ "modernc.org/sqlite"

	"github.com/meekijk/meekijk/internal/testrig"
	"github.com/meekijk/meekijk/internal/xvfb"
)

// testVersion is stamped into the binaries, to check --version for real.
const testVersion = "e2e-test-1"

var bin struct {
	relay, agent string
}

func TestMain(m *testing.M) {
	flag.Parse()
	// xgb complains on stderr about the missing ~/.Xauthority that Xvfb
	// does not need.
	xgb.Logger = log.New(io.Discard, "", 0)
	if testing.Short() {
		fmt.Println("e2e: skipped under -short")
		os.Exit(0)
	}
	for _, tool := range []string{"Xvfb", "chromium"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %s not found; run scripts/deps.sh (as root) first\n", tool)
			os.Exit(1)
		}
	}
	dir, err := os.MkdirTemp("", "meekijk-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if bin.relay, bin.agent, err = testrig.Build("..", dir, testVersion); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects a process's output for assertions.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a started binary whose stdout lines are read for announcements.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	lines  chan string
	done   chan struct{}
	err    error
}

func start(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, lines: make(chan string, 64), done: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", filepath.Base(name), p.stderr.String())
		}
	})
	return p
}

// stop asks the process to end (SIGTERM), then kills it after 5 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitLine returns the rest of the first stdout line starting with prefix.
func (p *proc) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l := <-p.lines:
			if strings.HasPrefix(l, prefix) {
				return strings.TrimSpace(strings.TrimPrefix(l, prefix))
			}
		case <-p.done:
			t.Fatalf("process exited before printing %q: %v\n%s", prefix, p.err, p.stderr.String())
		case <-timeout:
			t.Fatalf("no %q line within 20 s\n%s", prefix, p.stderr.String())
		}
	}
}

type relay struct {
	*proc
	url, password, dataDir string
}

func startRelay(t *testing.T, args ...string) *relay {
	t.Helper()
	return startRelayIn(t, nil, args...)
}

// startRelayIn starts the relay through launcher, a command prefix such as
// "ip netns exec NS"; args come after the defaults, so they can override
// -addr.
func startRelayIn(t *testing.T, launcher []string, args ...string) *relay {
	t.Helper()
	dir := t.TempDir()
	name, argv := launch(launcher, bin.relay, append([]string{"-addr", "127.0.0.1:0", "-data", dir, "-company", "Softwarehuis Janssens"}, args...))
	p := start(t, nil, name, argv...)
	r := &relay{proc: p, dataDir: dir}
	r.url = strings.TrimSuffix(p.waitLine(t, "Console: "), "/")
	login := p.waitLine(t, "First admin login: ")
	f := strings.Fields(login) // admin password: X
	if len(f) != 3 {
		t.Fatalf("unexpected admin line %q", login)
	}
	r.password = f[2]
	return r
}

// db opens the relay's SQLite file read-only.
func (r *relay) db(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(r.dataDir, "meekijk.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type agent struct {
	*proc
	pageURL string
}

func startAgent(t *testing.T, relayURL, display string, args ...string) *agent {
	t.Helper()
	return startAgentIn(t, nil, relayURL, display, args...)
}

// startAgentIn starts the agent through launcher, as startRelayIn; args
// can override -ice-allow.
func startAgentIn(t *testing.T, launcher []string, relayURL, display string, args ...string) *agent {
	t.Helper()
	name, argv := launch(launcher, bin.agent, append([]string{"-relay", relayURL, "-no-browser", "-ice-allow", "127.0.0.0/8"}, args...))
	p := start(t, []string{"DISPLAY=" + display, "LANG=nl_BE.UTF-8"}, name, argv...)
	return &agent{proc: p, pageURL: p.waitLine(t, "Open this page to continue: ")}
}

// launch puts a command prefix (none when launcher is empty) before a
// program and its arguments.
func launch(launcher []string, program string, args []string) (string, []string) {
	if len(launcher) == 0 {
		return program, args
	}
	argv := append(slices.Clone(launcher[1:]), program)
	return launcher[0], append(argv, args...)
}

// waitExit waits for the agent to exit on its own.
func (a *agent) waitExit(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-a.done:
	case <-time.After(within):
		t.Fatalf("agent still running after %v", within)
	}
}

// startXvfb starts a 1920x1080 X server for the test.
func startXvfb(t *testing.T) string {
	t.Helper()
	return xvfb.Start(t, 1920, 1080)
}

// colouredWindow maps a borderless window of one colour (0xRRGGBB) on the
// display, kept until the test ends.
func colouredWindow(t *testing.T, display string, rect image.Rectangle, rgb uint32) {
	t.Helper()
	x, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatalf("connect to X %s: %v", display, err)
	}
	t.Cleanup(x.Close)
	screen := xproto.Setup(x).DefaultScreen(x)
	wid, err := xproto.NewWindowId(x)
	if err != nil {
		t.Fatal(err)
	}
	err = xproto.CreateWindowChecked(x, screen.RootDepth, wid, screen.Root,
		int16(rect.Min.X), int16(rect.Min.Y), uint16(rect.Dx()), uint16(rect.Dy()), 0,
		xproto.WindowClassInputOutput, screen.RootVisual,
		xproto.CwBackPixel|xproto.CwOverrideRedirect, []uint32{rgb, 1}).Check()
	if err != nil {
		t.Fatalf("create window: %v", err)
	}
	if err := xproto.MapWindowChecked(x, wid).Check(); err != nil {
		t.Fatalf("map window: %v", err)
	}
	// A round trip makes sure the server has drawn the window.
	if _, err := xproto.GetGeometry(x, xproto.Drawable(wid)).Reply(); err != nil {
		t.Fatal(err)
	}
}

// newBrowser starts headless Chromium, fenced off the network: no
// background traffic, WebRTC on loopback only.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserWith(t)
}

// newBrowserWith is newBrowser with more options, applied after (and so
// overriding) the usual ones.
func newBrowserWith(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(testrig.ChromiumOptions(t.TempDir()), extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return ctx
}

// newTab opens another tab in the same browser.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// run runs chromedp actions with a deadline, failing the test with what.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates JavaScript in the tab and decodes the result.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return out
}

// waitJS polls a JavaScript condition until it is true.
func waitJS(t *testing.T, ctx context.Context, what, cond string, within time.Duration) {
	t.Helper()
	if !becomes(t, ctx, cond, within) {
		t.Fatalf("%s: not true within %v: %s", what, within, cond)
	}
}

// becomes reports whether the JavaScript condition cond holds within the
// given time.
func becomes(t *testing.T, ctx context.Context, cond string, within time.Duration) bool {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		if eval[bool](t, ctx, cond) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// apiClient is a logged-in console user talking JSON to the relay.
type apiClient struct {
	base string
	http *http.Client
	csrf string
}

func loginAPI(t *testing.T, base, email, password string) *apiClient {
	t.Helper()
	return loginAPIVia(t, nil, base, email, password)
}

// loginAPIVia logs in over transport (nil: the default one), for a relay
// that only a special dialer reaches.
func loginAPIVia(t *testing.T, transport http.RoundTripper, base, email, password string) *apiClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &apiClient{base: base, http: &http.Client{Jar: jar, Transport: transport, Timeout: 10 * time.Second}}
	var me struct{ CSRFToken string }
	if status := c.do(t, "POST", "/api/v1/login", map[string]string{"email": email, "password": password}, &me); status != 200 {
		t.Fatalf("login: %d", status)
	}
	c.csrf = me.CSRFToken
	return c
}

// do sends one request; it returns the status, or 0 when the relay did not
// answer (it was killed).
func (c *apiClient) do(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", c.base)
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}
