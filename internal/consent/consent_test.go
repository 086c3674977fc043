package consent

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/protocol"
)

func catalog(t *testing.T) i18n.Catalog {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func TestAskEveryLevelInEveryLanguage(t *testing.T) {
	cat := catalog(t)
	who := Who{Technician: "Jan Peeters", Company: "Softwarehuis", TicketRef: "2026-000001", TicketTitle: "Kassa"}
	work := &protocol.Intervention{Description: "Dubbele facturen wissen", Category: "data", EstimateMinutes: 45}
	for _, lang := range []i18n.Lang{i18n.NL, i18n.FR, i18n.EN} {
		texts := map[protocol.Level]string{}
		for _, level := range []protocol.Level{protocol.LevelView, protocol.LevelControl, protocol.LevelDataIntervention} {
			q := Ask(cat, lang, level, who, work, nil)
			text := q.Text()
			if strings.Contains(text, "agent.") || strings.Contains(text, "{") {
				t.Errorf("%s %s: unresolved key or placeholder in %q", lang, level, text)
			}
			if !strings.Contains(text, "Jan Peeters") || !strings.Contains(text, "2026-000001") {
				t.Errorf("%s %s: question does not say who asks and why: %q", lang, level, text)
			}
			texts[level] = text
		}
		iv := Ask(cat, lang, protocol.LevelDataIntervention, who, work, nil)
		if len(iv.Statements) != len(statementKeys) || iv.Acceptance == "" {
			t.Errorf("%s: intervention has %d statements and acceptance %q", lang, len(iv.Statements), iv.Acceptance)
		}
		for _, want := range []string{"Dubbele facturen wissen", "45", "1. ", "5. ", iv.Acceptance} {
			if !strings.Contains(texts[protocol.LevelDataIntervention], want) {
				t.Errorf("%s: intervention text lacks %q", lang, want)
			}
		}
		if texts[protocol.LevelView] == texts[protocol.LevelControl] {
			t.Errorf("%s: view and control questions read the same", lang)
		}
	}
}

func TestCheckAcceptance(t *testing.T) {
	answers := func(n int, confirmed bool) []protocol.StatementAnswer {
		var out []protocol.StatementAnswer
		for range n {
			out = append(out, protocol.StatementAnswer{Statement: "s", Confirmed: confirmed})
		}
		return out
	}
	full := func() *protocol.Acceptance {
		return &protocol.Acceptance{Version: InterventionVersion, Answers: answers(len(statementKeys), true), Name: "Marie Peeters", OSUser: "marie"}
	}
	cases := []struct {
		name string
		edit func(*protocol.Acceptance) *protocol.Acceptance
		want error
	}{
		{"complete", func(a *protocol.Acceptance) *protocol.Acceptance { return a }, nil},
		{"missing", func(*protocol.Acceptance) *protocol.Acceptance { return nil }, ErrNoAcceptance},
		{"old wording", func(a *protocol.Acceptance) *protocol.Acceptance { a.Version = "2020-01"; return a }, ErrVersion},
		{"one unconfirmed", func(a *protocol.Acceptance) *protocol.Acceptance { a.Answers[2].Confirmed = false; return a }, ErrUnconfirmed},
		{"too few answers", func(a *protocol.Acceptance) *protocol.Acceptance { a.Answers = a.Answers[:4]; return a }, ErrUnconfirmed},
		{"too many answers", func(a *protocol.Acceptance) *protocol.Acceptance { a.Answers = answers(6, true); return a }, ErrUnconfirmed},
		{"empty statement", func(a *protocol.Acceptance) *protocol.Acceptance { a.Answers[0].Statement = " "; return a }, ErrUnconfirmed},
		{"no name", func(a *protocol.Acceptance) *protocol.Acceptance { a.Name = "  "; return a }, ErrNoName},
		{"long name", func(a *protocol.Acceptance) *protocol.Acceptance {
			a.Name = strings.Repeat("é", MaxNameRunes+1)
			return a
		}, ErrNoName},
	}
	for _, c := range cases {
		err := CheckAcceptance(c.edit(full()))
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestCostNoticeIsPartOfTheQuestion(t *testing.T) {
	cat := catalog(t)
	cost := &protocol.CostNotice{Reasons: []string{"no_contract", "outside_hours"}, CentsPerHour: 8550,
		IncrementMinutes: 15, MinimumMinutes: 60, SurchargePercent: 50, VATPercent: 21}
	want := map[i18n.Lang][]string{
		i18n.NL: {"€ 85,50", "geen actief onderhoudscontract", "buiten de ondersteuningsuren", "15", "60", "50", "21"},
		i18n.FR: {"€ 85,50", "pas de contrat de maintenance actif", "15", "60"},
		i18n.EN: {"€85.50", "no active maintenance contract", "15", "60"},
	}
	for lang, parts := range want {
		text := Ask(cat, lang, protocol.LevelControl, Who{Technician: "Jan"}, nil, cost).Text()
		for _, p := range parts {
			if !strings.Contains(text, p) {
				t.Errorf("%s: notice lacks %q:\n%s", lang, p, text)
			}
		}
		if strings.Contains(text, "{") || strings.Contains(text, "reason.") {
			t.Errorf("%s: unresolved text:\n%s", lang, text)
		}
		if covered := Ask(cat, lang, protocol.LevelControl, Who{Technician: "Jan"}, nil, nil).Text(); strings.Contains(covered, parts[0]) {
			t.Errorf("%s: covered work shows a price:\n%s", lang, covered)
		}
	}
}

func TestEstimateIsApprovedApart(t *testing.T) {
	cat := catalog(t)
	cost := &protocol.CostNotice{Reasons: []string{"no_contract"}, CentsPerHour: 8500, IncrementMinutes: 15, MinimumMinutes: 60,
		VATPercent: 21, Estimate: &protocol.Estimate{Minutes: 90, BilledMinutes: 90, AmountCents: 12750, VATCents: 2678}}
	want := map[i18n.Lang][]string{
		i18n.NL: {"90 minuten", "€ 127,50", "€ 26,78", "€ 154,28"},
		i18n.FR: {"90 minutes", "€ 127,50", "€ 26,78", "€ 154,28"},
		i18n.EN: {"90 minutes", "€127.50", "€26.78", "€154.28"},
	}
	for lang, parts := range want {
		q := Ask(cat, lang, protocol.LevelControl, Who{Technician: "Jan"}, nil, cost)
		if q.Estimate == "" || !strings.Contains(q.Estimate, "90") || !strings.Contains(q.Estimate, parts[1]) {
			t.Errorf("%s: estimate statement %q", lang, q.Estimate)
		}
		// The approval the customer ticked is part of the text stored.
		text := q.Text()
		for _, p := range append(parts, q.Estimate) {
			if !strings.Contains(text, p) {
				t.Errorf("%s: question lacks %q:\n%s", lang, p, text)
			}
		}
		if strings.Contains(text, "{") || strings.Contains(text, "agent.") {
			t.Errorf("%s: unresolved text:\n%s", lang, text)
		}
		noEstimate := *cost
		noEstimate.Estimate = nil
		if q := Ask(cat, lang, protocol.LevelControl, Who{Technician: "Jan"}, nil, &noEstimate); q.Estimate != "" {
			t.Errorf("%s: a statement to approve without an estimate: %q", lang, q.Estimate)
		}
	}
}

func TestKeepQuestions(t *testing.T) {
	cat := catalog(t)
	who := Who{Technician: "Jan Peeters", TicketRef: "2026-000001", TicketTitle: "Kassa"}
	cost := &protocol.CostNotice{Reasons: []string{"category_not_covered"}, CentsPerHour: 8500, IncrementMinutes: 15, MinimumMinutes: 60, VATPercent: 21}
	renotice := protocol.ConsentRequest{Level: protocol.LevelControl, Keep: protocol.KeepRenotice, Cost: cost}
	overrun := protocol.ConsentRequest{Level: protocol.LevelControl, Keep: protocol.KeepOverrun, Cost: cost,
		Overrun: &protocol.Overrun{EstimateMinutes: 90, BillableMinutes: 113, LimitMinutes: 135, AmountCents: 19125}}
	for _, lang := range []i18n.Lang{i18n.NL, i18n.FR, i18n.EN} {
		r := Keep(cat, lang, who, renotice).Text()
		o := Keep(cat, lang, who, overrun).Text()
		for name, text := range map[string]string{"renotice": r, "overrun": o} {
			if strings.Contains(text, "{") || strings.Contains(text, "agent.") || strings.Contains(text, "reason.") {
				t.Errorf("%s %s: unresolved text:\n%s", lang, name, text)
			}
			if !strings.Contains(text, "Jan Peeters") && name == "renotice" || !strings.Contains(text, "2026-000001") ||
				!strings.Contains(text, Euros(lang, 8500)) {
				t.Errorf("%s %s: lacks who, ticket or rate:\n%s", lang, name, text)
			}
		}
		for _, p := range []string{"90", "113", "135", Euros(lang, 19125)} {
			if !strings.Contains(o, p) {
				t.Errorf("%s overrun lacks %q:\n%s", lang, p, o)
			}
		}
		if r == o {
			t.Errorf("%s: renotice and overrun read the same", lang)
		}
	}
}

// An estimate approved before the session is shown as such, with no box
// to tick again.
func TestEstimateApprovedBeforeIsNotAskedAgain(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	cost := &protocol.CostNotice{Reasons: []string{"no_contract"}, CentsPerHour: 8500, IncrementMinutes: 15, MinimumMinutes: 60, VATPercent: 21,
		Estimate: &protocol.Estimate{Minutes: 90, BilledMinutes: 90, AmountCents: 12750, VATCents: 2678,
			ApprovedBefore: &protocol.PriorApproval{EstimateID: 7, Minutes: 120, At: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}}}
	for _, lang := range []i18n.Lang{i18n.NL, i18n.FR, i18n.EN} {
		q := Ask(cat, lang, protocol.LevelControl, Who{Technician: "Tina", Company: "Desk", TicketRef: "2026-000041"}, nil, cost)
		if q.Estimate != "" || !strings.Contains(q.Text(), "01/03/2026") || strings.Contains(q.Text(), "[x]") {
			t.Errorf("%s: %+v", lang, q)
		}
	}
}
