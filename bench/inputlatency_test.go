//go:build bench

package bench

import (
	"context"
	"fmt"
	"image"
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
func (s *stage) inputLatency(ctx context.Context, m *meekijk) (Dist, string) {
	rec, err := NewInputRecorder(s.display, image.Rect(200, 900, 360, 1000))
	if err != nil {
		return Dist{}, err.Error()
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
			window.__benchDown = [];
			const v = document.getElementById('screen');
			v.scrollIntoView();
			v.addEventListener('pointerdown', (e) => window.__benchDown.push(performance.timeOrigin + e.timeStamp), true);
			return true;
		})()`)
	}
	if err != nil {
		return Dist{}, "input latency: " + err.Error()
	}
	var lat []time.Duration
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
			return Dist{}, "input latency: " + err.Error()
		}
		var pressed time.Time
		select {
		case pressed = <-rec.Press:
		case <-time.After(3 * time.Second):
			return Dist{}, fmt.Sprintf("input latency: click %d never reached the X server (picture %.0f pixels wide)", i, at[2])
		case <-ctx.Done():
			return Dist{}, "input latency: " + ctx.Err().Error()
		}
		down, err := js[float64](m.console, fmt.Sprintf(`window.__benchDown[%d]`, i))
		if err != nil {
			return Dist{}, "input latency: " + err.Error()
		}
		lat = append(lat, pressed.Sub(time.UnixMicro(int64(down*1000))))
		time.Sleep(100 * time.Millisecond)
	}
	return Summarise(lat), ""
}
