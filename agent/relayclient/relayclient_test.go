package relayclient

import (
	"testing"
	"time"
)

func TestSocketURL(t *testing.T) {
	good := map[string]string{
		"http://127.0.0.1:8080":           "ws://127.0.0.1:8080/ws/agent",
		"http://127.0.0.1:8080/":          "ws://127.0.0.1:8080/ws/agent",
		"https://support.example.be":      "wss://support.example.be/ws/agent",
		"https://example.be/meekijk/?x=1": "wss://example.be/meekijk/ws/agent",
	}
	for in, want := range good {
		if got, err := SocketURL(in); err != nil || got != want {
			t.Errorf("SocketURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://x", "127.0.0.1:8080", "http://", "::"} {
		if got, err := SocketURL(bad); err == nil {
			t.Errorf("SocketURL(%q) = %q, want an error", bad, got)
		}
	}
}

func TestBackoffGrowsWithJitterUpToItsCap(t *testing.T) {
	b := Backoff{Base: 500 * time.Millisecond, Max: 10 * time.Second}
	for _, tc := range []struct {
		n        int
		min, max time.Duration
	}{
		{0, 250 * time.Millisecond, 500 * time.Millisecond},
		{1, 500 * time.Millisecond, time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{5, 5 * time.Second, 10 * time.Second},
		{40, 5 * time.Second, 10 * time.Second},
	} {
		lo, hi := b.Delay(tc.n, 0), b.Delay(tc.n, 0.999999)
		if lo != tc.min || hi > tc.max || hi < tc.max-time.Millisecond {
			t.Errorf("attempt %d: delays %v..%v, want %v..%v", tc.n, lo, hi, tc.min, tc.max)
		}
	}
	// Agents dropped together spread out.
	if b.Delay(2, 0.1) == b.Delay(2, 0.9) {
		t.Error("no jitter")
	}
}
