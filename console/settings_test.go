package console_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/pricing"
	"github.com/meekijk/meekijk/internal/store"
)

type billingRules struct {
	MergeTicketDay             bool
	IncrementMinutes           int64
	MinimumMinutes             int64
	OutOfHoursSurchargePercent int64
	VATPercent                 int64
	DefaultRates               []struct {
		CentsPerHour  int64
		EffectiveFrom string
	}
	History []struct {
		At    time.Time
		Actor string
		Key   string
		Value string
	}
}

func TestBillingRulesEditor(t *testing.T) {
	e := newEnv(t)
	b := e.billed()
	admin, tech := b.admin, b.tech
	var got billingRules
	e.call(admin, "GET", "/api/v1/settings/billing", nil, 200, &got)
	if got.IncrementMinutes != 15 || got.MinimumMinutes != 60 || got.VATPercent != 21 || got.MergeTicketDay || len(got.History) != 0 {
		t.Fatalf("defaults %+v", got)
	}
	rules := map[string]any{"mergeTicketDay": true, "incrementMinutes": 10, "minimumMinutes": 30, "outOfHoursSurchargePercent": 50, "vatPercent": 6}
	// Admins only, and never without the CSRF token.
	e.call(tech, "PUT", "/api/v1/settings/billing", rules, 403, nil)
	e.call(tech, "GET", "/api/v1/settings/billing", nil, 403, nil)
	noToken := admin
	noToken.csrf = ""
	e.call(noToken, "PUT", "/api/v1/settings/billing", rules, 403, nil)
	for field, bad := range map[string]any{"incrementMinutes": 0, "minimumMinutes": -1, "vatPercent": 101, "outOfHoursSurchargePercent": -5} {
		r := map[string]any{"incrementMinutes": 15, "minimumMinutes": 60, "vatPercent": 21}
		r[field] = bad
		if p := e.call(admin, "PUT", "/api/v1/settings/billing", r, 400, nil).problem(t); p.Field != field {
			t.Errorf("%s = %v: problem %+v", field, bad, p)
		}
	}
	e.call(admin, "PUT", "/api/v1/settings/billing", rules, 200, &got)
	if !got.MergeTicketDay || got.IncrementMinutes != 10 || got.MinimumMinutes != 30 || got.OutOfHoursSurchargePercent != 50 ||
		got.VATPercent != 6 || len(got.History) != 1 {
		t.Errorf("after PUT %+v", got)
	}
	e.clk.advance(time.Minute)
	rules["vatPercent"] = 21
	e.call(admin, "PUT", "/api/v1/settings/billing", rules, 200, &got)
	if len(got.History) != 2 || got.History[0].Actor == "" || !got.History[0].At.After(got.History[1].At) {
		t.Errorf("history %+v", got.History)
	}
	// The rules bill the work begun from the change on. The session held
	// before keeps its hour (35 minutes, one-hour minimum); one held now,
	// on the same ticket and day, rounds 12 minutes to 10-minute steps and
	// 30 at least, and is not merged into the first: that was billed under
	// other rules.
	e.clk.advance(time.Hour)
	later := e.hold(b.billableTk.ID, after(5*time.Minute, store.EventConsentGranted, toControl), after(7*time.Minute, store.EventEnded, nil))
	var st statement
	e.call(b.admin, "GET", fmt.Sprintf("/api/v1/billing/statement?customer=%d&month=2026-03", b.customer), nil, 200, &st)
	if st.Totals.BilledMinutes != 90 || st.Totals.VATPercent != 21 {
		t.Errorf("statement across a change of rules: %+v", st.Totals)
	}
	for _, l := range st.Lines {
		if l.Kind == "adjustment" && slices.Contains(l.SessionIDs, b.billable) && l.BilledMinutes != 25 {
			t.Errorf("session before the change: %d minutes added, want 25 up to the old hour", l.BilledMinutes)
		}
		if l.Kind == "adjustment" && slices.Contains(l.SessionIDs, later) && (len(l.SessionIDs) != 1 || l.BilledMinutes != 18) {
			t.Errorf("session after the change: adjustment %+v, want 18 minutes up to the new 30 on its own", l)
		}
	}
}

