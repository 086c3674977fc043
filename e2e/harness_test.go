// Package e2e drives the real relay and agent binaries, a real X display
// (Xvfb), a real browser (Debian's Chromium via chromedp), real WebRTC and
// the real SQLite file. Everything listens on 127.0.0.1 only.
package e2e

import (
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
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	_ "modernc.org/sqlite"

	"github.com/meekijk/meekijk/internal/pgtest"
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
	code := pgtest.Run(m) // stops the PostgreSQL of the multi-relay tests, if one started
	wineCleanup()
	os.RemoveAll(dir)
	os.Exit(code)
}

// start starts a binary for the test, failing it if it cannot.
func start(t *testing.T, env []string, name string, args ...string) *testrig.Proc {
	t.Helper()
	p, err := testrig.Start(t, env, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitLine returns the rest of p's first stdout line starting with prefix,
// waiting up to 20 s.
func waitLine(t *testing.T, p *testrig.Proc, prefix string) string {
	t.Helper()
	l, err := p.Line(prefix, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type relay struct {
	*testrig.Proc
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
	r := &relay{Proc: p, dataDir: dir}
	r.url = strings.TrimSuffix(waitLine(t, p, "Console: "), "/")
	login := waitLine(t, p, "First admin login: ")
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
	return r.openDB(t, "mode=ro&")
}

// openDB opens the relay's SQLite file with the DSN's query before the
// busy timeout ("mode=ro&" for read-only).
func (r *relay) openDB(t *testing.T, query string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(r.dataDir, "meekijk.db")+"?"+query+"_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type agent struct {
	*testrig.Proc
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
	return &agent{Proc: p, pageURL: waitLine(t, p, "Open this page to continue: ")}
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
	if err := a.Exited(within); err != nil {
		t.Fatal(err)
	}
}

// screenSize is the size of the test's X display, the customer's screen.
var screenSize = image.Pt(1920, 1080)

// startXvfb starts an X server of screenSize for the test.
func startXvfb(t *testing.T) string {
	t.Helper()
	return xvfb.Start(t, screenSize.X, screenSize.Y)
}

// colouredWindow maps a borderless window of one colour (0xRRGGBB) on the
// display, kept until the test ends.
func colouredWindow(t *testing.T, display string, rect image.Rectangle, rgb uint32) {
	t.Helper()
	t.Cleanup(mapWindow(t, display, rect, rgb, 0).Close)
}

// mapWindow maps a borderless window of one colour on the display, on a
// connection of its own that receives the events of the mask; closing the
// connection takes the window away. It returns once the server has drawn
// the window.
func mapWindow(t *testing.T, display string, rect image.Rectangle, rgb, events uint32) *xgb.Conn {
	t.Helper()
	x, _ := mapWindowID(t, display, rect, rgb, events)
	return x
}

// mapWindowID is mapWindow, also returning the window, to move it.
func mapWindowID(t *testing.T, display string, rect image.Rectangle, rgb, events uint32) (*xgb.Conn, xproto.Window) {
	t.Helper()
	x, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatalf("connect to X %s: %v", display, err)
	}
	screen := xproto.Setup(x).DefaultScreen(x)
	wid, err := xproto.NewWindowId(x)
	if err != nil {
		x.Close()
		t.Fatal(err)
	}
	err = xproto.CreateWindowChecked(x, screen.RootDepth, wid, screen.Root,
		int16(rect.Min.X), int16(rect.Min.Y), uint16(rect.Dx()), uint16(rect.Dy()), 0,
		xproto.WindowClassInputOutput, screen.RootVisual,
		xproto.CwBackPixel|xproto.CwOverrideRedirect|xproto.CwEventMask, []uint32{rgb, 1, events}).Check()
	if err == nil {
		err = xproto.MapWindowChecked(x, wid).Check()
	}
	if err == nil {
		_, err = xproto.GetGeometry(x, xproto.Drawable(wid)).Reply()
	}
	if err != nil {
		x.Close()
		t.Fatalf("window at %v: %v", rect, err)
	}
	return x, wid
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
