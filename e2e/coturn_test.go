//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/protocol"
)

// TestCoturnClient: coturn's own test client, turnutils_uclient (Debian
// coturn), against the relay's embedded TURN server, with the credentials
// the relay hands a console. Three hosts: the relay's; the client's, on a
// private network (10.77.0.0/24) the relay may not relay to; and a peer's,
// on a range the relay is told to allow (-turn-allow), running a UDP echo.
//
// The client allocates and its messages come back from the peer through
// the relay; it is refused with an expired username and with a wrong
// password; and it is refused when it asks the relay to send to the relay
// host's own 127.0.0.1, 0.0.0.0 or [::1], or to the client's private
// address. Listeners on those addresses prove nothing reached them.
func TestCoturnClient(t *testing.T) {
	requireNetns(t)
	if _, err := exec.LookPath("turnutils_uclient"); err != nil {
		t.Skip("turnutils_uclient not found: install Debian's coturn (scripts/deps.sh)")
	}
	const (
		clientAddr = "10.77.0.2"
		peerAddr   = "198.18.3.2"
		peerPort   = "3480"
	)
	hosts := newStar(t, serviceAddr)
	client := hosts.spoke(t, "client", "10.77.0.1/24", clientAddr+"/24")
	peer := hosts.spoke(t, "peer", "198.18.3.1/24", peerAddr+"/24")
	// Debug logging: permission refusals are logged at debug only, as ICE
	// asks for many that are refused routinely.
	r := startRelayIn(t, hosts.hub.launcher(), "-addr", serviceAddr+":8080",
		"-turn-udp", serviceAddr+":3478", "-turn-tcp", serviceAddr+":3478",
		"-turn-allow", "198.18.3.0/24", "-log-level", "debug")

	// One echo per transport, as the two runs go at the same time.
	echoes := map[string]*udpCounter{
		"udp": countUDP(t, peer.listenPacket(t, "udp4", net.JoinHostPort(peerAddr, peerPort)), true),
		"tcp": countUDP(t, peer.listenPacket(t, "udp4", net.JoinHostPort(peerAddr, "3481")), true),
	}
	// The relay's own host on every address, IPv4 and IPv6: where 127.0.0.1,
	// 0.0.0.0 and [::1] lead.
	relayHost := countUDP(t, hosts.hub.listenPacket(t, "udp", ":"+peerPort), false)
	clientHost := countUDP(t, client.listenPacket(t, "udp4", net.JoinHostPort(clientAddr, peerPort)), false)

	api := loginAPIVia(t, hosts.hub.transport(), r.url, "admin", r.password)
	var cu struct{ ID int64 }
	if st := api.do(t, "POST", "/api/v1/customers", map[string]string{"name": "Interop"}, &cu); st != 201 {
		t.Fatalf("create customer: %d", st)
	}
	// Each run gets a session of its own: a refused client leaves its
	// allocations to expire, and they count against the session's quota.
	// A technician holds at most five live codes (docs/security.md), so
	// the refused peers' runs take theirs as a second technician.
	var tech struct{ Password string }
	if st := api.do(t, "POST", "/api/v1/users", map[string]any{"email": "turn@desk.example", "name": "Tom Turn",
		"role": "technician", "lang": "nl", "languages": "nl"}, &tech); st != 201 {
		t.Fatalf("create technician: %d", st)
	}
	second := loginAPIVia(t, hosts.hub.transport(), r.url, "turn@desk.example", tech.Password)
	creds := func() protocol.ICEServer { return consoleTURN(t, api, hosts.hub, r.url, cu.ID) }
	peerCreds := func() protocol.ICEServer { return consoleTURN(t, second, hosts.hub, r.url, cu.ID) }

	t.Run("allocates and relays", func(t *testing.T) {
		for transport, echo := range echoes {
			t.Run("over "+transport, func(t *testing.T) {
				// uclient takes seconds, mostly waiting for its own timers.
				t.Parallel()
				ice := creds()
				var args []string
				if transport == "tcp" {
					args = append(args, "-t")
				}
				_, port, _ := net.SplitHostPort(echo.addr)
				out, err := uclient(t, client, ice, append(args, "-e", peerAddr, "-r", port)...)
				if err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				if !strings.Contains(out, "tot_send_msgs=5, tot_recv_msgs=5") {
					t.Errorf("not all 5 messages came back:\n%s", out)
				}
				if got := echo.n.Load(); got != 5 {
					t.Errorf("the peer received %d messages, want 5", got)
				}
				if !logLine(r.Stderr(), `msg="turn allocation created"`, "username="+ice.Username, "transport="+transport) {
					t.Errorf("relay log has no allocation for %s over %s", ice.Username, transport)
				}
				t.Logf("%s", lastLines(out, 4))
			})
		}
	})

	t.Run("expired credentials", func(t *testing.T) {
		ice := creds()
		// The relay's HMAC secret never leaves it, so an expired username
		// cannot carry a valid password; the relay checks the expiry first,
		// and its log says which check refused.
		_, session, _ := strings.Cut(ice.Username, ":")
		ice.Username = strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10) + ":" + session
		refusedAuth(t, r, client, ice, peerAddr, "credentials expired")
	})

	t.Run("wrong password", func(t *testing.T) {
		ice := creds()
		ice.Credential = flipFirst(ice.Credential)
		refusedAuth(t, r, client, ice, peerAddr, "wrong password")
	})

	for _, target := range []string{"127.0.0.1", "0.0.0.0", "::1", clientAddr} {
		t.Run("peer "+target, func(t *testing.T) {
			ice := peerCreds()
			out, err := uclient(t, client, ice, "-e", target, "-r", peerPort)
			if err == nil {
				t.Fatalf("relaying to %s was not refused:\n%s", target, out)
			}
			if !strings.Contains(out, "Received relay addr") {
				t.Fatalf("no allocation, so the refusal says nothing about the peer policy:\n%s", out)
			}
			refusedByPolicy := logLine(r.Stderr(), `msg="turn permission refused"`, "peer="+target)
			// uclient asks for an IPv6 relay for an IPv6 peer; pion/turn v4
			// only relays over IPv4 and grants an IPv4 one, which uclient
			// then gives up on before asking for a permission.
			refusedByFamily := strings.Contains(target, ":") && strings.Contains(out, "relay addr cannot be received")
			if !refusedByPolicy && !refusedByFamily {
				t.Errorf("refused, but not by the peer policy (relay log) nor for the address family (client):\n%s", out)
			}
			t.Logf("%s: %s", target, lastLines(out, 1))
		})
	}

	// Whatever was refused must not have been sent: give a stray datagram
	// time to arrive before counting.
	time.Sleep(200 * time.Millisecond)
	if n := relayHost.n.Load(); n != 0 {
		t.Errorf("%d datagrams reached the relay host's own port %s", n, peerPort)
	}
	if n := clientHost.n.Load(); n != 0 {
		t.Errorf("%d datagrams were relayed to the client's private address", n)
	}
}

