//go:build bench

package bench

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// seenMarker is the first sight of a marker value at a viewer.
type seenMarker struct {
	n  uint16
	at time.Time
	// The video frame that showed it, from requestVideoFrameCallback's
	// metadata (zero for a canvas): when its last packet arrived, how long
	// it took to decode, and when it was presented.
	received, presented time.Time
	decode              time.Duration
}

// pictureTimes is one picture the agent sent after a change, as its
// -stage-times log line gives it.
type pictureTimes struct {
	captured              time.Time // the capture began
	capture, encode, send time.Duration
}

// sent is when the picture's last packet left the agent.
func (p pictureTimes) sent() time.Time { return p.captured.Add(p.capture + p.encode + p.send) }

// latencyStages splits glass-to-glass into its stages, each the median
// over a phase's markers (so they need not add up to the median of the
// whole). From the agent's -stage-times lines: paint to the capture that
// took it in (the X server's damage report and the loop's wait), the
// capture (copy and conversion to I420), encoding and sending. From the
// browser's frame metadata (requestVideoFrameCallback): sent to the
// frame's last packet received (loopback, the browser's network process
// and its hand-over to the renderer), decode, decoded to presented by the
// compositor, and presented to the probe's callback (the page's next
// rendering step).
type latencyStages struct {
	n, agentN                           int
	wait, capture, encode, send, arrive time.Duration
	decode, present, callback           time.Duration
}

// stagesOf matches each marker seen to its paint and to the first
// picture captured at or after the paint.
func stagesOf(seen []seenMarker, paints map[uint16]time.Time, pics []pictureTimes) latencyStages {
	var wait, capture, encode, send, arrive, decode, present, callback []time.Duration
	for _, m := range seen {
		at, ok := paints[m.n]
		if !ok || m.received.IsZero() || m.presented.IsZero() {
			continue
		}
		decode = append(decode, m.decode)
		present = append(present, m.presented.Sub(m.received)-m.decode)
		callback = append(callback, m.at.Sub(m.presented))
		i, _ := slices.BinarySearchFunc(pics, at, func(p pictureTimes, t time.Time) int { return p.captured.Compare(t) })
		if i == len(pics) || pics[i].sent().After(m.received) {
			continue // no picture of the agent's explains this frame
		}
		p := pics[i]
		wait = append(wait, p.captured.Sub(at))
		capture, encode, send = append(capture, p.capture), append(encode, p.encode), append(send, p.send)
		arrive = append(arrive, m.received.Sub(p.sent()))
	}
	med := func(d []time.Duration) time.Duration { return Summarise(d).P50 }
	return latencyStages{n: len(decode), agentN: len(wait), wait: med(wait), capture: med(capture), encode: med(encode),
		send: med(send), arrive: med(arrive), decode: med(decode), present: med(present), callback: med(callback)}
}

// String is the stages in milliseconds, or "" without frame metadata.
func (l latencyStages) String() string {
	if l.n == 0 {
		return ""
	}
	agent := "no agent stage times"
	if l.agentN > 0 {
		agent = fmt.Sprintf("paint to capture %s, capture %s, encode %s, send %s, sent to the browser's last packet %s (%d markers)",
			ms(l.wait), ms(l.capture), ms(l.encode), ms(l.send), ms(l.arrive), l.agentN)
	}
	return fmt.Sprintf("%s; decode %s, decoded to presented %s, presented to the probe %s (%d markers)",
		agent, ms(l.decode), ms(l.present), ms(l.callback), l.n)
}

// stageTimer is a viewer whose sender logs its pictures' stage times.
type stageTimer interface {
	pictures() []pictureTimes
}

// viewStats is what a viewer received between mark and collect.
type viewStats struct {
	bytes, frames, keyframes int64
	decodeMs                 float64 // mean decode time per frame (Meekijk only)
	jitterMs                 float64 // mean time a frame waited in the jitter buffer (Meekijk only)
	codec                    string
	seen                     []seenMarker
}

// viewer is one way of looking at the screen remotely: Meekijk's console,
// or a VNC client.
type viewer interface {
	mark() error
	collect() (viewStats, error)
	pid() int // the process that serves the picture: its CPU is measured
}

