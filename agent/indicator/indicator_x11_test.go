//go:build !windows

package indicator

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"go.uber.org/goleak"

	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/xvfb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// shown is the indicator found on display by its title, or 0.
func shown(t *testing.T, display, title string) int {
	t.Helper()
	cmd := exec.Command("xdotool", "search", "--onlyvisible", "--name", title)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	if err != nil { // xdotool exits 1 when nothing matches
		return 0
	}
	id, _ := strconv.Atoi(strings.Fields(string(out))[0])
	return id
}

func waitShown(t *testing.T, display, title string, want bool) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		id := shown(t, display, title)
		if (id != 0) == want {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("window %q shown: %v, want %v", title, id != 0, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// screenshot reads the whole screen, and keeps it as a PNG beside the test
// log (INDICATOR_SHOTS=dir) for a person to look at.
func screenshot(t *testing.T, display, name string) *image.RGBA {
	t.Helper()
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s := xproto.Setup(conn).DefaultScreen(conn)
	w, h := int(s.WidthInPixels), int(s.HeightInPixels)
	r, err := xproto.GetImage(conn, xproto.ImageFormatZPixmap, xproto.Drawable(s.Root), 0, 0, uint16(w), uint16(h), ^uint32(0)).Reply()
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i+3 < len(r.Data) && i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = r.Data[i+2], r.Data[i+1], r.Data[i], 0xff
	}
	if dir := os.Getenv("INDICATOR_SHOTS"); dir != "" {
		f, err := os.Create(filepath.Join(dir, name+".png"))
		if err == nil {
			_ = png.Encode(f, img)
			f.Close()
		}
	}
	return img
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int { return max(int(x), int(y)) - min(int(x), int(y)) }
	return d(a.R, b.R) < 16 && d(a.G, b.G) < 16 && d(a.B, b.B) < 16
}

// The window appears while something is shared, says who watches and who
// controls in the customer's language, stays on top of other windows, its
// Stop button reports a click, and it goes away when sharing ends.
func TestWindowShowsWhoWatchesAndStops(t *testing.T) {
	if !xvfb.Available() {
		t.Skip("Xvfb not installed (scripts/deps.sh)")
	}
	if _, err := exec.LookPath("xdotool"); err != nil {
		t.Skip("xdotool not installed (scripts/deps.sh)")
	}
	display := xvfb.Start(t, 1280, 800)
	ind, err := New(display, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{}, 4)
	done := make(chan error, 1)
	go func() { done <- ind.Run(ctx, func() { stopped <- struct{}{} }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	if id := shown(t, display, "Meekijk"); id != 0 {
		t.Fatalf("window %d shown before anything is shared", id)
	}
	ind.Show(Sharing{Technician: "Jan Peeters", Lang: i18n.NL})
	waitShown(t, display, "Jan Peeters kijkt mee op uw scherm", true)

	// An ordinary window opened later covers the top of the screen; the
	// indicator must come back on top of it.
	cover := exec.Command("xterm", "-geometry", "200x10+0+0", "-bg", "white")
	cover.Env = append(os.Environ(), "DISPLAY="+display)
	if err := cover.Start(); err == nil {
		t.Cleanup(func() { _ = cover.Process.Kill(); _ = cover.Wait() })
		time.Sleep(700 * time.Millisecond)
	}

	ind.Show(Sharing{Technician: "Jan Peeters", Control: true, Lang: i18n.FR})
	waitShown(t, display, "Jan Peeters contrôle votre souris et votre clavier", true)
	img := screenshot(t, display, "indicator-fr-control")
	left := (1280 - winW) / 2
	btn := img.RGBAAt(left+stopRect.Min.X+4, stopRect.Min.Y+3)
	if !near(btn, btnColour) {
		t.Errorf("Stop button pixel %v, want red %v: window not drawn, or covered", btn, btnColour)
	}
	if bg := img.RGBAAt(left+200, 8); !near(bg, bgColour) {
		t.Errorf("window background %v, want %v", bg, bgColour)
	}

	// A click beside the button does nothing; on it, stops.
	click := func(x, y int) {
		t.Helper()
		cmd := exec.Command("xdotool", "mousemove", strconv.Itoa(x), strconv.Itoa(y), "click", "1")
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xdotool: %v: %s", err, out)
		}
	}
	click(left+60, winH/2)
	select {
	case <-stopped:
		t.Fatal("a click on the text stopped sharing")
	case <-time.After(300 * time.Millisecond):
	}
	c := stopRect.Min.Add(stopRect.Size().Div(2))
	click(left+c.X, c.Y)
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("a click on Stop was not reported")
	}

	ind.Hide()
	waitShown(t, display, "Meekijk", false)
	ind.Show(Sharing{Lang: i18n.EN})
	waitShown(t, display, "The technician is viewing your screen", true)
}

// A long name is shortened, never drawn under the Stop button.
func TestLongNameIsShortened(t *testing.T) {
	fc := loadFaces()
	long := strings.Repeat("Marie-Christine Vandenbroucke-", 4)
	s := fit(fc.bold, long, 200)
	if !strings.HasSuffix(s, "…") || len(s) >= len(long) {
		t.Errorf("fit = %q", s)
	}
	img := image.NewRGBA(image.Rect(0, 0, winW, winH))
	render(img, fc, texts{headline: long + " kijkt mee", detail: "x", stop: "Stoppen"}, false)
	// The column left of the button stays background.
	for y := stopRect.Min.Y; y < stopRect.Max.Y; y++ {
		if c := img.RGBAAt(stopRect.Min.X-6, y); !near(c, bgColour) {
			t.Fatalf("text drawn at the button's edge (y=%d: %v)", y, c)
		}
	}
}
