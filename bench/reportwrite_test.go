//go:build bench

package bench

import (
	_ "embed"
	"fmt"
	"os"
	"strings"
	"time"
)

// pipelineNotes is the record of pipeline changes with their before/after
// figures, kept by hand in bench/pipeline.md and appended to every report
// so a re-run does not lose it.
//
//go:embed pipeline.md
var pipelineNotes string

const intro = `# Benchmarks

Written by ` + "`make bench`" + ` (scripts/bench.sh, which runs ` + "`go test -tags bench ./bench`" + `) on the machine
below. It builds the relay and the agent, starts a 1920x1080 Xvfb, the real relay and agent binaries and
headless Chromium as the console, all on loopback, and measures:

- **glass-to-glass**: a window on the X display shows a 16-bit counter as black and white 16x16 blocks,
  repainted every 70-130 ms; the wall clock is read just before each paint. The console page gets a probe
  (injected with chromedp) that reads the counter from every frame it is handed
  (requestVideoFrameCallback) and notes ` + "`performance.timeOrigin + performance.now()`" + `; both clocks are
  CLOCK_REALTIME on the same machine. Latency = first frame showing a value - its paint.
- **frames per second**: ` + "`framesDecoded`" + ` from the console's getStats; **bytes per second**: RTP payload plus
  header bytes (` + "`bytesReceived + headerBytesReceived`" + ` of inbound-rtp); **agent CPU**: utime+stime of the agent
  from /proc over the phase, as % of one core.
- **workloads** (12 s each, after 1 s of settling, 3 s for the idle screen: the encoder refines a change for 1.5 s and
  the browser asks for key frames as a stream starts): an idle screen; the counter alone; typing prose into vi in
  an xterm (12 characters/s); scrolling a long text in less one line per 33 ms; moving an xterm full of
  text in circles, 25 moves/s. The counter runs during all but the idle screen.
- **Allow to first frame**: Date.now() in the agent's page just before Allow is clicked, to the console's
  ` + "`video.dataset.firstFrameAt`" + ` (Date.now() at the first decoded frame); three sessions.
- **x11vnc**: the same workloads through x11vnc (` + "`-localhost -nopw -shared -forever -nocursor`" + `, its defaults
  otherwise) and a Go RFB 3.8 client (bench/rfb.go) that asks for ZRLE, CopyRect and Raw, decodes every
  update into a copy of the screen, requests the next update at once, and counts the bytes on the socket.
  Its latency is paint to the decoded update showing the counter.
- **relay capacity**: a fresh relay binary; load generators (this test binary in a helper role, three
  processes, four loopback source addresses) open agent WebSockets that say hello and then sit idle,
  answering pings, stepping up to 50,000; relay RSS (VmRSS) at each step. A heap profile of the relay's
  own server code (in a helper process) holding 5,000 idle agents says where the memory goes.
- **session set-ups**: four workers, each: create a session (API), open the console socket, agent joins
  with the code, customer consents, console hears "live", customer ends it.

Everything shares the machine's cores (browser, agent, relay, X server, x11vnc), as on a technician's
laptop, so run it on an otherwise quiet machine. A run takes about 6 minutes.

`

func kBps(b float64) string { return fmt.Sprintf("%.1f kB/s", b/1000) }

func pct(p float64) string { return fmt.Sprintf("%.1f %%", p) }

func find(rs []phaseResult, name string) (phaseResult, bool) {
	for _, r := range rs {
		if r.workload == name && r.err == nil {
			return r, true
		}
	}
	return phaseResult{}, false
}

