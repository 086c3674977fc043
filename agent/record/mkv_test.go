package record

import (
	"bytes"
	"context"
	"errors"
	"image"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
	"github.com/chromedp/chromedp"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/meekijk/meekijk/internal/testrig"
)

// encodeFrames encodes n frames of a moving bar with the agent's encoder
// (OpenH264, screen content) and hands each access unit to f with its
// capture time, 1/fps apart. f may ask for a keyframe by returning true.
func encodeFrames(t *testing.T, w, h, n, fps int, f func(au []byte, at time.Time) bool) {
	t.Helper()
	frame := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	params, err := openh264.NewParams()
	if err != nil {
		t.Fatal(err)
	}
	params.BitRate = 1_000_000
	params.UsageType = openh264.ScreenContentRealTime
	params.MultipleThreadIdc = 1
	params.IntraPeriod = 0
	enc, err := params.BuildVideoEncoder(video.ReaderFunc(func() (image.Image, func(), error) {
		return frame, func() {}, nil
	}), prop.Media{Video: prop.Video{Width: w, Height: h, FrameRate: float32(fps)}})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	ctl := enc.Controller().(codec.KeyFrameController)
	origin := time.Unix(1_700_000_000, 0)
	for i := range n {
		for p := range frame.Y {
			frame.Y[p] = 16
		}
		x0 := (i * 8) % (w - 32)
		for y := range h {
			for x := x0; x < x0+32; x++ {
				frame.Y[y*frame.YStride+x] = 235
			}
		}
		data, release, err := enc.Read()
		if err != nil {
			t.Fatal(err)
		}
		au := bytes.Clone(data)
		release()
		if len(au) == 0 {
			continue
		}
		if f(au, origin.Add(time.Duration(i)*time.Second/time.Duration(fps))) {
			if err := ctl.ForceKeyFrame(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// mux records n frames into chunks the way the agent's recorder does.
func mux(t *testing.T, w, h, n, fps int, chunk time.Duration) [][]byte {
	t.Helper()
	m := NewMuxer(w, h, chunk, 2*chunk)
	var chunks [][]byte
	encodeFrames(t, w, h, n, fps, func(au []byte, at time.Time) bool {
		out, err := m.Add(au, at)
		if err != nil && !errors.Is(err, ErrNoKeyframe) {
			t.Fatal(err)
		}
		chunks = append(chunks, out...)
		return m.KeyDue(at)
	})
	last, err := m.Flush()
	if err != nil {
		t.Fatal(err)
	}
	if last != nil {
		chunks = append(chunks, last)
	}
	return chunks
}

func TestMuxerChunksParseWhereverCut(t *testing.T) {
	chunks := mux(t, 320, 240, 90, 30, time.Second)
	if len(chunks) < 3 {
		t.Fatalf("got %d chunks for 3 s at 1 s a chunk, want header and >= 2 clusters", len(chunks))
	}
	var whole []byte
	keys := 0
	for i, c := range chunks {
		whole = append(whole, c...)
		// Every prefix that ends at a chunk boundary parses as a file.
		var f struct {
			Header  webm.EBMLHeader `ebml:"EBML"`
			Segment webm.Segment    `ebml:"Segment"`
		}
		if err := ebml.Unmarshal(bytes.NewReader(whole), &f); err != nil {
			t.Fatalf("file cut after chunk %d: %v", i, err)
		}
		if i == 0 {
			tr := f.Segment.Tracks.TrackEntry
			if len(tr) != 1 || tr[0].CodecID != "V_MPEG4/ISO/AVC" || len(tr[0].CodecPrivate) < 8 {
				t.Fatalf("header tracks = %+v", tr)
			}
			continue
		}
		cl := f.Segment.Cluster
		if len(cl) != i {
			t.Fatalf("after chunk %d: %d clusters", i, len(cl))
		}
		c := cl[i-1]
		if len(c.SimpleBlock) == 0 || (i == 1 && !c.SimpleBlock[0].Keyframe) {
			t.Fatalf("cluster %d is empty, or the first does not open with a keyframe", i)
		}
		for _, b := range c.SimpleBlock {
			keys += map[bool]int{true: 1}[b.Keyframe]
		}
		if i > 1 && c.Timecode <= cl[i-2].Timecode {
			t.Fatalf("cluster %d timecode %d not after %d", i, c.Timecode, cl[i-2].Timecode)
		}
	}
	// 3 s with a keyframe asked every 2 s: the first and one more.
	if keys != 2 {
		t.Fatalf("%d keyframes, want 2", keys)
	}
}

func TestMuxerDropsUntilKeyframe(t *testing.T) {
	m := NewMuxer(64, 64, time.Second, 0)
	// A P-slice (NAL type 1) cannot open a recording.
	if out, err := m.Add([]byte{0, 0, 0, 1, 0x41, 0x9a, 0x00}, time.Now()); !errors.Is(err, ErrNoKeyframe) || out != nil {
		t.Fatalf("Add(P frame) = %d chunks, %v; want ErrNoKeyframe", len(out), err)
	}
	// An IDR without SPS/PPS cannot build the track header.
	if _, err := m.Add([]byte{0, 0, 0, 1, 0x65, 0x88, 0x00}, time.Now()); err == nil || errors.Is(err, ErrNoKeyframe) {
		t.Fatalf("Add(IDR without SPS) = %v, want an error", err)
	}
	if out, err := m.Add(nil, time.Now()); err != nil || out != nil {
		t.Fatalf("Add(nil) = %v, %v", out, err)
	}
}

func TestSplitAnnexB(t *testing.T) {
	got := splitAnnexB([]byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5})
	want := [][]byte{{0x67, 1, 2}, {0x68, 3}, {0x65, 4, 5}}
	if len(got) != len(want) {
		t.Fatalf("got %x", got)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("nal %d = %x, want %x", i, got[i], want[i])
		}
	}
}

// TestChromiumPlaysAndSeeks checks the container choice itself: Debian's
// Chromium plays a recording muxed here, decodes frames, seeks into a
// later cluster, and plays a file cut after a cluster (a killed agent).
func TestChromiumPlaysAndSeeks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Skip("no /usr/bin/chromium")
	}
	chunks := mux(t, 640, 360, 300, 30, 2*time.Second)
	dir := t.TempDir()
	var whole []byte
	for _, c := range chunks {
		whole = append(whole, c...)
	}
	cut := bytes.Join(chunks[:3], nil)
	if err := os.WriteFile(filepath.Join(dir, "whole.mkv"), whole, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cut.mkv"), cut, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), testrig.ChromiumOptions(t.TempDir())...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	for _, tc := range []struct {
		file string
		seek float64
	}{{"whole.mkv", 7.5}, {"cut.mkv", 2.5}} {
		js := `(async () => {
			const v = document.createElement('video');
			v.muted = true;
			v.src = '` + base + `/` + tc.file + `';
			document.body.appendChild(v);
			let frames = 0;
			const count = () => { frames++; v.requestVideoFrameCallback(count); };
			v.requestVideoFrameCallback(count);
			await new Promise((ok, bad) => { v.onloadeddata = ok; v.onerror = () => bad(new Error('media error ' + (v.error && v.error.code))); });
			await v.play();
			const t0 = performance.now();
			while (v.currentTime < 0.5 && performance.now() - t0 < 10000) await new Promise(r => setTimeout(r, 50));
			const played = v.currentTime;
			v.pause();
			v.currentTime = ` + strconv.FormatFloat(tc.seek, 'f', -1, 64) + `;
			await new Promise(r => { v.onseeked = r; setTimeout(r, 10000); });
			const seekedTo = v.currentTime;
			const before = frames;
			await v.play();
			const t1 = performance.now();
			while (frames < before + 3 && performance.now() - t1 < 10000) await new Promise(r => setTimeout(r, 50));
			return {played, seekedTo, frames, w: v.videoWidth, h: v.videoHeight, duration: String(v.duration)};
		})()`
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
			t.Fatal(err)
		}
		res, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		t.Logf("%s: %v", tc.file, res)
		if res["played"].(float64) < 0.5 || res["w"].(float64) != 640 {
			t.Fatalf("%s did not play: %v", tc.file, res)
		}
		if got := res["seekedTo"].(float64); got < tc.seek-0.1 || got > tc.seek+0.1 {
			t.Fatalf("%s: seek to %.1f landed at %.2f", tc.file, tc.seek, got)
		}
	}
}
