package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/pricing"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
)

type prepaidAnswer struct {
	Blocks []struct {
		ID, Minutes int64
		PurchasedOn string
	}
	Balance *struct {
		RemainingMinutes, ExpiredMinutes, WarnMinutes int64
		Warning                                       bool
	}
}

type prepaidStatement struct {
	Lines []struct {
		Kind                                        string
		Covered                                     bool
		BilledMinutes, PrepaidMinutes, RegieMinutes int64
		PaidBy                                      string
		AmountCents                                 int64
	}
	Totals struct {
		BilledMinutes, PrepaidMinutes, RegieMinutes, AmountCents, TotalCents int64
	}
	Prepaid *struct {
		Blocks []struct {
			ID, UsedMinutes, DeductedMinutes, RemainingMinutes int64
		}
		RemainingMinutes int64
		Warning          bool
	}
}

// TestPrepaidHours: blocks an admin records pay for billable work oldest
// first; the monthly statement shows what they paid and what is regie;
// the next month continues from what the earlier one used; the balance
// and the warning reach the console and the customer's cost notice.
func TestPrepaidHours(t *testing.T) {
	e := newEnv(t)
	b := e.billed() // 2 March: 35 billable minutes (60 billed), 20 covered
	path := fmt.Sprintf("/api/v1/customers/%d/prepaid", b.customer)

	var none prepaidAnswer
	e.call(b.tech, "GET", path, nil, 200, &none)
	if len(none.Blocks) != 0 || none.Balance != nil {
		t.Fatalf("before any block: %+v", none)
	}
	// Bad input is refused, naming the field, and stores nothing.
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"purchasedOn": "2026-02-01", "minutes": 0}, "minutes"},
		{map[string]any{"purchasedOn": "1 feb", "minutes": 60}, "purchasedOn"},
		{map[string]any{"purchasedOn": "2026-02-01", "minutes": 60, "expiresOn": "2026-01-31"}, "expiresOn"},
		{map[string]any{"purchasedOn": "2026-02-01", "minutes": 60, "priceCents": -1}, "priceCents"},
	} {
		a := e.do(b.admin, "POST", path, mustJSON(t, bad.body))
		if p := a.problem(t); a.status != 400 || p.Field != bad.field {
			t.Errorf("%v: %d %+v, want 400 on %s", bad.body, a.status, p, bad.field)
		}
	}
	if a := e.do(b.tech, "POST", path, mustJSON(t, map[string]any{"purchasedOn": "2026-02-01", "minutes": 90})); a.status != 403 {
		t.Errorf("a technician adds a block: %d", a.status)
	}

	// 1 h 30 bought in February, 10 h in March.
	var got prepaidAnswer
	e.call(b.admin, "POST", path, map[string]any{"purchasedOn": "2026-03-01", "minutes": 600, "priceCents": 80000}, 200, &got)
	e.call(b.admin, "POST", path, map[string]any{"purchasedOn": "2026-02-01", "minutes": 90, "priceCents": 12000, "note": "actie"}, 200, &got)
	if len(got.Blocks) != 2 || got.Blocks[0].PurchasedOn != "2026-02-01" || got.Balance == nil ||
		got.Balance.RemainingMinutes != 690-60 || got.Balance.Warning {
		t.Fatalf("after two blocks: %+v %+v", got, got.Balance)
	}
	february := got.Blocks[0].ID

	var mar prepaidStatement
	e.call(b.admin, "GET", fmt.Sprintf("/api/v1/billing/statement?customer=%d&month=2026-03", b.customer), nil, 200, &mar)
	if mar.Totals.BilledMinutes != 60 || mar.Totals.PrepaidMinutes != 60 || mar.Totals.AmountCents != 0 || mar.Totals.TotalCents != 0 ||
		mar.Prepaid == nil || mar.Prepaid.Blocks[0].DeductedMinutes != 60 || mar.Prepaid.Blocks[0].RemainingMinutes != 30 {
		t.Fatalf("March: %+v %+v", mar.Totals, mar.Prepaid)
	}
	for _, l := range mar.Lines {
		if !l.Covered && (l.PaidBy != "prepaid" || l.AmountCents != 0) {
			t.Errorf("March line %+v", l)
		}
	}

	// April: 95 minutes billable, billed 105: the February block's last
	// 30, then 75 from the March block. The March statement's use carries
	// over.
	e.clk.advance(31 * 24 * time.Hour)
	b.admin, b.tech = e.loginAs(store.RoleAdmin, "admin2@desk.example"), e.login() // a month later, logged out
	tk := b.billableTk.ID
	live := e.hold(tk, after(95*time.Minute, store.EventConsentGranted, toControl))
	var apr prepaidStatement
	e.call(b.admin, "GET", fmt.Sprintf("/api/v1/billing/statement?customer=%d&month=2026-04", b.customer), nil, 200, &apr)
	if p := apr.Prepaid; p == nil || p.Blocks[0].ID != february || p.Blocks[0].UsedMinutes != 60 || p.Blocks[0].DeductedMinutes != 30 ||
		p.Blocks[1].DeductedMinutes != 75 || p.RemainingMinutes != 600-75 || apr.Totals.PrepaidMinutes != 105 || apr.Totals.AmountCents != 0 {
		t.Fatalf("April: %+v %+v", apr.Totals, apr.Prepaid)
	}

	// The threshold: at 9 h, 525 minutes left warn; the live session's
	// cost notice says so, with the balance.
	e.call(b.admin, "PUT", "/api/v1/settings/prepaid", map[string]any{"warnMinutes": 540}, 200, nil)
	n, err := pricing.New(e.st, e.clk.now).CostNotice(context.Background(), live, protocol.LevelControl)
	if err != nil || n == nil || n.Prepaid == nil || n.Prepaid.LeftMinutes != 525 || !n.Prepaid.Warning {
		t.Fatalf("cost notice %+v (%v)", n, err)
	}
	e.call(b.tech, "GET", path, nil, 200, &got)
	if !got.Balance.Warning || got.Balance.WarnMinutes != 540 {
		t.Errorf("balance %+v", got.Balance)
	}
	// The customer's status page (in French, the customer's language).
	stk, err := e.st.Ticket(context.Background(), b.billableTk.ID)
	if err != nil {
		t.Fatal(err)
	}
	page := e.do(client{origin: e.srv.URL}, "GET", "/status/"+stk.Reference+"/"+stk.StatusSecret, "")
	if !strings.Contains(string(page.body), "Vos heures prépayées : il reste 8 h 45.") {
		t.Errorf("status page without the balance:\n%s", page.body)
	}

	// The March block's expiry moved to 31 March: April's work can no
	// longer use it, and its 10 hours are reported as expired, not lost
	// silently.
	var moved prepaidAnswer
	e.call(b.admin, "PUT", fmt.Sprintf("/api/v1/prepaid/%d/expiry", got.Blocks[1].ID), map[string]any{"expiresOn": "2026-03-31"}, 200, &moved)
	if moved.Balance.RemainingMinutes != 0 || moved.Balance.ExpiredMinutes != 600 {
		t.Errorf("after expiry: %+v", moved.Balance)
	}
	entries, err := e.st.AuditEntries(context.Background(), store.AuditFilter{Events: []string{store.EventPrepaidAdded, store.EventPrepaidExpires}})
	if err != nil || len(entries) != 3 {
		t.Errorf("audit: %d entries (%v)", len(entries), err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The billing export prices each line as the statement does: minutes paid
// from a prepaid block are not charged again as regie.
func TestExportPricesPrepaidAsTheStatement(t *testing.T) {
	e := newEnv(t)
	b := e.billed() // 2 March: 35 billable minutes (60 billed), 20 covered
	e.call(b.admin, "POST", fmt.Sprintf("/api/v1/customers/%d/prepaid", b.customer),
		map[string]any{"purchasedOn": "2026-03-01", "minutes": 45, "priceCents": 6000}, 200, nil)
	var mar prepaidStatement
	e.call(b.admin, "GET", fmt.Sprintf("/api/v1/billing/statement?customer=%d&month=2026-03", b.customer), nil, 200, &mar)
	if mar.Totals.PrepaidMinutes != 45 || mar.Totals.RegieMinutes != 15 || mar.Totals.AmountCents == 0 {
		t.Fatalf("statement %+v", mar.Totals)
	}
	_, rows := e.export(b.admin, "from=2026-03-01&to=2026-03-31")
	col := func(name string) int {
		i := slices.Index(rows[0], name)
		if i < 0 {
			t.Fatalf("no column %q in %q", name, rows[0])
		}
		return i
	}
	amount, prepaid := col("Bedrag excl. btw (€)"), col("Prepaid (min)")
	var cents, minutes int64
	for _, r := range rows[1:] {
		euros, centsPart, _ := strings.Cut(r[amount], ",")
		v, err := strconv.ParseInt(euros+centsPart, 10, 64)
		if err != nil {
			t.Fatalf("amount %q: %v", r[amount], err)
		}
		m, err := strconv.ParseInt(r[prepaid], 10, 64)
		if err != nil {
			t.Fatalf("prepaid minutes %q: %v", r[prepaid], err)
		}
		cents, minutes = cents+v, minutes+m
	}
	if cents != mar.Totals.AmountCents || minutes != mar.Totals.PrepaidMinutes {
		t.Errorf("export: %d cents, %d prepaid minutes; statement: %d cents, %d prepaid minutes",
			cents, minutes, mar.Totals.AmountCents, mar.Totals.PrepaidMinutes)
	}
}
