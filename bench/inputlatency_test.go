//go:build bench

package bench

import (
	"context"
	"fmt"
	"image"
	"strconv"
	"time"

	"github.com/chromedp/chromedp"
)

// The controls that give the technician the customer's mouse: the console
// asks, the customer allows on the agent's page, and the console says when
// its clicks are forwarded.
var remoteControl = struct {
	request string // console: asks the customer for control
	compare string // console: the customer read the same verification code
	allow   string // agent page: the customer allows it
	active  string // console: true once clicks are forwarded
}{
	request: `#request-control`,
	compare: `#sas-same`,
	allow:   `#prompt-yes`,
	active:  `document.getElementById('control-state').dataset.control === 'on'`,
}

// inputLatency clicks 30 times on the console's picture of a recorder
// window and times each click from the console's pointerdown (the event's
// own timestamp) to the X server delivering the press to the recorder.
// Besides the distribution it returns the path's two halves from the
// agent's -stage-times lines, or why it could not measure.
func (s *stage) inputLatency(ctx context.Context, m *meekijk) (Dist, string, string) {
	rec, err := NewInputRecorder(s.display, image.Rect(200, 900, 360, 1000))
	if err != nil {
		return Dist{}, "", err.Error()
	}
	defer rec.Close()
	err = do(m.console, "ask for control", chromedp.Click(chromedp.CSS(remoteControl.request)))
	if err == nil {
		err = do(m.console, "same code", chromedp.Click(chromedp.CSS(remoteControl.compare)))
	}
	if err == nil {
		err = do(m.customer, "allow control", chromedp.Click(chromedp.CSS(remoteControl.allow)))
	}
	if err == nil {
		err = until(m.console, "control active", remoteControl.active, 10*time.Second)
	}
	if err == nil {
		_, err = js[bool](m.console, `(() => {
			if (window.__bench) window.__bench.paused = true;
			window.__benchDown = [];
			const v = document.getElementById('screen');
			v.scrollIntoView();
			// The event's own time, and when the page's code got to it.
			v.addEventListener('pointerdown', (e) => window.__benchDown.push([performance.timeOrigin + e.timeStamp, performance.timeOrigin + performance.now()]), true);
			return true;
		})()`)
	}
	if err != nil {
		return Dist{}, "", "input latency: " + err.Error()
	}
	defer func() { _, _ = js[bool](m.console, `(window.__bench && (window.__bench.paused = false), true)`) }()
	var lat []time.Duration
	var downs, handled, presses []time.Time
	for i := range 30 {
		// The recorder's centre, moved a little each time, mapped from
		// screen pixels to the page through the letterboxed video, whose
		// size need not be the screen's (half size during motion).
		sx, sy := rec.Rect.Min.X+40+3*i, rec.Rect.Min.Y+50
		at, err := js[[3]float64](m.console, fmt.Sprintf(`(() => {
			const v = document.getElementById('screen'), r = v.getBoundingClientRect();
			const k = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
			const x = (%d + 0.5) * v.videoWidth / %d, y = (%d + 0.5) * v.videoHeight / %d;
			return [r.left + (r.width - v.videoWidth * k) / 2 + x * k, r.top + (r.height - v.videoHeight * k) / 2 + y * k, v.videoWidth];
		})()`, sx, screenSize.X, sy, screenSize.Y))
		if err == nil {
			err = do(m.console, "click", chromedp.MouseClickXY(at[0], at[1]))
		}
		if err != nil {
			return Dist{}, "", "input latency: " + err.Error()
		}
		var pressed time.Time
		select {
		case pressed = <-rec.Press:
		case <-time.After(3 * time.Second):
			return Dist{}, "", fmt.Sprintf("input latency: click %d never reached the X server (picture %.0f pixels wide)", i, at[2])
		case <-ctx.Done():
			return Dist{}, "", "input latency: " + ctx.Err().Error()
		}
		down, err := js[[2]float64](m.console, fmt.Sprintf(`window.__benchDown[%d]`, i))
		if err != nil {
			return Dist{}, "", "input latency: " + err.Error()
		}
		downs, handled = append(downs, time.UnixMicro(int64(down[0]*1000))), append(handled, time.UnixMicro(int64(down[1]*1000)))
		presses = append(presses, pressed)
		lat = append(lat, pressed.Sub(downs[i]))
		time.Sleep(100 * time.Millisecond)
	}
	return Summarise(lat), inputStages(downs, handled, presses, m.agent.Stderr()), ""
}

// inputStages splits each click's path in three: the console's
// pointerdown to the page's code handling it (the renderer's main thread
// busy with other work), the handler to the agent's arrival of the press
// (its -stage-times lines, the last len(downs) of them: the data channel
// over SCTP and DTLS, loopback), and the agent to the X server's delivery
// to the recorder (XTest injection and the X server).
func inputStages(downs, handled, presses []time.Time, stderr string) string {
	got := agentFields(stderr, "input: button press received")
	if len(got) < len(downs) {
		return fmt.Sprintf("the agent logged %d of %d presses: no stages", len(got), len(downs))
	}
	got = got[len(got)-len(downs):]
	var toPage, toAgent, toX []time.Duration
	for i, f := range got {
		us, err := strconv.ParseInt(f["at_us"], 10, 64)
		if err != nil {
			return "agent's press time: " + err.Error()
		}
		at := time.UnixMicro(us)
		toPage = append(toPage, handled[i].Sub(downs[i]))
		toAgent, toX = append(toAgent, at.Sub(handled[i])), append(toX, presses[i].Sub(at))
	}
	p, a, x := Summarise(toPage), Summarise(toAgent), Summarise(toX)
	return fmt.Sprintf("pointerdown to the page's handler p50 %s, p95 %s; handler to the agent p50 %s, p95 %s; agent to the X server p50 %s, p95 %s",
		ms(p.P50), ms(p.P95), ms(a.P50), ms(a.P95), ms(x.P50), ms(x.P95))
}
