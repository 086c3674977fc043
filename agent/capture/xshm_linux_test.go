//go:build linux && cgo

package capture

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/kbinani/screenshot"

	"github.com/meekijk/meekijk/internal/xvfb"
)

// These tests capture a real X server (Xvfb, which has MIT-SHM and
// DAMAGE) while a second connection, the painter, draws on it.

type painter struct {
	c       *xgb.Conn
	root    xproto.Window
	gc      xproto.Gcontext
	display string
}

// startX starts an Xvfb screen of w x h and points $DISPLAY, which Xlib
// and kbinani/screenshot read, at it.
func startX(tb testing.TB, w, h int) *painter {
	tb.Helper()
	if !xvfb.Available() {
		tb.Skip("Xvfb is not installed (scripts/deps.sh installs it)")
	}
	d := xvfb.Start(tb, w, h)
	tb.Setenv("DISPLAY", d)
	if _, err := displayBounds(0); err != nil { // also silences xgb's logger
		tb.Fatal(err)
	}
	c, err := xgb.NewConnDisplay(d)
	if err != nil {
		tb.Fatalf("connect to %s: %v", d, err)
	}
	tb.Cleanup(c.Close)
	p := &painter{c: c, root: xproto.Setup(c).DefaultScreen(c).Root, display: d}
	if p.gc, err = xproto.NewGcontextId(c); err != nil {
		tb.Fatal(err)
	}
	if err := xproto.CreateGCChecked(c, p.gc, xproto.Drawable(p.root), 0, nil).Check(); err != nil {
		tb.Fatal(err)
	}
	return p
}

// fill paints r in colour col on win and returns once the server has
// done it (a checked request waits for the server's answer).
func (p *painter) fill(tb testing.TB, win xproto.Window, r image.Rectangle, col color.RGBA) {
	tb.Helper()
	pixel := uint32(col.R)<<16 | uint32(col.G)<<8 | uint32(col.B)
	if err := xproto.ChangeGCChecked(p.c, p.gc, xproto.GcForeground, []uint32{pixel}).Check(); err != nil {
		tb.Fatal(err)
	}
	rect := xproto.Rectangle{X: int16(r.Min.X), Y: int16(r.Min.Y), Width: uint16(r.Dx()), Height: uint16(r.Dy())}
	if err := xproto.PolyFillRectangleChecked(p.c, xproto.Drawable(win), p.gc, []xproto.Rectangle{rect}).Check(); err != nil {
		tb.Fatal(err)
	}
}

// window maps a child window of the root at r, as an application would.
func (p *painter) window(tb testing.TB, r image.Rectangle) xproto.Window {
	tb.Helper()
	w, err := xproto.NewWindowId(p.c)
	if err != nil {
		tb.Fatal(err)
	}
	s := xproto.Setup(p.c).DefaultScreen(p.c)
	if err := xproto.CreateWindowChecked(p.c, s.RootDepth, w, p.root, int16(r.Min.X), int16(r.Min.Y),
		uint16(r.Dx()), uint16(r.Dy()), 0, xproto.WindowClassInputOutput, s.RootVisual,
		xproto.CwBackPixel, []uint32{0}).Check(); err != nil {
		tb.Fatal(err)
	}
	if err := xproto.MapWindowChecked(p.c, w).Check(); err != nil {
		tb.Fatal(err)
	}
	return w
}

