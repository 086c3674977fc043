package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/testrig"
)

// TestMain lets the test binary stand in for the relay in a child process
// (MEEKIJK_TEST_RUN_RELAY=1), so a test can start it under its own
// descriptor limit.
func TestMain(m *testing.M) {
	if os.Getenv("MEEKIJK_TEST_RUN_RELAY") == "1" {
		if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A relay whose descriptors would run out keeps a reserve: agents beyond
// its cap are answered 503 with Retry-After, one summary line is logged
// for all of them, and the admin still logs in. Before, agents filled the
// descriptors and the admin's login failed in accept4 (too many open
// files).
func TestFullRelayStillLetsTheAdminIn(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := testrig.Start(t, []string{"MEEKIJK_TEST_RUN_RELAY=1"}, "prlimit", "--nofile=256:256", "--",
		exe, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-max-agents-per-ip", "1000")
	if err != nil {
		t.Fatal(err)
	}
	url, err := p.Line("Console: ", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	url = strings.TrimSuffix(url, "/")
	first, err := p.Line("First admin login: ", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	password := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(first)[1]

	wsURL := "ws" + strings.TrimPrefix(url, "http") + "/ws/agent"
	open, refused := 0, 0
	for range 256 {
		ws, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err == nil {
			t.Cleanup(func() { ws.Close() })
			open++
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("agent %d: %v (response %v), want 503 once full", open+1, err, resp)
		}
		if ra := resp.Header.Get("Retry-After"); ra == "" {
			t.Error("503 without Retry-After")
		}
		refused++
		if refused == 20 {
			break
		}
	}
	if refused == 0 || open < 50 {
		t.Fatalf("%d agents open, %d refused: want the relay to fill and refuse", open, refused)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	req, _ := http.NewRequest("POST", url+"/api/v1/login", strings.NewReader(`{"email":"admin","password":"`+password+`"}`))
	req.Header.Set("Origin", url)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("admin login with %d agents connected: %v", open, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin login with %d agents connected: %d %s", open, resp.StatusCode, body)
	}
	if n := strings.Count(p.Stderr(), "agent connections refused"); n != 1 {
		t.Errorf("%d refusals logged in %d lines, want one summary line", refused, n)
	}
	t.Logf("%d agents connected, %d refused, admin logged in", open, refused)
}