func writeReport(r *results, took time.Duration) error {
	if *outPath == "" {
		return nil
	}
	rep := Report{Machine: append(machine(took), [2]string{"load average at the start", r.loadBefore})}
	add := func(name, value, target string, v Verdict) {
		rep.Figures = append(rep.Figures, Figure{Name: name, Value: value, Target: target, Verdict: v})
	}
	const (
		markerOnly = "latency marker only"
		idle       = "idle screen"
		scroll     = "scrolling text"
	)
	if m, ok := find(r.meekijk, markerOnly); ok && m.lat.N > 0 {
		add("glass-to-glass p50", ms(m.lat.P50), "<= 35 ms", Check(m.lat.P50 <= 35*time.Millisecond))
		add("glass-to-glass p95", ms(m.lat.P95), "<= 60 ms", Check(m.lat.P95 <= 60*time.Millisecond))
	} else {
		add("glass-to-glass", "not measured", "p50 <= 35 ms, p95 <= 60 ms", NotMeasured)
	}
	if m, ok := find(r.meekijk, scroll); ok {
		add("frames/s while scrolling text", fmt.Sprintf("%.1f", m.fps()), ">= 30", Check(m.fps() >= 30))
	}
	if m, ok := find(r.meekijk, idle); ok {
		add("agent CPU, idle screen", pct(m.cpu), "<= 2 % of a core", Check(m.cpu <= 2))
		add("bytes/s, idle screen", kBps(m.bytesPerSec()), "near zero (<= 1 kB/s)", Check(m.bytesPerSec() <= 1000))
	}
	if len(r.allow) > 0 {
		var all []string
		for _, d := range r.allow {
			all = append(all, fmt.Sprintf("%d", d.Milliseconds()))
		}
		med := median(r.allow)
		add("Allow to first frame (median of 3)", fmt.Sprintf("%d ms (%s ms)", med.Milliseconds(), strings.Join(all, ", ")), "<= 300 ms", Check(med <= 300*time.Millisecond))
	}
	if r.input.N > 0 {
		add("input latency p50", ms(r.input.P50)+fmt.Sprintf(" (p95 %s, n=%d)", ms(r.input.P95), r.input.N), "<= 5 ms", Check(r.input.P50 <= 5*time.Millisecond))
	} else {
		add("input latency p50", r.inputNote, "<= 5 ms", NotMeasured)
	}
	// The scripted workload as a whole: the three activities together.
	var mb, vb float64
	complete := true
	for _, w := range []string{"typing in an editor", scroll, "moving a window"} {
		m, ok1 := find(r.meekijk, w)
		v, ok2 := find(r.vnc, w)
		complete = complete && ok1 && ok2
		mb, vb = mb+float64(m.view.bytes), vb+float64(v.view.bytes)
	}
	if complete && vb > 0 {
		add("bytes, scripted workload, Meekijk / x11vnc", fmt.Sprintf("%.2f (%.0f kB / %.0f kB)", mb/vb, mb/1000, vb/1000), "<= 0.5", Check(mb/vb <= 0.5))
	}
	if m, ok := find(r.meekijk, markerOnly); ok {
		if v, ok := find(r.vnc, markerOnly); ok && v.lat.N > 0 && m.lat.N > 0 {
			add("glass-to-glass p50, Meekijk / x11vnc", fmt.Sprintf("%.2f (%s / %s)", float64(m.lat.P50)/float64(v.lat.P50), ms(m.lat.P50), ms(v.lat.P50)), "", NotMeasured)
		}
	}
	if c := r.capacity; c != nil {
		maxHeld := 0
		if len(c.Steps) > 0 {
			maxHeld = c.Steps[len(c.Steps)-1].Agents
		}
		add("idle agents held by one relay", fmt.Sprint(maxHeld), ">= 50,000", Check(maxHeld >= 50_000))
		if per, ok := perAgentRSS(c); ok {
			add("relay memory per idle agent (RSS)", fmt.Sprintf("%.1f KB", per/1024), "<= 20 KB", Check(per <= 20*1024))
		}
		if c.SetupErr == nil {
			add("session set-ups per second", fmt.Sprintf("%.1f (%d in the run)", c.SetupRate, c.Setups), "", NotMeasured)
		} else {
			add("session set-ups per second", "failed: "+c.SetupErr.Error(), "", NotMeasured)
		}
	}

	if w := r.windows; w != nil && w.failure == nil && w.skipped == nil {
		add("agent.exe size", fmt.Sprintf("%.1f MB", float64(w.exeBytes)/1e6), "<= 20 MB", Check(w.exeBytes <= 20e6))
		start := median(w.wineStarts)
		add("agent.exe start to the code page under Wine (median of 5, warm)", fmt.Sprintf("%d ms", start.Milliseconds()), "<= 1 s", Check(start <= time.Second))
	}
	rep.Sections = append(rep.Sections, sideBySide(r))
	if r.windows != nil {
		rep.Sections = append(rep.Sections, r.windows.section())
	}
	rep.Sections = append(rep.Sections, capacitySection(r.capacity)...)
	rep.Sections = append(rep.Sections, Section{Title: "Input latency", Text: inputText + "\n\nThis run: " + orText(r.input, r.inputNote)})
	rep.Sections = append(rep.Sections, limits(r)...)
	if len(r.errs) > 0 {
		rep.Sections = append(rep.Sections, Section{Title: "Errors in this run", Pre: strings.Join(r.errs, "\n")})
	}
	rep.Sections = append(rep.Sections, Section{Title: "Pipeline changes: before/after", Text: strings.TrimSpace(pipelineNotes)})
	f, err := os.Create(*outPath)
	if err != nil {
		return err
	}
	if err := rep.Write(f, intro); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func orText(d Dist, note string) string {
	if d.N > 0 {
		return d.String()
	}
	return note
}

const inputText = `The path is built (bench/inputlatency_test.go, bench/recorder.go) and switched on with
` + "`-input`" + `: a grey recorder window of our own on the X display selects ButtonPress and stamps each
press with the wall clock as it comes off the X socket; the console gets a capture-phase pointerdown
listener on the video that keeps ` + "`performance.timeOrigin + event.timeStamp`" + `; chromedp clicks 30 times on the
recorder's picture in the console (page coordinates from the letterboxed video's box). Latency = press
at the X server - pointerdown in the console.`

// perAgentRSS is the relay's RSS growth per agent at the largest step.
func perAgentRSS(c *capacity) (float64, bool) {
	if len(c.Steps) == 0 || c.Steps[len(c.Steps)-1].Agents == 0 {
		return 0, false
	}
	last := c.Steps[len(c.Steps)-1]
	return float64(last.RSS-c.Baseline) / float64(last.Agents), true
}

func sideBySide(r *results) Section {
	s := Section{
		Title: "Side by side with x11vnc",
		Text: `Same workloads, same screen, one after the other. "frames/s" is decoded frames for Meekijk and
framebuffer updates received for VNC. Latency is paint to first sight of the value at the viewer
(markers seen / painted). CPU is the agent's or x11vnc's, in % of one core.`,
		Header: []string{"workload", "frames/s M / V", "kB/s M / V", "bytes M/V", "latency M", "latency V", "p50 M/V", "CPU M / V"},
	}
	for _, w := range workloads() {
		m, ok1 := find(r.meekijk, w.name)
		v, ok2 := find(r.vnc, w.name)
		if !ok1 && !ok2 {
			continue
		}
		ratio := func(a, b float64) string {
			if !ok1 || !ok2 || b == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", a/b)
		}
		lat := func(p phaseResult, ok bool) string {
			if !ok || p.painted == 0 {
				return "-"
			}
			return fmt.Sprintf("%s / %s (%d/%d)", ms(p.lat.P50), ms(p.lat.P95), p.matched, p.painted)
		}
		s.Rows = append(s.Rows, []string{w.name,
			fmt.Sprintf("%.1f / %.1f", m.fps(), v.fps()),
			fmt.Sprintf("%.1f / %.1f", m.bytesPerSec()/1000, v.bytesPerSec()/1000),
			ratio(m.bytesPerSec(), v.bytesPerSec()),
			lat(m, ok1), lat(v, ok2),
			ratio(float64(m.lat.P50), float64(v.lat.P50)),
			fmt.Sprintf("%.0f / %.0f", m.cpu, v.cpu)})
	}
	var codec string
	var notes []string
	for _, m := range r.meekijk {
		if m.err == nil && m.view.frames > 0 {
			codec = m.view.codec
			notes = append(notes, fmt.Sprintf("%-20s %2d key frames, jitter buffer %5.1f ms/frame, decode %.1f ms/frame, agent CPU %.1f ms/frame",
				m.workload+":", m.view.keyframes, m.view.jitterMs, m.view.decodeMs, m.cpu*10/m.fps()))
		}
	}
	if codec != "" {
		s.Pre = "Meekijk video: " + codec + "\n" + strings.Join(notes, "\n")
	}
	return s
}

func capacitySection(c *capacity) []Section {
	if c == nil {
		return nil
	}
	s := Section{Title: "Relay capacity", Header: []string{"idle agents", "relay RSS", "per agent"}}
	s.Text = fmt.Sprintf("Open-file limit of the relay and load generators: %d. %s\n\nRSS with no agent: %.1f MB.",
		c.FDLimit, c.FDNote, float64(c.Baseline)/1e6)
	if c.StopNote != "" {
		s.Text += " " + c.StopNote + "."
	}
	for _, st := range c.Steps {
		per := "-"
		if st.Agents > 0 {
			per = fmt.Sprintf("%.1f KB", float64(st.RSS-c.Baseline)/float64(st.Agents)/1024)
		}
		s.Rows = append(s.Rows, []string{fmt.Sprint(st.Agents), fmt.Sprintf("%.1f MB", float64(st.RSS)/1e6), per})
	}
	p := Section{Title: "Relay memory per idle agent: heap profile",
		Text: fmt.Sprintf(`The relay's server code in a helper process holding %d idle agents, after a GC: per agent %.1f KB
of live heap, %.1f KB of goroutine stacks, %.1f goroutines. The heap's allocation sites
(go tool pprof -top, inuse_space):`, c.ProfileAgents, c.PerAgentHeap/1024, c.PerAgentStack/1024, c.PerAgentGos),
		Pre: c.Profile}
	return []Section{s, p}
}

// limits explains each missed target from what was measured: the agent's
// own frame statistics and its perf profiles.
func limits(r *results) []Section {
	var why []string
	perFrame := func(p phaseResult) string {
		if p.fps() == 0 {
			return "no frames"
		}
		return fmt.Sprintf("%.1f frames/s, agent CPU %.0f %% of a core = %.1f ms per frame, jitter buffer %.1f ms, decode %.1f ms",
			p.fps(), p.cpu, p.cpu*10/p.fps(), p.view.jitterMs, p.view.decodeMs)
	}
	if m, ok := find(r.meekijk, "latency marker only"); ok && (m.lat.P50 > 35*time.Millisecond || m.lat.P95 > 60*time.Millisecond) {
		why = append(why, "- **glass-to-glass** (counter only): "+perFrame(m)+
			". A change waits for the next capture tick (half a frame interval on average), then the agent's capture, conversion and encode of the whole frame (the agent's CPU per frame above; the stages are in the profiles below), then the browser's jitter buffer, decode and its next paint.")
	}
	if m, ok := find(r.meekijk, "scrolling text"); ok && m.fps() < 30 {
		why = append(why, "- **frames/s while scrolling**: "+perFrame(m)+"; the agent's time by stage is in the scrolling profile below.")
	}
	if m, ok := find(r.meekijk, "idle screen"); ok && (m.cpu > 2 || m.bytesPerSec() > 1000) {
		why = append(why, fmt.Sprintf("- **idle screen**: the agent sent %.1f frames/s (%.1f kB/s, %d key frames) and used %.1f %% of a core. It encodes only when the screen changed, for 1.5 s of refinement after a change, and on the browser's keyframe requests, at ~15 ms of OpenH264 per 1080p frame; the idle profile below shows where its time goes.",
			m.fps(), m.bytesPerSec()/1000, m.view.keyframes, m.cpu))
	}
	if c := r.capacity; c != nil && c.StopNote != "" {
		note := "- **idle agents**: " + c.StopNote + ". " + c.FDNote + "; each idle agent holds one socket, so one relay process cannot hold more agents than its open-file limit here. Memory per agent is measured up to that point; the heap profile above shows what an agent costs."
		if n := len(c.Steps); n >= 2 && c.Steps[n-1].Agents > c.Steps[0].Agents {
			first, last := c.Steps[0], c.Steps[n-1]
			slope := float64(last.RSS-first.RSS) / float64(last.Agents-first.Agents)
			note += fmt.Sprintf(" From %d to %d agents RSS grew %.1f KB per agent; at that slope 50,000 agents would take %.0f MB, so memory would not be the limit on a host that allows 50,000 open files.",
				first.Agents, last.Agents, slope/1024, (float64(last.RSS)+slope*float64(50_000-last.Agents))/1e6)
		}
		why = append(why, note)
	}
	if c := r.capacity; c != nil {
		if per, ok := perAgentRSS(c); ok && per > 20*1024 && c.ProfileAgents > 0 {
			why = append(why, fmt.Sprintf("- **relay memory per idle agent**: RSS grew %.1f KB per agent; in the heap profile an idle agent holds %.1f KB of live heap and %.1f KB of stacks for its %.0f goroutines (the handler's, reading); the largest heap sites: %s.",
				per/1024, c.PerAgentHeap/1024, c.PerAgentStack/1024, c.PerAgentGos, strings.Join(topSites(c.Profile, 3), ", ")))
		}
	}
	return []Section{{
		Title: "What limits the missed targets",
		Text: strings.Join(why, "\n") + `

The agent has no profiling flag, so it is sampled with perf (` + "`perf record -F 499 -g -p AGENT`" + `, 8 s)
while the screen is idle and while text scrolls; samples are summed by pipeline stage (bench/perf.go
names the stages by symbol), then the hottest functions.`,
		Pre: "agent, idle screen, " + r.perfIdle + "\n\nagent, scrolling text, " + r.perfBusy,
	}}
}

// topSites are the first n function names of a pprof -top listing.
func topSites(profile string, n int) []string {
	var out []string
	for _, l := range strings.Split(profile, "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && strings.HasSuffix(f[1], "%") && len(out) < n {
			out = append(out, fmt.Sprintf("%s (%s)", strings.Join(f[5:], " "), f[1]))
		}
	}
	return out
}