var (
	red   = color.RGBA{255, 0, 0, 255}
	green = color.RGBA{0, 255, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
)

func openXShm(t testing.TB) *xshm {
	t.Helper()
	src, err := NewScreen(0)
	if err != nil {
		t.Fatalf("NewScreen(0): %v", err)
	}
	t.Cleanup(func() { src.Close() })
	s, ok := src.(*xshm)
	if !ok {
		t.Fatalf("NewScreen on Xvfb gave %v, want the shared-memory source", src)
	}
	return s
}

func frameFor(size image.Point) *image.YCbCr {
	return image.NewYCbCr(image.Rectangle{Max: image.Pt(size.X&^1, size.Y&^1)}, image.YCbCrSubsampleRatio420)
}

// grabChanged grabs until the screen is reported changed: damage events
// reach the capture connection a moment after the painter's request.
func grabChanged(t *testing.T, src Source, dst *image.YCbCr) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := Grab(src, dst)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrUnchanged) {
			t.Fatalf("Grab: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("Grab still reports the screen unchanged 5 s after drawing")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle grabs until a grab reports no change, then asserts that an idle
// screen keeps reporting none.
func settle(t *testing.T, src Source, dst *image.YCbCr) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for Grab(src, dst) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the idle screen keeps reporting changes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for range 10 {
		time.Sleep(10 * time.Millisecond)
		if err := Grab(src, dst); !errors.Is(err, ErrUnchanged) {
			t.Fatalf("Grab on an idle screen: %v, want ErrUnchanged", err)
		}
	}
}

// checkColour asserts the frame's samples at screen point pt.
func checkColour(t *testing.T, dst *image.YCbCr, pt image.Point, c color.RGBA) {
	t.Helper()
	wy, wcb, wcr := int32(c.R), int32(c.G), int32(c.B)
	y := uint8((66*wy+129*wcb+25*wcr+128)>>8 + 16)
	cb := uint8((-38*wy-74*wcb+112*wcr+128)>>8 + 128)
	cr := uint8((112*wy-94*wcb-18*wcr+128)>>8 + 128)
	gy, gcb, gcr := dst.Y[dst.YOffset(pt.X, pt.Y)], dst.Cb[dst.COffset(pt.X, pt.Y)], dst.Cr[dst.COffset(pt.X, pt.Y)]
	if gy != y || gcb != cb || gcr != cr {
		t.Fatalf("Y,Cb,Cr at %v = %d,%d,%d; want %v's %d,%d,%d", pt, gy, gcb, gcr, c, y, cb, cr)
	}
}

func TestXShmCapturesScreen(t *testing.T) {
	p := startX(t, 643, 481) // odd: the frame crops a column and a row
	p.fill(t, p.root, image.Rect(0, 0, 643, 481), blue)
	p.fill(t, p.root, image.Rect(100, 50, 300, 200), red)
	s := openXShm(t)
	if got := s.Bounds(); got != image.Rect(0, 0, 643, 481) {
		t.Fatalf("Bounds() = %v", got)
	}
	for _, d := range []int{-1, 1, 1 << 20} {
		if src, err := NewScreen(d); err == nil {
			src.Close()
			t.Errorf("NewScreen(%d) on a one-display server succeeded", d)
		}
	}

	dst := frameFor(s.Bounds().Size())
	if err := Grab(s, dst); err != nil {
		t.Fatalf("first Grab: %v", err)
	}
	checkColour(t, dst, image.Pt(150, 100), red)
	checkColour(t, dst, image.Pt(100, 50), red)
	checkColour(t, dst, image.Pt(98, 48), blue)
	checkColour(t, dst, image.Pt(640, 478), blue)

	img, err := s.Capture()
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if img.Bounds() != s.Bounds() {
		t.Fatalf("Capture gave %v, want %v", img.Bounds(), s.Bounds())
	}
	for _, c := range []struct {
		at   image.Point
		want color.RGBA
	}{{image.Pt(150, 100), red}, {image.Pt(299, 199), red}, {image.Pt(300, 200), blue}, {image.Pt(642, 480), blue}} {
		if got := img.RGBAAt(c.at.X, c.at.Y); got != c.want {
			t.Errorf("Capture at %v = %v, want %v", c.at, got, c.want)
		}
	}
}

// settledBlue is a blue 320x240 screen with a shared-memory source that
// has grabbed it and reports no further change.
func settledBlue(t *testing.T) (*painter, *xshm, *image.YCbCr) {
	t.Helper()
	p := startX(t, 320, 240)
	p.fill(t, p.root, image.Rect(0, 0, 320, 240), blue)
	s := openXShm(t)
	dst := frameFor(s.Bounds().Size())
	if err := Grab(s, dst); err != nil {
		t.Fatalf("first Grab: %v", err)
	}
	settle(t, s, dst)
	return p, s, dst
}

func TestXShmDamage(t *testing.T) {
	p, s, dst := settledBlue(t)

	// A Capture in between must not swallow the change Grab reports.
	p.fill(t, p.root, image.Rect(10, 10, 50, 50), green)
	if _, err := s.Capture(); err != nil {
		t.Fatal(err)
	}
	grabChanged(t, s, dst)
	checkColour(t, dst, image.Pt(20, 20), green)
	settle(t, s, dst)

	// Drawing inside an application's window is damage to the root too.
	w := p.window(t, image.Rect(100, 100, 200, 200))
	grabChanged(t, s, dst) // the window appeared
	settle(t, s, dst)
	p.fill(t, w, image.Rect(10, 10, 60, 60), red)
	grabChanged(t, s, dst)
	checkColour(t, dst, image.Pt(120, 120), red)
	checkColour(t, dst, image.Pt(20, 20), green)
	settle(t, s, dst)
}

// TestScreenFallbackUnchanged checks that kbinani's source, which has no
// damage events, still reports an idle screen by comparing pictures.
func TestScreenFallbackUnchanged(t *testing.T) {
	p := startX(t, 320, 240)
	p.fill(t, p.root, image.Rect(0, 0, 320, 240), blue)
	b, err := displayBounds(0)
	if err != nil {
		t.Fatal(err)
	}
	s := &screen{bounds: b}
	defer s.Close()
	if got := fmt.Sprint(s); !strings.HasPrefix(got, "screenshot") {
		t.Errorf("String() = %q", got)
	}
	dst := frameFor(b.Size())
	if err := Grab(s, dst); err != nil {
		t.Fatalf("first Grab: %v", err)
	}
	if err := Grab(s, dst); !errors.Is(err, ErrUnchanged) {
		t.Fatalf("second Grab of an idle screen: %v, want ErrUnchanged", err)
	}
	p.fill(t, p.root, image.Rect(10, 10, 50, 50), red)
	if err := Grab(s, dst); err != nil {
		t.Fatalf("Grab after drawing: %v", err)
	}
	checkColour(t, dst, image.Pt(20, 20), red)
}

// shmSegments lists the System V shared-memory segments process pid
// created, as ipcs -m -p would, with whether each is marked for removal.
func shmSegments(t *testing.T, pid int) (ids []string, marked []bool) {
	t.Helper()
	f, err := os.Open("/proc/sysvipc/shm")
	if err != nil {
		t.Skipf("cannot list shared memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// key shmid perms size cpid ...
		fs := strings.Fields(sc.Text())
		if len(fs) < 5 || fs[4] != strconv.Itoa(pid) {
			continue
		}
		mode, err := strconv.ParseUint(fs[2], 8, 32)
		if err != nil {
			t.Fatalf("perms %q: %v", fs[2], err)
		}
		ids = append(ids, fs[1])
		marked = append(marked, mode&01000 != 0) // SHM_DEST
	}
	return ids, marked
}

func waitNoSegments(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ids, _ := shmSegments(t, pid)
		if len(ids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("shared memory segments %v of pid %d outlived their source", ids, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestXShmSegmentReleased(t *testing.T) {
	startX(t, 320, 240)
	before, _ := shmSegments(t, os.Getpid())
	if len(before) != 0 {
		t.Fatalf("segments %v exist before the test", before)
	}
	s := openXShm(t)
	if err := Grab(s, frameFor(s.Bounds().Size())); err != nil {
		t.Fatal(err)
	}
	ids, marked := shmSegments(t, os.Getpid())
	if len(ids) != 1 || !marked[0] {
		t.Fatalf("while open: segments %v marked for removal %v; want one, marked", ids, marked)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	waitNoSegments(t, os.Getpid())
}

// TestXShmSegmentKilled kills a process holding a source: the
// kernel must reclaim the segment without anyone calling Close.
func TestXShmSegmentKilled(t *testing.T) {
	startX(t, 320, 240)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldSegment$")
	cmd.Env = append(os.Environ(), "CAPTURE_TEST_HOLD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if !strings.HasPrefix(line, "holding") {
			t.Fatalf("helper said %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("helper did not open a source within 10 s")
	}
	if ids, _ := shmSegments(t, cmd.Process.Pid); len(ids) != 1 {
		t.Fatalf("helper holds segments %v, want one", ids)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitNoSegments(t, cmd.Process.Pid)
}

// TestHelperHoldSegment is the process TestXShmSegmentKilled kills.
func TestHelperHoldSegment(t *testing.T) {
	if os.Getenv("CAPTURE_TEST_HOLD") == "" {
		t.Skip("run by TestXShmSegmentKilled")
	}
	s := openXShm(t)
	if err := Grab(s, frameFor(s.Bounds().Size())); err != nil {
		t.Fatal(err)
	}
	fmt.Println("holding")
	time.Sleep(30 * time.Second) // bounded, in case the parent died first
}

// xrandr runs xrandr on the painter's display.
func (p *painter) xrandr(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("xrandr", append([]string{"-display", p.display}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("xrandr %v: %v\n%s", args, err, out)
	}
}

func waitBounds(t *testing.T, s Source, want image.Rectangle) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Bounds() != want {
		// Only a grab reads the resize event.
		_ = Grab(s, frameFor(image.Pt(2, 2)))
		if time.Now().After(deadline) {
			t.Fatalf("Bounds() = %v 5 s after the resize, want %v", s.Bounds(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestXShmResize(t *testing.T) {
	if _, err := exec.LookPath("xrandr"); err != nil {
		t.Skip("xrandr is not installed (x11-xserver-utils)")
	}
	p := startX(t, 640, 480)
	s := openXShm(t)
	big := frameFor(s.Bounds().Size())
	if err := Grab(s, big); err != nil {
		t.Fatal(err)
	}

	// Xvfb's screen can shrink to a mode added at run time.
	p.xrandr(t, "--newmode", "small", "6", "320", "328", "360", "400", "240", "241", "244", "250")
	p.xrandr(t, "--addmode", "screen", "small")
	p.xrandr(t, "--output", "screen", "--mode", "small", "--fb", "320x240")
	waitBounds(t, s, image.Rect(0, 0, 320, 240))
	if err := Grab(s, big); err == nil || errors.Is(err, ErrUnchanged) {
		t.Fatalf("Grab into a frame larger than the shrunk screen: %v, want an error", err)
	}
	p.fill(t, p.root, image.Rect(0, 0, 320, 240), red)
	small := frameFor(s.Bounds().Size())
	grabChanged(t, s, small)
	checkColour(t, small, image.Pt(300, 200), red)

	p.xrandr(t, "--output", "screen", "--mode", "640x480", "--fb", "640x480")
	waitBounds(t, s, image.Rect(0, 0, 640, 480))
	p.fill(t, p.root, image.Rect(0, 0, 640, 480), green)
	grabChanged(t, s, big)
	checkColour(t, big, image.Pt(600, 400), green)
}

// childXvfb finds the Xvfb this test process started (the only one
// running: each test's is stopped when it ends).
func childXvfb(t *testing.T) int {
	t.Helper()
	// Each thread lists the children it forked.
	lists, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil || len(lists) == 0 {
		t.Skipf("cannot list child processes: %v", err)
	}
	var kids []byte
	for _, l := range lists {
		b, _ := os.ReadFile(l)
		kids = append(append(kids, ' '), b...)
	}
	var found []int
	for _, f := range strings.Fields(string(kids)) {
		comm, err := os.ReadFile("/proc/" + f + "/comm")
		if err == nil && strings.TrimSpace(string(comm)) == "Xvfb" {
			pid, _ := strconv.Atoi(f)
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		t.Fatalf("found Xvfb children %v, want exactly one", found)
	}
	return found[0]
}

// TestXServerGone kills the X server under an open source: the agent must
// get errors, not exit (Xlib's default on a broken connection).
func TestXServerGone(t *testing.T) {
	startX(t, 320, 240)
	s := openXShm(t)
	dst := frameFor(s.Bounds().Size())
	if err := Grab(s, dst); err != nil {
		t.Fatal(err)
	}
	pid := childXvfb(t)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := Grab(s, dst)
		if err != nil && !errors.Is(err, ErrUnchanged) {
			t.Logf("Grab after the X server died: %v", err)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Grab still returns %v 5 s after the X server died", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.Capture(); err == nil {
		t.Fatal("Capture after the X server died succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitNoSegments(t, os.Getpid())
}

func BenchmarkCaptureXShm_1080p(b *testing.B) {
	startX(b, 1920, 1080)
	s := openXShm(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.shot(false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGrabXShm_1080p is a changed frame: capture and conversion.
func BenchmarkGrabXShm_1080p(b *testing.B) {
	startX(b, 1920, 1080)
	s := openXShm(b)
	dst := frameFor(s.Bounds().Size())
	b.ReportAllocs()
	for b.Loop() {
		s.dirty = true
		if err := Grab(s, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGrabXShmIdle_1080p is what an idle screen costs per tick.
func BenchmarkGrabXShmIdle_1080p(b *testing.B) {
	startX(b, 1920, 1080)
	s := openXShm(b)
	dst := frameFor(s.Bounds().Size())
	if err := Grab(s, dst); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := Grab(s, dst); err != nil && !errors.Is(err, ErrUnchanged) {
			b.Fatal(err)
		}
	}
}

func BenchmarkCaptureScreenshot_1080p(b *testing.B) {
	startX(b, 1920, 1080)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := screenshot.CaptureRect(image.Rect(0, 0, 1920, 1080)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGrabScreenshot_1080p is the pipeline before the shared-memory
// source: kbinani's capture, then the RGBA conversion, every frame.
func BenchmarkGrabScreenshot_1080p(b *testing.B) {
	startX(b, 1920, 1080)
	dst := frameFor(image.Pt(1920, 1080))
	b.ReportAllocs()
	for b.Loop() {
		img, err := screenshot.CaptureRect(image.Rect(0, 0, 1920, 1080))
		if err != nil {
			b.Fatal(err)
		}
		if err := convertRGBA(dst, img); err != nil {
			b.Fatal(err)
		}
	}
}

// TestXShmMonitors splits the screen into two monitors, the primary on
// the right: display 0 must be the right half although kbinani counts
// desktop coordinates from the primary's corner.
func TestXShmMonitors(t *testing.T) {
	if _, err := exec.LookPath("xrandr"); err != nil {
		t.Skip("xrandr is not installed (x11-xserver-utils)")
	}
	p := startX(t, 640, 480)
	p.xrandr(t, "--setmonitor", "left", "320/100x480/100+0+0", "none")
	p.xrandr(t, "--setmonitor", "*right", "320/100x480/100+320+0", "none")
	p.fill(t, p.root, image.Rect(0, 0, 320, 480), red)
	p.fill(t, p.root, image.Rect(320, 0, 640, 480), green)
	for display, want := range []color.RGBA{green, red} {
		src, err := NewScreen(display)
		if err != nil {
			t.Fatalf("NewScreen(%d): %v", display, err)
		}
		defer src.Close()
		if _, ok := src.(*xshm); !ok {
			t.Fatalf("NewScreen(%d) gave %v, want the shared-memory source", display, src)
		}
		if size := src.Bounds().Size(); size != image.Pt(320, 480) {
			t.Fatalf("display %d is %v, want 320x480", display, size)
		}
		dst := frameFor(src.Bounds().Size())
		if err := Grab(src, dst); err != nil {
			t.Fatal(err)
		}
		checkColour(t, dst, image.Pt(0, 0), want)
		checkColour(t, dst, image.Pt(318, 478), want)
	}
}

// WaitChange sleeps through an idle screen and wakes when it is drawn on,
// long before its timeout: a frame loop can take a change the moment it
// happens.
func TestXShmWaitChange(t *testing.T) {
	p, s, dst := settledBlue(t)

	begun := time.Now()
	changed, ok, err := WaitChange(s, 150*time.Millisecond)
	if !ok || err != nil || changed {
		t.Fatalf("WaitChange on an idle screen = %v, %v, %v; want no change", changed, ok, err)
	}
	if d := time.Since(begun); d < 100*time.Millisecond {
		t.Errorf("WaitChange returned after %v, before its 150 ms timeout", d)
	}

	drawn := make(chan time.Time, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		p.fill(t, p.root, image.Rect(10, 10, 50, 50), green)
		drawn <- time.Now()
	}()
	changed, _, err = WaitChange(s, 5*time.Second)
	woke := time.Now()
	if err != nil || !changed {
		t.Fatalf("WaitChange while drawing = %v, %v; want a change", changed, err)
	}
	if d := woke.Sub(<-drawn); d > 500*time.Millisecond {
		t.Errorf("WaitChange woke %v after the drawing", d)
	}
	if err := Grab(s, dst); err != nil {
		t.Fatalf("Grab after WaitChange: %v, want the change", err)
	}
	checkColour(t, dst, image.Pt(20, 20), green)

	// Sources without damage events cannot tell.
	if _, ok, _ := WaitChange(plainSource{}, time.Millisecond); ok {
		t.Error("WaitChange claims to know about a source without damage events")
	}
}
