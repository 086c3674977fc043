package bench

import (
	"testing"
	"time"
)

func TestSummarise(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	d := Summarise(s)
	if d.N != 100 || d.P50 != 50*time.Millisecond || d.P95 != 95*time.Millisecond || d.Min != time.Millisecond || d.Max != 100*time.Millisecond {
		t.Fatalf("Summarise = %+v", d)
	}
	if s[0] != 100*time.Millisecond {
		t.Fatal("Summarise sorted its input in place")
	}
	if one := Summarise([]time.Duration{7}); one.P50 != 7 || one.P95 != 7 {
		t.Fatalf("one sample: %+v", one)
	}
	if got := Summarise(nil).String(); got != "no samples" {
		t.Fatalf("empty: %q", got)
	}
}
