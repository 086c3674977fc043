package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// pipelineStages names the agent's pipeline stages by the symbols that
// perf finds in them, first match wins.
var pipelineStages = []struct {
	name  string
	match func(dso, sym string) bool
}{
	{"screen capture (X, image copies)", func(_, s string) bool {
		return strings.Contains(s, "screenshot.") || strings.Contains(s, "image.") || strings.Contains(s, "xgb") ||
			strings.Contains(s, "agent/capture.(") || strings.Contains(s, "agent/capture.Capture") || strings.Contains(s, "memmove")
	}},
	{"colour conversion to I420", func(_, s string) bool { return strings.Contains(s, "I420") || strings.Contains(s, "agent/capture.") }},
	{"H.264 encode (OpenH264)", func(_, s string) bool {
		return strings.HasPrefix(s, "Wels") || strings.Contains(s, "WelsVP") || strings.Contains(s, "_SSE") || strings.Contains(s, "_sse") ||
			strings.Contains(s, "openh264") || strings.Contains(s, "codec") || strings.Contains(s, "WelsEnc")
	}},
	{"WebRTC send (pion)", func(_, s string) bool { return strings.Contains(s, "pion/") }},
	{"Go runtime (GC, scheduler)", func(_, s string) bool { return strings.HasPrefix(s, "runtime.") }},
}

// StageShare is the part of the agent's samples spent in one stage.
type StageShare struct {
	Stage   string
	Percent float64
}

// PerfStages sums the lines of `perf report --stdio --no-children --sort
// dso,sym -g none` into pipeline stages, largest first.
func PerfStages(report string) []StageShare {
	sums := map[string]float64{}
	for _, l := range strings.Split(report, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || !strings.HasSuffix(f[0], "%") {
			continue
		}
		p, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64)
		if err != nil {
			continue
		}
		dso, kind, sym := f[1], f[2], strings.Join(f[3:], " ")
		stage := "other"
		if kind == "[k]" {
			stage = "kernel"
		} else {
			for _, s := range pipelineStages {
				if s.match(dso, sym) {
					stage = s.name
					break
				}
			}
		}
		sums[stage] += p
	}
	var out []StageShare
	for s, p := range sums {
		out = append(out, StageShare{s, p})
	}
	slices.SortFunc(out, func(a, b StageShare) int {
		if a.Percent != b.Percent {
			if a.Percent > b.Percent {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Stage, b.Stage)
	})
	return out
}

// formatStages writes one stage a line: "  41.2 %  screen capture".
func formatStages(st []StageShare) string {
	var b strings.Builder
	for _, s := range st {
		fmt.Fprintf(&b, "%6.1f %%  %s\n", s.Percent, s.Stage)
	}
	return b.String()
}
