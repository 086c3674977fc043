package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/protocol"
)

// client keeps no connection open after a test: the unwinding tests
// check with goleak that nothing outlives a relay.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// scrape reads /metrics into name{labels} -> value.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func dialAgent(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/ws/agent", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func sendMsg(t *testing.T, ws *websocket.Conn, m protocol.Message) {
	t.Helper()
	b, _ := protocol.Encode(m)
	if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatal(err)
	}
}

func readMsg(t *testing.T, ws *websocket.Conn) protocol.Message {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	m, err := protocol.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// /metrics, on its own listener, counts what real connections did: open
// WebSockets, a wrong code by its reason, a foreign page turned away, and
// the sessions in the store; the console's address does not serve it.
func TestMetricsCountRealConnections(t *testing.T) {
	maddr := freeAddr(t)
	_, url, out, _ := startRelayWith(t, Config{DataDir: t.TempDir(), MetricsAddr: maddr})
	// Run prints it after the console's address, which is all
	// startRelayWith waits for.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "Metrics: http://"+maddr+"/metrics"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the relay did not say where its metrics are: %q", out.String())
		}
	}
	base := "http://" + maddr
	before := scrape(t, base)
	if before["meekijk_websockets_open"] != 0 || before["meekijk_descriptors_limit"] <= 0 || before["meekijk_descriptors_open"] <= 0 ||
		before["meekijk_draining"] != 0 {
		t.Fatalf("at rest: %v", before)
	}
	if _, ok := before["meekijk_cluster_leader"]; ok {
		t.Error("a lone relay reports meekijk_cluster_leader; it has no desk to lead")
	}
	if v, ok := before["meekijk_sessions_taken_over_total"]; !ok || v != 0 {
		t.Errorf("meekijk_sessions_taken_over_total %v (present %v), want 0", v, ok)
	}
	ws := dialAgent(t, url)
	sendMsg(t, ws, protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent})
	readMsg(t, ws) // welcome
	sendMsg(t, ws, protocol.Join{Code: "123456789012"})
	if e, ok := readMsg(t, ws).(protocol.Error); !ok || e.Code != protocol.ErrWrongCode {
		t.Fatalf("a wrong code was not refused as such: %#v", e)
	}
	req, _ := http.NewRequest("GET", url+"/ws/agent", nil)
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
	}
	got := scrape(t, base)
	for name, want := range map[string]float64{
		"meekijk_websockets_open":                        1,
		`meekijk_refused_total{reason="wrong_code"}`:     1,
		`meekijk_refused_total{reason="foreign_origin"}`: 1,
		"meekijk_session_setups_total":                   0,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	// The histogram may be gathered before or after this scrape's query.
	if n := got["meekijk_store_query_seconds_count"]; n < 1 {
		t.Errorf("store query latency observed %v times, want at least the first scrape's", n)
	}
	if resp, err := client.Get(url + "/metrics"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "meekijk_websockets_open") {
			t.Error("the console's public address serves the metrics")
		}
	}
}

// On stop with a drain, the relay keeps its connected agents, answers
// /readyz with 503 and turns new agents away with Retry-After, until the
// drain ends; then the connected agent hears relay_restarting.
func TestDrainBeforeStopping(t *testing.T) {
	_, url, _, stop := startRelayWith(t, Config{DataDir: t.TempDir(), Drain: 1500 * time.Millisecond})
	resp, err := client.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("readyz before the stop: %d", resp.StatusCode)
	}
	ws := dialAgent(t, url)
	sendMsg(t, ws, protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent})
	readMsg(t, ws) // welcome
	stopped := make(chan error, 1)
	begun := time.Now()
	go func() { stopped <- stop() }()
	deadline := time.Now().Add(time.Second)
	for {
		resp, err := client.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("readyz still 200 a second into the drain")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, resp, err = websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/ws/agent", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("a new agent during the drain: %v %v", resp, err)
	}
	// The connected agent is still served meanwhile.
	sendMsg(t, ws, protocol.Join{Code: "123456789012"})
	if e, ok := readMsg(t, ws).(protocol.Error); !ok || e.Code != protocol.ErrWrongCode {
		t.Fatalf("the connected agent was not served during the drain: %#v", e)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if e, ok := readMsg(t, ws).(protocol.Error); !ok || e.Code != protocol.ErrRelayRestarting {
		t.Fatalf("goodbye = %#v", e)
	}
	if d := time.Since(begun); d < 1500*time.Millisecond {
		t.Errorf("sessions ended %v after the stop, before the 1.5 s drain", d)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
