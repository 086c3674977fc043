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

	agents, err := NewIdleAgents(r.Base, 3)
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
	if _, err := NewIdleAgents("http://192.0.2.2:80", 1); err == nil {
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
