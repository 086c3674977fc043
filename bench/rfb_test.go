package bench

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// pattern puts content on the screen that makes x11vnc use every ZRLE
// tile kind: noise (raw), two-colour stripes (packed palette), runs of a
// few colours (palette RLE), and a gradient (plain RLE or raw).
func pattern(t *testing.T, d string) {
	t.Helper()
	x, err := xgb.NewConnDisplay(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Close)
	screen := xproto.Setup(x).DefaultScreen(x)
	gc, _ := xproto.NewGcontextId(x)
	xproto.CreateGC(x, gc, xproto.Drawable(screen.Root), 0, nil)
	const w, h = 200, 150
	rng := rand.New(rand.NewPCG(1, 2))
	put := func(x0, y0 int, pixel func(x, y int) [3]byte) {
		data := make([]byte, w*h*4)
		for y := range h {
			for x := range w {
				c := pixel(x, y)
				copy(data[(y*w+x)*4:], []byte{c[2], c[1], c[0], 0})
			}
		}
		if err := xproto.PutImageChecked(x, xproto.ImageFormatZPixmap, xproto.Drawable(screen.Root), gc,
			w, h, int16(x0), int16(y0), 0, screen.RootDepth, data).Check(); err != nil {
			t.Fatal(err)
		}
	}
	put(100, 100, func(int, int) [3]byte { return [3]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))} })
	put(400, 100, func(x, _ int) [3]byte {
		if x%3 == 0 {
			return [3]byte{250, 250, 10}
		}
		return [3]byte{10, 20, 200}
	})
	put(700, 100, func(x, y int) [3]byte { return [3]byte{byte(40 * ((x / 9) % 5)), byte(y % 2 * 90), 60} })
	put(1000, 100, func(x, y int) [3]byte { return [3]byte{byte(x), byte(y), byte(x + y)} })
}

func TestVNCClientDecodesX11VNC(t *testing.T) {
	if _, err := exec.LookPath("x11vnc"); err != nil {
		t.Fatal("x11vnc not installed: run scripts/deps.sh")
	}
	d := display(t)
	pattern(t, d)
	m, err := NewMarker(d)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Paint(0x1234); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := StartX11VNC(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	v, err := DialVNC(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	// Next blocks on the socket: closing it is how a deadline reaches it.
	stop := context.AfterFunc(ctx, func() { v.Close() })
	defer stop()
	if v.W != 1920 || v.H != 1080 {
		t.Fatalf("screen %dx%d", v.W, v.H)
	}
	if err := v.Next(); err != nil {
		t.Fatal(err)
	}
	// The first, full update is the screen, pixel for pixel.
	luma := screenLuma(t, d)
	bad := 0
	for y := 0; y < 1080; y++ {
		for x := 0; x < 1920; x++ {
			if v.Luma(x, y) != luma(x, y) {
				bad++
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d pixels differ from the screen after the first update", bad)
	}
	if n, ok := DecodeMarker(v.Luma); !ok || n != 0x1234 {
		t.Fatalf("marker reads %#x (ok=%v), want 0x1234", n, ok)
	}
	// A change arrives as an incremental update.
	if _, err := m.Paint(0x4321); err != nil {
		t.Fatal(err)
	}
	for {
		if err := v.Next(); err != nil {
			t.Fatal(err)
		}
		if n, ok := DecodeMarker(v.Luma); ok && n == 0x4321 {
			break
		}
	}
	if v.Bytes() < 1000 {
		t.Fatalf("only %d bytes counted", v.Bytes())
	}
	// x11vnc's shared-memory segments go with it: killed outright it
	// left about 60 a run, and after a few dozen runs the system's 4096
	// were taken (the agent's capture and PostgreSQL then failed with "no
	// space left on device").
	v.Close()
	stopAt := time.Now()
	srv.Stop()
	t.Logf("x11vnc stopped in %v", time.Since(stopAt).Round(time.Millisecond))
	// The X server lets go of a client's segments once it has seen the
	// client leave: a moment after x11vnc's exit.
	deadline := time.Now().Add(3 * time.Second)
	for n := sharedMemoryOf(t, srv.Cmd.Process.Pid); n > 0; n = sharedMemoryOf(t, srv.Cmd.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatalf("x11vnc left %d System V shared-memory segments behind", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sharedMemoryOf counts the System V shared-memory segments that process
// pid created and that still exist.
func sharedMemoryOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n")[1:] {
		// key shmid perms size cpid ...
		if f := strings.Fields(l); len(f) > 4 && f[4] == strconv.Itoa(pid) {
			n++
		}
	}
	return n
}