func TestConsentTimersShowTheirHistory(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAs(store.RoleAdmin, "admin@desk.example")
	var got struct {
		ReconfirmSeconds, ReconfirmAnswerSeconds int
		History                                  []struct{ Key, Value string }
	}
	e.call(admin, "PUT", "/api/v1/settings/consent", map[string]int{"reconfirmSeconds": 600, "reconfirmAnswerSeconds": 30}, 200, &got)
	if got.ReconfirmSeconds != 600 || len(got.History) != 2 {
		t.Errorf("after PUT %+v", got)
	}
}

func TestSessionCategoryFromTheSessionPage(t *testing.T) {
	e := newEnv(t)
	b := e.billed()
	var cats []struct {
		ID      int64
		Code    string
		Covered bool
	}
	e.call(b.tech, "GET", "/api/v1/categories", nil, 200, &cats)
	i := slices.IndexFunc(cats, func(c struct {
		ID      int64
		Code    string
		Covered bool
	}) bool {
		return c.Code == "database_change"
	})
	// A live session of the covered ticket, at control.
	e.clk.advance(time.Hour)
	live := e.hold(b.coveredT.ID, after(2*time.Minute, store.EventConsentGranted, toControl), after(10*time.Minute, "chat", map[string]string{"text": "ok"}))
	path := fmt.Sprintf("/api/v1/sessions/%d/category", live)
	noToken := b.tech
	noToken.csrf = ""
	e.call(noToken, "PUT", path, map[string]int64{"categoryId": cats[i].ID}, 403, nil)
	if p := e.call(b.tech, "PUT", path, map[string]int64{"categoryId": 999}, 400, nil).problem(t); p.Field != "categoryId" {
		t.Errorf("unknown category: %+v", p)
	}
	e.call(b.tech, "PUT", fmt.Sprintf("/api/v1/sessions/%d/category", 999), map[string]int64{"categoryId": cats[i].ID}, 404, nil)
	// The change counts from now on: the 12 minutes before it stay
	// covered, as the customer was told.
	var sb sessionBilling
	e.call(b.tech, "PUT", path, map[string]int64{"categoryId": cats[i].ID}, 200, &sb)
	if !sb.Covered || sb.WorkedSeconds != 720 {
		t.Errorf("right after the change the session bills %+v, want its 12 minutes covered", sb)
	}
	e.clk.advance(5 * time.Minute)
	e.call(b.tech, "GET", fmt.Sprintf("/api/v1/sessions/%d/billing", live), nil, 200, &sb)
	if sb.Covered || !slices.Equal(sb.Reasons, []string{"category_not_covered"}) {
		t.Errorf("5 minutes after the change the session bills %+v", sb)
	}
	ctx := context.Background()
	hist, err := e.st.TicketHistory(ctx, b.coveredT.ID)
	if err != nil {
		t.Fatal(err)
	}
	if h := hist[len(hist)-1]; h.Field != "categoryId" || h.NewValue != fmt.Sprint(cats[i].ID) || h.ActorID != e.user.ID {
		t.Errorf("ticket history ends with %+v", h)
	}
	evs, err := e.st.Events(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	if ev := evs[len(evs)-1]; ev.Kind != store.EventCategoryChanged {
		t.Errorf("session's last event %s %s", ev.Kind, ev.Detail)
	}

	// The relay's watch reads the session's billable time: the 5
	// minutes since the change.
	p := pricing.New(e.st, e.clk.now)
	if d, err := p.BillableTime(ctx, live); err != nil || d != 5*time.Minute {
		t.Errorf("billable time %v, %v; want 5m", d, err)
	}
	if d, err := p.BillableTime(ctx, b.covered); err != nil || d != 0 {
		t.Errorf("covered session's billable time %v, %v", d, err)
	}
}
