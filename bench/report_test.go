package bench

import (
	"strings"
	"testing"
)

func TestReportMarkdown(t *testing.T) {
	r := Report{
		Machine: [][2]string{{"CPU", "AMD EPYC"}},
		Figures: []Figure{
			{Name: "glass-to-glass p50", Value: "30.0 ms", Target: "<= 35 ms", Verdict: Check(true)},
			{Name: "idle CPU", Value: "40 %", Target: "<= 2 %", Verdict: Check(false)},
			{Name: "input latency", Value: "n/a", Target: "<= 5 ms"},
		},
		Sections: []Section{{Title: "Profile", Text: "why", Header: []string{"a|b", "c"}, Rows: [][]string{{"1", "2"}}, Pre: "top\n"}},
	}
	var b strings.Builder
	if err := r.Write(&b, "# Benchmarks\n\n"); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"# Benchmarks\n\n|  |  |\n| --- | --- |\n| CPU | AMD EPYC |\n",
		"| glass-to-glass p50 | 30.0 ms | <= 35 ms | pass |",
		"| idle CPU | 40 % | <= 2 % | **miss** |",
		"| input latency | n/a | <= 5 ms | n/a |",
		"## Profile\n\nwhy\n\n| a\\|b | c |\n| --- | --- |\n| 1 | 2 |\n\n```\ntop\n```\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
