package bench

import (
	"slices"
	"testing"
)

func TestPerfStages(t *testing.T) {
	report := `# Samples: 4K of event 'cpu-clock'
    19.38%  agent              [.] github.com/kbinani/screenshot.captureXinerama
    16.07%  agent              [.] github.com/meekijk/meekijk/agent/capture.RGBAToI420
    12.37%  agent              [.] image.(*RGBA).SetRGBA
    10.51%  agent              [.] WelsVP::CheckLine
     5.10%  [kernel.kallsyms]  [k] finish_task_switch.isra.0
     2.61%  agent              [.] WelsSampleSad8x8_sse21.pixel_sad_8x8_nsplit
     1.00%  agent              [.] HASH_WIDTH_LOOP_SSE2
     0.50%  agent              [.] runtime.mallocgc
     0.25%  agent              [.] github.com/pion/srtp/v3.(*Context).encryptRTP
     0.10%  libc.so.6          [.] something_else
`
	got := PerfStages(report)
	want := []StageShare{
		{"screen capture (X, image copies)", 31.75},
		{"colour conversion to I420", 16.07},
		{"H.264 encode (OpenH264)", 14.12},
		{"kernel", 5.10},
		{"Go runtime (GC, scheduler)", 0.50},
		{"WebRTC send (pion)", 0.25},
		{"other", 0.10},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].Stage != want[i].Stage || got[i].Percent-want[i].Percent > 1e-9 || want[i].Percent-got[i].Percent > 1e-9 {
			t.Fatalf("stage %d: got %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
	if !slices.Equal(PerfStages("no samples"), nil) {
		t.Fatal("stages from nothing")
	}
}
