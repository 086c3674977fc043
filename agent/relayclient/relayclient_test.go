package relayclient

import "testing"

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