// consoleTURN starts a session for customer and returns the TURN server
// entry the relay gives the session's console in its welcome.
func consoleTURN(t *testing.T, api *apiClient, host *netns, relayURL string, customer int64) protocol.ICEServer {
	t.Helper()
	var tk struct{ ID int64 }
	var sess struct{ Session struct{ ID int64 } }
	if st := api.do(t, "POST", "/api/v1/tickets", map[string]any{"title": "TURN", "customerId": customer}, &tk); st != 201 {
		t.Fatalf("create ticket: %d", st)
	}
	// Any hour: outside support hours the reason is kept, inside ignored.
	if st := api.do(t, "POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID), map[string]string{"overrideReason": "test"}, &sess); st != 201 {
		t.Fatalf("start session: %d", st)
	}
	u, _ := url.Parse(relayURL)
	header := http.Header{"Origin": {relayURL}}
	for _, c := range api.http.Jar.Cookies(u) {
		header.Add("Cookie", c.Name+"="+c.Value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := websocket.Dialer{NetDialContext: host.dialContext}
	ws, _, err := d.DialContext(ctx, fmt.Sprintf("ws://%s/ws/console/%d", u.Host, sess.Session.ID), header)
	if err != nil {
		t.Fatalf("console websocket: %v", err)
	}
	defer ws.Close()
	b, _ := protocol.Encode(protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleConsole})
	if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for welcome: %v", err)
		}
		m, err := protocol.Decode(b)
		if err != nil {
			continue
		}
		w, ok := m.(protocol.Welcome)
		if !ok {
			continue
		}
		if len(w.ICEServers) != 1 || w.ICEServers[0].Username == "" {
			t.Fatalf("welcome without TURN credentials: %+v", w.ICEServers)
		}
		return w.ICEServers[0]
	}
}

