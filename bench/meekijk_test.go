//go:build bench

package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meekijk/meekijk/internal/testrig"
)

// startBrowser starts headless Chromium fenced to loopback: no background
// traffic, WebRTC candidates as plain loopback addresses.
func startBrowser(t *testing.T) (context.Context, error) {
	opts := append(testrig.ChromiumOptions(t.TempDir()),
		// A tab in the background must not have its frames throttled.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	return ctx, nil
}

// tab opens another tab of browser.
func tab(t *testing.T, browser context.Context) (context.Context, error) {
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	return ctx, chromedp.Do(ctx)
}

// do runs chromedp actions with a deadline.
func do(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// js evaluates JavaScript, awaiting a promise, and decodes the result.
func js[T any](ctx context.Context, src string) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](src, chromedp.EvalAwaitPromise))
	if err != nil {
		var zero T
		return zero, fmt.Errorf("evaluate %.60q: %w", src, err)
	}
	return v, nil
}

// until polls a JavaScript condition.
func until(ctx context.Context, what, cond string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		ok, err := js[bool](ctx, cond)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// consoleLogin logs the first admin in through the console's form.
func consoleLogin(ctx context.Context, base, password string) error {
	return do(ctx, "log in to the console",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#login input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=email]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-ticket`)),
	)
}

// probeJS installs the counter probe on a picture source: on every
// occasion next schedules (a frame handed to a video, or an animation
// frame for a canvas), it reads the marker from the source's pixels and
// notes the wall-clock time a new counter value first showed. Meekijk's
// video and noVNC's canvas are read by the same code. For a video it also
// keeps the frame's own times from requestVideoFrameCallback's metadata:
// when its last packet arrived, how long it took to decode, and when the
// compositor presented it; they split the latency into its stages.
func probeJS(source, next string) string {
	return fmt.Sprintf(`(() => {
	const v = %s;
	const next = (f) => %s;
	const W = %d, H = %d, X = %d, Y = %d, B = %d, BITS = %d, SW = %d;
	const c = document.createElement('canvas');
	c.width = W; c.height = H;
	const g = c.getContext('2d', { willReadFrequently: true });
	const b = window.__bench = { seen: [], last: -1, frames: 0, torn: 0 };
	const luma = (d, x, y) => { const i = (y * W + x) * 4; return (299 * d[i] + 587 * d[i + 1] + 114 * d[i + 2]) / 1000; };
	const tick = (now, md) => {
		// Paused while input latency is measured: reading the picture
		// back on every frame is the probe's own work on the page's main
		// thread, which a technician's console does not have.
		if (b.paused) { next(tick); return; }
		const t = performance.timeOrigin + performance.now();
		b.frames++;
		// The picture may be smaller than the screen (Meekijk's stream
		// halves while large areas move): scale the marker's place.
		const k = (v.videoWidth || v.width) / SW; // SW: the screen's width
		g.drawImage(v, X * k, Y * k, W * k, H * k, 0, 0, W, H);
		const d = g.getImageData(0, 0, W, H).data;
		let n = 0, ok = true;
		for (let col = 0; col < BITS && ok; col++) {
			const bit = luma(d, col * B + B / 2, B / 2) >= 128, inv = luma(d, col * B + B / 2, B + B / 2) >= 128;
			ok = bit !== inv;
			n = n * 2 + (bit ? 1 : 0);
		}
		if (!ok) b.torn++;
		else if (n !== b.last) {
			b.last = n;
			const at = (ms) => ms ? performance.timeOrigin + ms : 0;
			b.seen.push([n, t, at(md?.receiveTime), (md?.processingDuration || 0) * 1000, at(md?.presentationTime)]);
		}
		next(tick);
	};
	next(tick);
	return true;
})()`, source, next, MarkerRect.Dx(), MarkerRect.Dy(), MarkerX, MarkerY, MarkerBlock, MarkerBits, 1920)
}

// videoProbeJS reads the console's video, frame by frame.
var videoProbeJS = probeJS(`document.getElementById('screen')`, `v.requestVideoFrameCallback(f)`)

// seenJS is what a probe has seen: [counter, wall-clock ms, received ms,
// decode ms, presented ms] (the last three 0 where the source has no frame
// metadata).
const seenJS = `window.__bench.seen`

// resetProbeJS starts a probe's record afresh.
const resetProbeJS = `(window.__bench.seen = [], window.__bench.torn = 0, true)`

// readSeen decodes what a probe saw.
func readSeen(ctx context.Context) ([]seenMarker, error) {
	raw, err := js[[][5]float64](ctx, seenJS)
	if err != nil {
		return nil, err
	}
	wall := func(ms float64) time.Time {
		if ms == 0 {
			return time.Time{}
		}
		return time.UnixMicro(int64(ms * 1000))
	}
	var seen []seenMarker
	for _, s := range raw {
		seen = append(seen, seenMarker{n: uint16(s[0]), at: wall(s[1]), received: wall(s[2]),
			decode: time.Duration(s[3] * float64(time.Millisecond)), presented: wall(s[4])})
	}
	return seen, nil
}

// rtpStats is the console's view of the video stream so far.
type rtpStats struct {
	Frames    float64 `json:"frames"`    // framesDecoded
	Bytes     float64 `json:"bytes"`     // RTP payload and header bytes
	Keyframes float64 `json:"keyframes"` // keyFramesDecoded
	Decode    float64 `json:"decode"`    // totalDecodeTime, s
	Dropped   float64 `json:"dropped"`   // framesDropped
	Jitter    float64 `json:"jitter"`    // jitterBufferDelay, s
	Emitted   float64 `json:"emitted"`   // jitterBufferEmittedCount
	Codec     string  `json:"codec"`
}

const statsJS = `(async () => {
	const pc = window.__meekijkPeer;
	const r = { frames: 0, bytes: 0, keyframes: 0, decode: 0, dropped: 0, jitter: 0, emitted: 0, codec: '' };
	if (!pc) return r;
	const all = await pc.getStats();
	all.forEach((s) => {
		if (s.type === 'inbound-rtp' && s.kind === 'video') {
			r.frames = s.framesDecoded || 0;
			r.bytes = (s.bytesReceived || 0) + (s.headerBytesReceived || 0);
			r.keyframes = s.keyFramesDecoded || 0;
			r.decode = s.totalDecodeTime || 0;
			r.dropped = s.framesDropped || 0;
			r.jitter = s.jitterBufferDelay || 0;
			r.emitted = s.jitterBufferEmittedCount || 0;
			const c = all.get(s.codecId);
			if (c) r.codec = c.mimeType + ' ' + (c.sdpFmtpLine || '');
		}
	});
	return r;
})()`

// meekijk is a live session viewed in the console: the viewer under test.
type meekijk struct {
	console  context.Context
	customer context.Context
	agent    *testrig.Proc
	base     rtpStats
}

// startSession runs one session from the technician's start to the first
// decoded frame and returns the time from Allow to that frame, and the
// steps in between as the agent logged them and the console saw them.
func (s *stage) startSession() (*meekijk, time.Duration, string, error) {
	id, code, err := s.api.StartSession(s.ticket)
	if err != nil {
		return nil, 0, "", err
	}
	if _, err := js[bool](s.console, fmt.Sprintf(`(location.hash = '#/sessions/%d', true)`, id)); err != nil {
		return nil, 0, "", err
	}
	if err := until(s.console, "console waits for the agent", `document.getElementById('status')?.dataset.status === 'waiting'`, 10*time.Second); err != nil {
		return nil, 0, "", err
	}
	agent, err := testrig.Start(s.t, []string{"DISPLAY=" + s.display, "LANG=nl_BE.UTF-8"}, bin.agent,
		"-relay", s.base, "-no-browser", "-ice-allow", "127.0.0.0/8", "-stage-times")
	if err != nil {
		return nil, 0, "", err
	}
	if s.pinCore >= 0 {
		if err := Pin(agent.Pid(), s.pinCore); err != nil {
			return nil, 0, "", err
		}
	}
	pageURL, err := agent.Line("Open this page to continue: ", 20*time.Second)
	if err != nil {
		return nil, 0, "", err
	}
	m := &meekijk{console: s.console, customer: s.customer, agent: agent}
	err = do(s.customer, "enter the code on the agent's page",
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible(chromedp.CSS(`#code`)),
		chromedp.SendKeys(chromedp.CSS(`#code`), code),
		chromedp.Click(chromedp.CSS(`#code-form button[type=submit]`)),
	)
	if err == nil {
		err = until(s.customer, "consent question", `document.body.dataset.phase === 'ask'`, 15*time.Second)
	}
	if err != nil {
		return nil, 0, "", err
	}
	if _, err := js[bool](s.console, timelineJS); err != nil {
		return nil, 0, "", err
	}
	allowedAt, err := js[float64](s.customer, `(() => { const t = Date.now(); document.getElementById('allow').click(); return t; })()`)
	if err != nil {
		return nil, 0, "", err
	}
	if err := until(s.console, "first frame", `Number(document.getElementById('screen').dataset.frames) > 0`, 15*time.Second); err != nil {
		return nil, 0, "", err
	}
	first, err := js[string](s.console, `document.getElementById('screen').dataset.firstFrameAt`)
	if err != nil {
		return nil, 0, "", err
	}
	firstAt, err := strconv.ParseFloat(first, 64)
	if err != nil {
		return nil, 0, "", fmt.Errorf("firstFrameAt %q: %w", first, err)
	}
	if _, err := js[bool](s.console, videoProbeJS); err != nil {
		return nil, 0, "", err
	}
	steps, err := js[[]timelineStep](s.console, `window.__benchTimeline`)
	if err != nil {
		return nil, 0, "", err
	}
	steps = append(steps, timelineStep{What: "console: first frame decoded", At: firstAt})
	timeline := formatTimeline(allowedAt, append(steps, agentSteps(agent.Stderr(), allowedAt)...))
	return m, time.Duration((firstAt - allowedAt) * float64(time.Millisecond)), timeline, nil
}

// stop ends the session as the customer does, and waits for the agent to
// exit.
func (m *meekijk) stop() error {
	if err := do(m.customer, "stop sharing", chromedp.Click(chromedp.CSS(`#stop`))); err != nil {
		return err
	}
	return m.agent.Exited(10 * time.Second)
}

func (m *meekijk) pid() int { return m.agent.Pid() }

// pictures reads the agent's -stage-times lines, in capture order.
func (m *meekijk) pictures() []pictureTimes {
	var pics []pictureTimes
	for _, f := range agentFields(m.agent.Stderr(), "stream: picture times") {
		us := func(k string) int64 { v, _ := strconv.ParseInt(f[k], 10, 64); return v }
		if us("captured_us") == 0 {
			continue
		}
		pics = append(pics, pictureTimes{captured: time.UnixMicro(us("captured_us")),
			capture: time.Duration(us("capture_us")) * time.Microsecond, encode: time.Duration(us("encode_us")) * time.Microsecond,
			send: time.Duration(us("send_us")) * time.Microsecond})
	}
	return pics
}

func (m *meekijk) mark() error {
	st, err := js[rtpStats](m.console, statsJS)
	if err != nil {
		return err
	}
	m.base = st
	_, err = js[bool](m.console, resetProbeJS)
	return err
}

func (m *meekijk) collect() (viewStats, error) {
	st, err := js[rtpStats](m.console, statsJS)
	if err != nil {
		return viewStats{}, err
	}
	v := viewStats{
		bytes: int64(st.Bytes - m.base.Bytes), frames: int64(st.Frames - m.base.Frames),
		keyframes: int64(st.Keyframes - m.base.Keyframes), codec: strings.TrimSpace(st.Codec),
	}
	if v.frames > 0 {
		v.decodeMs = (st.Decode - m.base.Decode) * 1000 / float64(v.frames)
	}
	if n := st.Emitted - m.base.Emitted; n > 0 {
		v.jitterMs = (st.Jitter - m.base.Jitter) * 1000 / n
	}
	v.seen, err = readSeen(m.console)
	return v, err
}
