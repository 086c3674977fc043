package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
)

func TestBillingRulesAndTheirHistory(t *testing.T) {
	s, c := openTest(t)
	ctx := WithActor(context.Background(), Actor{Name: "user:1"})
	set, err := s.BillingSettings(ctx, "Europe/Brussels")
	if err != nil {
		t.Fatal(err)
	}
	if got := RulesOf(set); got != RulesOf(billing.Defaults()) {
		t.Fatalf("rules before any change %+v", got)
	}
	first := BillingRules{IncrementMinutes: 15, MinimumMinutes: 60, VATPercent: 21, OutOfHoursSurchargePercent: 50}
	if err := s.SetBillingRules(ctx, first); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Hour)
	second := BillingRules{MergeTicketDay: true, IncrementMinutes: 10, MinimumMinutes: 30, VATPercent: 6}
	if err := s.SetBillingRules(WithActor(ctx, Actor{Name: "user:2"}), second); err != nil {
		t.Fatal(err)
	}
	var fe *billing.FieldError
	if err := s.SetBillingRules(ctx, BillingRules{IncrementMinutes: 0, VATPercent: 21}); !errors.As(err, &fe) || fe.Field != "incrementMinutes" {
		t.Errorf("an increment of 0 minutes: %v", err)
	}
	if err := s.SetBillingRules(ctx, BillingRules{IncrementMinutes: 15, VATPercent: 101}); !errors.As(err, &fe) || fe.Field != "vatPercent" {
		t.Errorf("VAT of 101%%: %v", err)
	}
	set, err = s.BillingSettings(ctx, "Europe/Brussels")
	if err != nil {
		t.Fatal(err)
	}
	if got := RulesOf(set); got != second {
		t.Errorf("rules in force %+v, want %+v", got, second)
	}
	if err := s.SetConsentTimers(ctx, ConsentTimers{Every: 20 * time.Minute, Answer: 45 * time.Second}); err != nil {
		t.Fatal(err)
	}
	hist, err := s.SettingHistory(ctx, 0, SettingBilling)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Actor != "user:2" || hist[1].Actor != "user:1" || !hist[0].At.After(hist[1].At) {
		t.Fatalf("history %+v", hist)
	}
	var r BillingRules
	if err := json.Unmarshal([]byte(hist[1].Value), &r); err != nil || r != first {
		t.Errorf("first change holds %s", hist[1].Value)
	}
	hist, err = s.SettingHistory(ctx, 1, SettingReconfirmEvery, SettingReconfirmAnswer)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Key != SettingReconfirmAnswer || hist[0].Value != "45" {
		t.Errorf("consent timer history %+v", hist)
	}

	// Each change ends the rules it replaced: the defaults until the
	// first, the first until the second. The second is in force.
	hist, err = s.SettingHistory(ctx, 0, SettingBilling)
	if err != nil {
		t.Fatal(err)
	}
	def := billing.Defaults()
	want := []billing.EarlierRules{
		{Until: hist[1].At, IncrementMinutes: def.IncrementMinutes, MinimumMinutes: def.MinimumMinutes},
		{Until: hist[0].At, IncrementMinutes: first.IncrementMinutes, MinimumMinutes: first.MinimumMinutes, OutOfHoursSurchargePercent: 50},
	}
	if len(set.EarlierRules) != len(want) {
		t.Fatalf("earlier rules %+v, want %+v", set.EarlierRules, want)
	}
	for i := range want {
		if got := set.EarlierRules[i]; !got.Until.Equal(want[i].Until) || got.IncrementMinutes != want[i].IncrementMinutes ||
			got.MinimumMinutes != want[i].MinimumMinutes || got.OutOfHoursSurchargePercent != want[i].OutOfHoursSurchargePercent || got.MergeTicketDay {
			t.Errorf("earlier rules[%d] %+v, want %+v", i, got, want[i])
		}
	}
}
