//go:build bench

package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"testing"
	"time"
)

// Picture sources the sharpness grab and the counter probe read.
const (
	consoleVideo = `document.getElementById('screen')`
	noVNCCanvas  = `window.__novncCanvas`
)

// textRect is a part of the terminal the sharpness phase scrolls: dense
// text, away from the marker.
var textRect = image.Rect(48, 128, 48+768, 128+512)

// sharpAfter are the moments after motion stops at which the picture is
// scored; the target is 40 dB within a second.
var sharpAfter = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}

// sharpness is how close a viewer's picture of still text came to the
// screen, at each of sharpAfter.
type sharpness struct {
	viewer string
	psnr   []float64 // dB
	bias   []float64 // mean error, levels of 255
	err    error
}

// grabJS draws source scaled to the screen's size (a picture sent at a
// lower resolution is scored as the technician sees it) and returns
// rect's luma, base64.
func grabJS(source string, rect image.Rectangle) string {
	return fmt.Sprintf(`(() => {
	const v = %s;
	const c = document.createElement('canvas');
	c.width = 1920; c.height = 1080;
	const g = c.getContext('2d', { willReadFrequently: true });
	g.drawImage(v, 0, 0, 1920, 1080);
	const d = g.getImageData(%d, %d, %d, %d).data;
	const out = new Uint8Array(d.length / 4);
	for (let i = 0; i < out.length; i++) out[i] = (299 * d[4 * i] + 587 * d[4 * i + 1] + 114 * d[4 * i + 2]) / 1000;
	let s = '';
	for (let i = 0; i < out.length; i += 8192) s += String.fromCharCode.apply(null, out.subarray(i, i + 8192));
	return btoa(s);
})()`, source, rect.Min.X, rect.Min.Y, rect.Dx(), rect.Dy())
}

// sharpness scrolls a terminal of text for 2 s, lets it stop, and scores
// the viewer's picture of it against the screen at each of sharpAfter.
func (s *stage) sharpness(ctx context.Context, viewer string, tab context.Context, source string) sharpness {
	sh := sharpness{viewer: viewer}
	path, err := longText(s.dir)
	if err != nil {
		sh.err = err
		return sh
	}
	term, _, err := s.xterm(ctx, "less", "-S", path)
	if err != nil {
		sh.err = err
		return sh
	}
	defer kill(term)
	keys := []string{"key", "--delay", "33"}
	for range 60 {
		keys = append(keys, "Down")
	}
	_ = s.drive(ctx, keys...).Wait()
	stopped := time.Now()
	// less draws the last line just after the last key.
	time.Sleep(100 * time.Millisecond)
	screen, err := ScreenLuma(s.display, textRect)
	if err != nil {
		sh.err = err
		return sh
	}
	for _, after := range sharpAfter {
		time.Sleep(time.Until(stopped.Add(after)))
		enc, err := js[string](tab, grabJS(source, textRect))
		if err != nil {
			sh.err = err
			return sh
		}
		got, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			sh.err = fmt.Errorf("grab of %s: %w", viewer, err)
			return sh
		}
		p, err := PSNR(screen, got)
		if err != nil {
			sh.err = err
			return sh
		}
		b, _ := Bias(screen, got)
		sh.psnr, sh.bias = append(sh.psnr, p), append(sh.bias, b)
	}
	return sh
}

// Text at rest is as sharp in the console as on the screen: after
// scrolling stops, the picture of the terminal scores >= 40 dB within a
// second.
func TestStillTextSharp(t *testing.T) {
	s, err := newStage(t)
	if err != nil {
		t.Fatal(err)
	}
	m, _, _, err := s.startSession()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sh := s.sharpness(ctx, "Meekijk", m.console, consoleVideo)
	if sh.err != nil {
		t.Fatal(sh.err)
	}
	t.Logf("PSNR %s; bias %.2f", sharpSeries(sh), sh.bias)
	if sh.psnr[sharpAt] < 40 {
		t.Errorf("%.1f dB 1 s after scrolling stopped, want >= 40", sh.psnr[sharpAt])
	}
	if err := m.stop(); err != nil {
		t.Error(err)
	}
}