// workload is a scripted activity on the screen.
type workload struct {
	name   string
	marker bool // paint the latency marker during it
	// settle is how long the workload runs before it is measured; 0
	// means a second, which covers a workload's first full redraw.
	settle time.Duration
	// start puts the workload on screen and drives it until stop.
	start func(ctx context.Context, s *stage) (stop func(), err error)
}

func workloads() []workload {
	return []workload{
		// The idle screen is measured once the stream's start is over:
		// the encoder refines the last change for 1.5 s, and the
		// browser asks for key frames as a stream begins.
		{name: "idle screen", start: noWorkload, settle: 3 * time.Second},
		{name: "latency marker only", marker: true, start: noWorkload},
		{name: "typing in an editor", marker: true, start: typing},
		{name: "scrolling text", marker: true, start: scrolling},
		{name: "moving a window", marker: true, start: movingWindow},
	}
}

func noWorkload(context.Context, *stage) (func(), error) { return func() {}, nil }

// xterm opens a terminal running argv at a fixed place and size, with a
// scalable font so every run draws the same pixels, and returns its
// window once mapped.
func (s *stage) xterm(ctx context.Context, argv ...string) (*exec.Cmd, string, error) {
	args := append([]string{"-fa", "DejaVu Sans Mono", "-fs", "11", "-geometry", "150x45+40+120", "-e"}, argv...)
	cmd := exec.CommandContext(ctx, "xterm", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+s.display)
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start xterm: %w", err)
	}
	out, err := s.xdotool(ctx, "search", "--sync", "--onlyvisible", "--pid", strconv.Itoa(cmd.Process.Pid))
	if err != nil {
		kill(cmd)
		return nil, "", err
	}
	wid := strings.Fields(out)[0]
	if _, err := s.xdotool(ctx, "windowfocus", "--sync", wid); err != nil {
		kill(cmd)
		return nil, "", err
	}
	time.Sleep(500 * time.Millisecond) // the program inside draws its first screen
	return cmd, wid, nil
}

func (s *stage) xdotool(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+s.display)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("xdotool %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// drive runs xdotool in the background until stopped.
func (s *stage) drive(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+s.display)
	_ = cmd.Start()
	return cmd
}