// uclient runs turnutils_uclient on host against the TURN server of ice,
// over UDP or, with -t in args, TCP, sending 5 messages to the peer that -e
// (address) and -r (port) in args name, and returns its output.
func uclient(t *testing.T, host *netns, ice protocol.ICEServer, args ...string) (string, error) {
	t.Helper()
	transport := "udp"
	if slices.Contains(args, "-t") {
		transport = "tcp"
	}
	var server string
	for _, u := range ice.URLs {
		if rest, ok := strings.CutSuffix(u, "?transport="+transport); ok {
			server = strings.TrimPrefix(rest, "turn:")
		}
	}
	ip, port, err := net.SplitHostPort(server)
	if err != nil {
		t.Fatalf("no %s TURN URL in %v", transport, ice.URLs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// -c: no second (RTCP) allocation; -v: say what happened.
	argv := append(host.launcher(), "turnutils_uclient", "-v", "-c", "-n", "5",
		"-u", ice.Username, "-w", ice.Credential, "-p", port)
	argv = append(append(argv, args...), ip)
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("turnutils_uclient did not finish within 20 s:\n%s", out)
	}
	return string(out), err
}

// refusedAuth checks that the client gets no allocation with ice to reach
// peer, and that the relay logged the refusal with reason.
func refusedAuth(t *testing.T, r *relay, client *netns, ice protocol.ICEServer, peer, reason string) {
	t.Helper()
	out, err := uclient(t, client, ice, "-e", peer, "-r", "3480")
	if err == nil {
		t.Fatalf("allocation with bad credentials was not refused:\n%s", out)
	}
	if strings.Contains(out, "Received relay addr") {
		t.Errorf("client received a relay address:\n%s", out)
	}
	if !logLine(r.Stderr(), `msg="turn authentication refused"`, `reason="`+reason+`"`, "username="+ice.Username) {
		t.Errorf("relay log has no refusal %q for %s:\n%s", reason, ice.Username, r.Stderr())
	}
	if strings.Contains(r.Stderr(), ice.Credential) {
		t.Error("the relay logged a password")
	}
	t.Logf("%s: %s", reason, lastLines(out, 1))
}

// udpCounter counts the datagrams a socket receives, echoing them if asked.
type udpCounter struct {
	addr string
	n    atomic.Int64
}

func countUDP(t *testing.T, pc net.PacketConn, echo bool) *udpCounter {
	t.Helper()
	c := &udpCounter{addr: pc.LocalAddr().String()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			c.n.Add(1)
			if echo {
				_, _ = pc.WriteTo(buf[:n], from)
			}
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	return c
}

// flipFirst changes the first character of s to another one.
func flipFirst(s string) string {
	if s == "" {
		return "x"
	}
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// lastLines returns the last n non-empty lines of out, joined by " | ".
func lastLines(out string, n int) string {
	lines := strings.FieldsFunc(out, func(r rune) bool { return r == '\n' })
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
