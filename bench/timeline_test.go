//go:build bench

package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// timelineStep is one step between Allow and the first frame, at a
// wall-clock time in milliseconds since the epoch (Date.now()).
type timelineStep struct {
	What string  `json:"what"`
	At   float64 `json:"at"`
}

// timelineJS notes, in the console, the peer connection's steps as they
// happen: it wraps the page's RTCPeerConnection once, before Allow is
// clicked, and each session starts a fresh list.
const timelineJS = `(() => {
	window.__benchTimeline = [];
	const note = (what) => window.__benchTimeline.push({ what: 'console: ' + what, at: Date.now() });
	if (!window.__benchWrapped) {
		window.__benchWrapped = true;
		const P = window.RTCPeerConnection;
		window.RTCPeerConnection = function (...args) {
			const pc = new P(...args);
			note('peer connection created');
			pc.addEventListener('signalingstatechange', () => note('signaling ' + pc.signalingState));
			pc.addEventListener('icegatheringstatechange', () => note('ICE gathering ' + pc.iceGatheringState));
			pc.addEventListener('iceconnectionstatechange', () => note('ICE ' + pc.iceConnectionState));
			pc.addEventListener('connectionstatechange', () => note('connection ' + pc.connectionState));
			pc.addEventListener('track', () => note('track'));
			return pc;
		};
		window.RTCPeerConnection.prototype = P.prototype;
		// Statics too: the console makes its next certificate with
		// RTCPeerConnection.generateCertificate (the verification code's
		// commitment), and without it no offer is ever answered.
		Object.setPrototypeOf(window.RTCPeerConnection, P);
	}
	return true;
})()`

// agentSteps are the agent's log lines (slog text, time=...) from Allow on.
func agentSteps(stderr string, since float64) []timelineStep {
	var steps []timelineStep
	for _, l := range strings.Split(stderr, "\n") {
		ts, rest, ok := strings.Cut(strings.TrimPrefix(l, "time="), " ")
		if !ok || !strings.HasPrefix(l, "time=") {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			continue
		}
		ms := float64(at.UnixMicro()) / 1000
		if ms < since-1 {
			continue
		}
		// "level=INFO msg=..." is shortened to the message and its fields.
		if _, m, ok := strings.Cut(rest, "msg="); ok {
			rest = m
		}
		steps = append(steps, timelineStep{What: "agent: " + rest, At: ms})
	}
	return steps
}

// agentFields are the key=value fields of the agent's log lines whose
// message is msg, in order.
func agentFields(stderr, msg string) []map[string]string {
	var out []map[string]string
	tag := "msg=" + strconv.Quote(msg) + " "
	for _, l := range strings.Split(stderr, "\n") {
		_, rest, ok := strings.Cut(l, tag)
		if !ok {
			continue
		}
		f := map[string]string{}
		for _, kv := range strings.Fields(rest) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				f[k] = v
			}
		}
		out = append(out, f)
	}
	return out
}

// formatTimeline lists the steps in order, in ms after Allow.
func formatTimeline(allowedAt float64, steps []timelineStep) string {
	slices.SortStableFunc(steps, func(a, b timelineStep) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	var b strings.Builder
	b.WriteString("   0 ms  page: Allow clicked\n")
	for _, s := range steps {
		fmt.Fprintf(&b, "%4.0f ms  %s\n", s.At-allowedAt, s.What)
	}
	return b.String()
}

// Allow to first frame on a quiet machine is within the target, median
// of three sessions; the steps of the last are logged.
func TestAllowToFirstFrame(t *testing.T) {
	s, err := newStage(t)
	if err != nil {
		t.Fatal(err)
	}
	c := &condResult{cond: conditions[0]}
	for range 3 {
		m, d, timeline, err := s.startSession()
		if err != nil {
			t.Fatal(err)
		}
		c.allow, c.timeline = append(c.allow, d), timeline
		if err := m.stop(); err != nil {
			t.Fatal(err)
		}
	}
	al := allowSpread(c)
	t.Logf("Allow to first frame %s ms, load %s; last session:\n%s", al.Format(0), loadAvg(), c.timeline)
	if al.Median > tAllow.quiet {
		t.Errorf("median %.0f ms, want <= %.0f", al.Median, tAllow.quiet)
	}
}
