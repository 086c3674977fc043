package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestRecordAcceptanceKeepsProofWithTheGrant(t *testing.T) {
	s, c := openTest(t)
	ctx := context.Background()
	sess := newSession(t, s, c, "111222333")
	a := &Acceptance{SessionID: sess.ID, Version: "2026-11", Lang: "fr", Text: "1. J'ai une sauvegarde.\nJ'accepte.",
		Answers: []AcceptedAnswer{{Statement: "J'ai une sauvegarde.", Confirmed: true}}, TypedName: "Élodie Dubois",
		OSUser: "elodie", Work: InterventionWork{Description: "Factures en double", Category: "data", EstimateMinutes: 30}}
	if err := s.RecordAcceptance(ctx, a, "customer", map[string]any{"level": "data_intervention"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Acceptances(ctx, sess.ID)
	if err != nil || len(got) != 1 {
		t.Fatalf("acceptances = %v, %v", got, err)
	}
	g := got[0]
	if g.TextSHA256 != TextSHA256(a.Text) || g.TypedName != "Élodie Dubois" || g.TicketID != sess.TicketID ||
		g.TechnicianID != sess.TechnicianID || g.Work.EstimateMinutes != 30 || len(g.Answers) != 1 || !g.Answers[0].Confirmed {
		t.Errorf("stored %+v", g)
	}
	events, err := s.Events(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	var detail map[string]any
	_ = json.Unmarshal(last.Detail, &detail)
	if last.Kind != EventConsentGranted || detail["acceptanceId"] != float64(g.ID) {
		t.Errorf("grant event %s %s does not point at acceptance %d", last.Kind, last.Detail, g.ID)
	}
	for _, q := range []string{"UPDATE intervention_acceptances SET typed_name = 'x'", "DELETE FROM intervention_acceptances"} {
		if _, err := s.db.ExecContext(ctx, q); err == nil {
			t.Errorf("%s: allowed", q)
		}
	}
}

func TestRecordAcceptanceForUnknownSessionStoresNothing(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	err := s.RecordAcceptance(ctx, &Acceptance{SessionID: 42, Text: "x"}, "customer", map[string]any{})
	if err == nil {
		t.Fatal("acceptance for a missing session recorded")
	}
	if got, _ := s.Acceptances(ctx, 42); len(got) != 0 {
		t.Errorf("stored %v", got)
	}
}

func TestConsentTimers(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	got, err := s.ConsentTimers(ctx)
	if err != nil || got != (ConsentTimers{Every: DefaultReconfirmEvery, Answer: DefaultReconfirmAnswer}) {
		t.Fatalf("defaults = %v, %v", got, err)
	}
	want := ConsentTimers{Every: 45 * time.Minute, Answer: 90 * time.Second}
	if err := s.SetConsentTimers(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ConsentTimers(ctx); err != nil || got != want {
		t.Errorf("after set = %v, %v", got, err)
	}
	if err := s.SetConsentTimers(ctx, ConsentTimers{Every: 0, Answer: time.Minute}); err == nil {
		t.Error("zero interval accepted")
	}
}
