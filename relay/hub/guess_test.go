package hub_test

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/codeguard"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
)

// agentFrom connects an agent whose connection comes from ip, one of the
// loopback addresses (all of 127.0.0.0/8 is loopback on Linux): the relay
// sees distinct addresses without trusting any forwarding header.
func (e *env) agentFrom(ip string) *peer {
	e.t.Helper()
	a, _, err := e.dialFrom(ip)
	if err != nil {
		e.t.Fatalf("dial agent from %s: %v", ip, err)
	}
	a.send(e.t, protocol.Hello{Protocol: protocol.Version, Role: protocol.RoleAgent, Software: "t", Agent: &machine})
	expect[protocol.Welcome](e.t, a)
	return a
}

// dialFrom opens an agent connection from ip without its handshake.
func (e *env) dialFrom(ip string) (*peer, *http.Response, error) {
	d := websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
	ws, resp, err := d.Dial(e.wsURL("/ws/agent"), nil)
	if err != nil {
		return nil, resp, err
	}
	e.t.Cleanup(func() { ws.Close() })
	return &peer{name: "agent " + ip, ws: ws}, resp, nil
}

// A flood of wrong codes from many addresses (more than the old relay-wide
// limit of 100 a minute) must not keep the customer with the right code,
// on another network, from joining.
func TestGuessFloodDoesNotLockOutTheCustomer(t *testing.T) {
	e := newEnv(t)
	wrong := 0
	for n := 1; n <= 40; n++ {
		ip := fmt.Sprintf("127.0.%d.1", n)
		a := e.agentFrom(ip)
		for i := range codeguard.FreePerAddress {
			a.send(t, protocol.Join{Code: fmt.Sprintf("9%05d%06d", n, i)})
			expectError(t, a, protocol.ErrWrongCode)
			wrong++
		}
		a.ws.Close()
		// The guesser's address is now slowed…
		a = e.agentFrom(ip)
		a.send(t, protocol.Join{Code: "999999999999"})
		expectError(t, a, protocol.ErrThrottled)
		a.ws.Close()
	}
	if wrong <= 100 {
		t.Fatalf("only %d wrong codes; the flood must exceed the old relay-wide limit", wrong)
	}
	// …but a customer elsewhere joins at once.
	customer := e.agentFrom("127.0.200.7")
	customer.send(t, protocol.Join{Code: theCode})
	expect[protocol.Joined](t, customer)
}

// An address's penalty grows: 3 wrong codes at once, then one after a
// minute, then one after 4 more; while it waits even the right code is not
// looked at (nor spent), and other networks are not affected.
func TestGuessPenaltyGrowsPerAddress(t *testing.T) {
	e := newEnv(t)
	a := e.agentFrom("127.0.1.1")
	try := func(code, want string) protocol.Error {
		t.Helper()
		a.send(t, protocol.Join{Code: code})
		return expectError(t, a, want)
	}
	for range 3 {
		try("111111111111", protocol.ErrWrongCode)
	}
	// The third wrong code closed the connection; the agent reconnects.
	a.expectClosed(t)
	a = e.agentFrom("127.0.1.1")
	if r := try(theCode, protocol.ErrThrottled); r.RetryAfter != 60 {
		t.Errorf("retryAfter after 3 wrong codes = %d s, want 60", r.RetryAfter)
	}
	if s := e.session(); s.Status != store.StatusWaiting {
		t.Fatalf("a throttled right code was spent: status %s", s.Status)
	}
	e.clk.advance(time.Minute)
	a.ws.Close()
	a = e.agentFrom("127.0.1.1")
	try("222222222222", protocol.ErrWrongCode)
	if r := try(theCode, protocol.ErrThrottled); r.RetryAfter != 4*60 {
		t.Errorf("retryAfter after the 4th wrong code = %d s, want 240", r.RetryAfter)
	}
	// Another address of the same /24 has its own count (the network's
	// allowance is larger).
	b := e.agentFrom("127.0.1.2")
	b.send(t, protocol.Join{Code: "333333333333"})
	expectError(t, b, protocol.ErrWrongCode)
	e.clk.advance(4 * time.Minute)
	a.send(t, protocol.Join{Code: theCode})
	expect[protocol.Joined](t, a)
}

// A whole network is slowed once its allowance is spent, whichever of its
// addresses guess: an IPv6 guesser cannot multiply its tries with its many
// addresses, nor an IPv4 one with its /24.
func TestGuessPenaltyPerNetwork(t *testing.T) {
	e := newEnv(t)
	free := codeguard.NetworkSchedule.Free
	for i := range free {
		a := e.agentFrom(fmt.Sprintf("127.0.7.%d", i+1))
		a.send(t, protocol.Join{Code: "444444444444"})
		expectError(t, a, protocol.ErrWrongCode)
		a.ws.Close()
	}
	fresh := e.agentFrom("127.0.7.250")
	fresh.send(t, protocol.Join{Code: theCode})
	if r := expectError(t, fresh, protocol.ErrThrottled); r.RetryAfter != 30 {
		t.Errorf("retryAfter of a network over its allowance = %d s, want 30", r.RetryAfter)
	}
	elsewhere := e.agentFrom("127.0.8.1")
	elsewhere.send(t, protocol.Join{Code: theCode})
	expect[protocol.Joined](t, elsewhere)
}
