package turnserver

import (
	"strings"
	"testing"
	"time"
)

// Once its session ends, a session's TURN credential is refused and the
// media its allocation carried stops; another session's is untouched.
// Before, the credential stayed good for the 12 hours it was issued for.
func TestRevokedSessionCredentialsRefused(t *testing.T) {
	f := start(t, allowLoopback)
	user, pass := f.creds() // session 42
	relay := mustAllocate(t, f.udpClient(t, user, pass))
	other, otherPass := f.s.Credentials(43, f.clock.Now().Add(time.Hour))
	otherRelay := mustAllocate(t, f.udpClient(t, other, otherPass))
	p := peer(t)
	// Media flows through the allocation.
	if _, err := relay.WriteTo([]byte("hello"), p.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readWithin(p, 2*time.Second); err != nil {
		t.Fatalf("peer got nothing before the revocation: %v", err)
	}

	f.s.Revoke(42)

	if _, err := p.WriteTo([]byte("after the end"), relay.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if msg, _, err := readWithin(relay, 500*time.Millisecond); err == nil {
		t.Errorf("the ended session's allocation still relays: got %q", msg)
	}
	if _, err := allocate(t, f.udpClient(t, user, pass)); err == nil {
		t.Fatal("a new allocation with the ended session's credential succeeded")
	}
	// Session 43 goes on.
	if _, err := otherRelay.WriteTo([]byte("still here"), p.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if msg, _, err := readWithin(p, 2*time.Second); err != nil || msg != "still here" {
		t.Errorf("the other session's media stopped: %q %v", msg, err)
	}
	if !strings.Contains(f.logs.String(), `reason="session over"`) {
		t.Errorf("the refusal is not logged with its reason:\n%s", f.logs)
	}
	// Revocations are forgotten once every credential has expired.
	f.clock.Set(f.clock.Now().Add(RevokedKeep + time.Minute))
	f.s.Revoke(44)
	if f.s.isRevoked(42) {
		t.Error("a revocation is kept past RevokedKeep")
	}
}
