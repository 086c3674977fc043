package bench

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

func TestIdleAgentsAndSessionSetups(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	r, err := StartRelay(ctx, t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := r.Wait(); err != nil {
			t.Errorf("relay: %v", err)
		}
	}()

	agents, err := NewIdleAgents(3, r.Base)
	if err != nil {
		t.Fatal(err)
	}
	n, err := agents.Open(ctx, 150, 16)
	if err != nil || n != 150 || agents.Held() != 150 {
		t.Fatalf("opened %d, held %d: %v", n, agents.Held(), err)
	}
	agents.Close()
	if agents.Held() != 0 {
		t.Fatalf("%d still held after Close", agents.Held())
	}
	if _, err := NewIdleAgents(1, "http://192.0.2.2:80"); err == nil {
		t.Fatal("a relay off loopback was accepted")
	}

	api, err := LoginAPI(r.Base, "admin", r.Password)
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := api.NewTicket("Bakkerij Peeters", "Kassa")
	if err != nil {
		t.Fatal(err)
	}
	rate, k, err := api.SetupRate(ctx, ticket, 2, 10, 20*time.Second)
	if err != nil || k != 10 || rate <= 0 {
		t.Fatalf("%d set-ups at %.1f/s: %v", k, rate, err)
	}
}

// Agents held on two relays, with Redial: when one relay stops, the agents
// it held connect again, to the other, until all are held; without
// Redial they would stay gone. Close stops redials under way.
func TestIdleAgentsRedialWhenTheirRelayGoes(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stays, err := StartRelay(ctx, t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	goneCtx, stop := context.WithCancel(ctx)
	goes, err := StartRelay(goneCtx, t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	agents, err := NewIdleAgents(2, stays.Base, goes.Base)
	if err != nil {
		t.Fatal(err)
	}
	defer agents.Close()
	agents.Redial = true
	if n, err := agents.Open(ctx, 40, 8); err != nil || n != 40 {
		t.Fatalf("opened %d: %v", n, err)
	}
	stop()
	t0 := time.Now()
	if err := goes.Wait(); err != nil {
		t.Fatalf("relay: %v", err)
	}
	// Half were on the relay that went; they dial again after 250-500 ms,
	// and one that lands on the stopped relay tries the other at once.
	deadline := time.Now().Add(10 * time.Second)
	for agents.Held() < 40 || agents.Redials() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("held %d, redialled %d, 20 s after a relay stopped", agents.Held(), agents.Redials())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("all held again %v after the stop, want within the first back-off step", d)
	}
	if agents.Redials() != 20 {
		t.Errorf("redialled %d, want the 20 the stopped relay held", agents.Redials())
	}
	agents.Close()
	if agents.Held() != 0 {
		t.Errorf("%d still held after Close", agents.Held())
	}
	cancel()
	if err := stays.Wait(); err != nil {
		t.Errorf("relay: %v", err)
	}
}
