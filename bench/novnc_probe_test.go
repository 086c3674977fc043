//go:build bench

package bench

import (
	"context"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/xvfb"
)

// The peer as the bench sees it: x11vnc through websockify and noVNC in
// Chromium, whose probe reads a counter painted on the X screen.
func TestNoVNCProbe(t *testing.T) {
	s := &stage{t: t, dir: t.TempDir(), display: xvfb.Start(t, 1920, 1080), pinCore: -1}
	browser, err := startBrowser(t)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := tab(t, browser)
	if err != nil {
		t.Fatal(err)
	}
	if s.marker, err = NewMarker(s.display); err != nil {
		t.Fatal(err)
	}
	defer s.marker.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := startNoVNC(ctx, s, tb)
	if err != nil {
		t.Fatal(err)
	}
	defer n.stop()
	if err := n.connect(); err != nil {
		t.Fatal(err)
	}
	if err := n.mark(); err != nil {
		t.Fatal(err)
	}
	paints := map[uint16]time.Time{}
	if err := s.paintFor(ctx, 2*time.Second, paints); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	v, err := n.collect()
	if err != nil {
		t.Fatal(err)
	}
	matched := 0
	for _, seen := range v.seen {
		if _, ok := paints[seen.n]; ok {
			matched++
		}
	}
	t.Logf("%d updates, %d bytes, %d/%d markers seen", v.frames, v.bytes, matched, len(paints))
	if matched < len(paints)*8/10 || v.bytes == 0 || v.frames == 0 {
		t.Errorf("noVNC showed %d of %d markers in %d updates, %d bytes", matched, len(paints), v.frames, v.bytes)
	}
	if err := n.disconnect(); err != nil {
		t.Fatal(err)
	}
}