func kill(cmds ...*exec.Cmd) {
	for _, c := range cmds {
		if c != nil && c.Process != nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
}

// longText is a file of varied prose lines to scroll through.
func longText(dir string) (string, error) {
	words := strings.Fields(`de klant belt omdat de kasprinter geen tickets meer afdrukt sinds de update van
		gisteren; de technicus vraagt om mee te kijken en ziet dat het stuurprogramma ontbreekt, installeert het
		opnieuw en drukt een testpagina af terwijl de klant meekijkt en bevestigt dat alles weer werkt`)
	rng := rand.New(rand.NewPCG(8, 8))
	var b strings.Builder
	for i := range 20_000 {
		fmt.Fprintf(&b, "%05d ", i+1)
		for range 8 + rng.IntN(14) {
			b.WriteString(words[rng.IntN(len(words))] + " ")
		}
		b.WriteString("\n")
	}
	path := filepath.Join(dir, "tekst.txt")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

// typing types prose into vi at about 12 characters a second.
func typing(ctx context.Context, s *stage) (func(), error) {
	term, _, err := s.xterm(ctx, "vi", "-u", "NONE", "-n", filepath.Join(s.dir, "notities.txt"))
	if err != nil {
		return nil, err
	}
	text := "iDe kassa in de winkel aan de Meir print geen tickets meer sinds gisteren.\n"
	text = strings.Repeat(text, 1+int((*phaseDur+5*time.Second)/(80*time.Millisecond))/len(text))
	typer := s.drive(ctx, "type", "--delay", "80", text)
	return func() { kill(typer, term) }, nil
}

// scrolling scrolls a long text in less, a line every 33 ms: the whole
// terminal changes every frame at 30 frames a second.
func scrolling(ctx context.Context, s *stage) (func(), error) {
	path, err := longText(s.dir)
	if err != nil {
		return nil, err
	}
	term, _, err := s.xterm(ctx, "less", "-S", path)
	if err != nil {
		return nil, err
	}
	keys := []string{"key", "--delay", "33"}
	for range int((*phaseDur+5*time.Second)/(33*time.Millisecond)) + 1 {
		keys = append(keys, "Down")
	}
	scroller := s.drive(ctx, keys...)
	return func() { kill(scroller, term) }, nil
}

// movingWindow drags a terminal full of text around in circles, 25 moves a
// second, through the X server directly (no window manager here).
func movingWindow(ctx context.Context, s *stage) (func(), error) {
	path, err := longText(s.dir)
	if err != nil {
		return nil, err
	}
	term, wid, err := s.xterm(ctx, "less", "-S", path)
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseUint(strings.TrimSpace(wid), 10, 32)
	if err != nil {
		kill(term)
		return nil, fmt.Errorf("window id %q: %w", wid, err)
	}
	x, err := xgb.NewConnDisplay(s.display)
	if err != nil {
		kill(term)
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			a := float64(i) * 2 * math.Pi / 75 // a turn in 3 s
			px, py := 250+200*math.Cos(a), 150+90*math.Sin(a)
			xproto.ConfigureWindow(x, xproto.Window(id), xproto.ConfigWindowX|xproto.ConfigWindowY, []uint32{uint32(int32(px)), uint32(int32(py))})
			_, _ = xproto.GetInputFocus(x).Reply()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
		x.Close()
		kill(term)
	}, nil
}

// phaseResult is one workload seen through one viewer.
type phaseResult struct {
	workload string
	seconds  float64
	view     viewStats
	cpu      float64 // the serving process, % of one core
	lat      Dist
	stages   latencyStages
	painted  int
	matched  int
	load     float64 // mean 1-minute load average during the phase
	err      error
}

func (r phaseResult) fps() float64         { return float64(r.view.frames) / r.seconds }
func (r phaseResult) bytesPerSec() float64 { return float64(r.view.bytes) / r.seconds }

// measure runs workload w for the phase's duration while v watches, and
// returns what v received and what it cost.
func (s *stage) measure(ctx context.Context, w workload, v viewer) phaseResult {
	res := phaseResult{workload: w.name}
	stop, err := w.start(ctx, s)
	if err != nil {
		res.err = err
		return res
	}
	defer stop()
	// The workload's first full redraw is not its steady state.
	time.Sleep(cmp.Or(w.settle, time.Second))
	if res.err = v.mark(); res.err != nil {
		return res
	}
	cpu, err := StartCPU(v.pid())
	if err != nil {
		res.err = err
		return res
	}
	start := time.Now()
	load := SampleLoad(time.Second)
	paints := map[uint16]time.Time{}
	if w.marker {
		res.err = s.paintFor(ctx, *phaseDur, paints)
	} else {
		time.Sleep(*phaseDur)
	}
	// The last paint needs its trip through the pipeline before counting.
	time.Sleep(300 * time.Millisecond)
	res.seconds = time.Since(start).Seconds()
	res.load, _ = load.Stop()
	if res.cpu, err = cpu.Percent(); err != nil && res.err == nil {
		res.err = err
	}
	view, err := v.collect()
	if err != nil && res.err == nil {
		res.err = err
	}
	res.view = view
	var lat []time.Duration
	for _, seen := range view.seen {
		if at, ok := paints[seen.n]; ok {
			lat = append(lat, seen.at.Sub(at))
		}
	}
	res.painted, res.matched, res.lat = len(paints), len(lat), Summarise(lat)
	var pics []pictureTimes
	if st, ok := v.(stageTimer); ok {
		pics = st.pictures()
	}
	res.stages = stagesOf(view.seen, paints, pics)
	return res
}

// paintFor paints a new marker value every 70-130 ms (jittered, so paints
// do not lock to the capture's clock) for d.
func (s *stage) paintFor(ctx context.Context, d time.Duration, paints map[uint16]time.Time) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		s.counter++
		at, err := s.marker.Paint(s.counter)
		if err != nil {
			return err
		}
		paints[s.counter] = at
		time.Sleep(70*time.Millisecond + rand.N(60*time.Millisecond))
	}
	return ctx.Err()
}
