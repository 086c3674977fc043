package app

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/agent/localui"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/protocol"
)

// sharingApp is an agent sharing at level, without a relay connection.
func sharingApp(t *testing.T, level protocol.Level) *App {
	t.Helper()
	a, err := New(Config{RelayURL: "http://127.0.0.1:1", Lang: i18n.NL}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(a.uploadDir) })
	a.joined = &protocol.Joined{ReconfirmSeconds: 3600, ReconfirmAnswerSeconds: 60}
	a.state.Phase, a.state.Level, a.state.Technician = localui.PhaseSharing, level, "Jan"
	return a
}

func answerJSON(t *testing.T, ans localui.Answer) string {
	t.Helper()
	b, err := json.Marshal(ans)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var notice = &protocol.CostNotice{Reasons: []string{"no_contract"}, CentsPerHour: 8500, IncrementMinutes: 15, MinimumMinutes: 60, VATPercent: 21}

// An estimate is approved on its own: Yes without its tick answers nothing.
func TestEstimateNeedsItsOwnTick(t *testing.T) {
	a := sharingApp(t, protocol.LevelView)
	cost := *notice
	cost.Estimate = &protocol.Estimate{Minutes: 90, BilledMinutes: 90, AmountCents: 12750, VATCents: 2678}
	a.askConsent(protocol.ConsentRequest{Level: protocol.LevelControl, EstimateMinutes: 90, Cost: &cost})
	p := a.state.Prompt
	if p == nil || !strings.Contains(p.Estimate, "90 minuten") || !strings.Contains(p.Estimate, "€ 127,50") {
		t.Fatalf("prompt %+v", p)
	}
	if text := strings.Join(p.Lines, "\n"); !strings.Contains(text, "€ 154,28") {
		t.Errorf("the notice does not say the amount with VAT:\n%s", text)
	}
	a.answer(true, answerJSON(t, localui.Answer{ID: p.ID}))
	if a.state.Prompt == nil || a.state.Level != protocol.LevelView {
		t.Fatalf("Yes without the estimate ticked was taken: level %s, prompt %+v", a.state.Level, a.state.Prompt)
	}
}

// A keep question expires: no answer in time is a step down to view, at
// once, here.
func TestKeepQuestionTimesOutToView(t *testing.T) {
	a := sharingApp(t, protocol.LevelControl)
	// A question for a level not in force is stale.
	a.onConsentRequest(protocol.ConsentRequest{Level: protocol.LevelDataIntervention, Keep: protocol.KeepOverrun})
	if a.state.Prompt != nil {
		t.Fatalf("asked to keep a level not in force: %+v", a.state.Prompt)
	}
	a.onConsentRequest(protocol.ConsentRequest{Level: protocol.LevelControl, Keep: protocol.KeepOverrun, DeadlineSeconds: 30, Cost: notice,
		Overrun: &protocol.Overrun{EstimateMinutes: 90, BillableMinutes: 113, LimitMinutes: 135, AmountCents: 19125}})
	p := a.state.Prompt
	if p == nil || p.Kind != localui.PromptKeep || p.Keep != protocol.KeepOverrun || !strings.Contains(strings.Join(p.Lines, " "), "135") {
		t.Fatalf("prompt %+v", p)
	}
	if left := time.Until(time.UnixMilli(p.DeadlineMs)); left < 25*time.Second || left > 31*time.Second {
		t.Errorf("deadline in %v, want 30 s", left)
	}
	a.onTick(time.Now().Add(10 * time.Second))
	if a.state.Level != protocol.LevelControl {
		t.Fatalf("stepped down before the deadline")
	}
	a.onTick(time.Now().Add(31 * time.Second))
	if a.state.Level != protocol.LevelView || a.state.Prompt != nil {
		t.Errorf("after the deadline: level %s, prompt %+v", a.state.Level, a.state.Prompt)
	}
}

func TestKeepQuestionAnswered(t *testing.T) {
	for _, yes := range []bool{true, false} {
		a := sharingApp(t, protocol.LevelControl)
		a.onConsentRequest(protocol.ConsentRequest{Level: protocol.LevelControl, Keep: protocol.KeepRenotice, DeadlineSeconds: 60, Cost: notice})
		p := a.state.Prompt
		if p == nil || !strings.Contains(strings.Join(p.Lines, " "), "€ 85,00") {
			t.Fatalf("prompt %+v", p)
		}
		a.answer(yes, answerJSON(t, localui.Answer{ID: p.ID}))
		want := protocol.LevelView
		if yes {
			want = protocol.LevelControl
		}
		if a.state.Level != want || a.state.Prompt != nil {
			t.Errorf("answered %v: level %s, prompt %+v", yes, a.state.Level, a.state.Prompt)
		}
	}
}

// The relay may lower the level (never raise it): a keep question it saw
// go unanswered, work it can no longer price.
func TestRelayLowersOnlyDown(t *testing.T) {
	a := sharingApp(t, protocol.LevelControl)
	a.onRelayLevel(protocol.LevelChange{Level: protocol.LevelDataIntervention})
	a.onRelayLevel(protocol.LevelChange{Level: "root"})
	if a.state.Level != protocol.LevelControl {
		t.Fatalf("the relay raised the level to %s", a.state.Level)
	}
	a.onConsentRequest(protocol.ConsentRequest{Level: protocol.LevelControl, Keep: protocol.KeepRenotice, DeadlineSeconds: 60, Cost: notice})
	a.onRelayLevel(protocol.LevelChange{Level: protocol.LevelView, Reason: "renotice_timeout"})
	if a.state.Level != protocol.LevelView || a.state.Prompt != nil {
		t.Errorf("after the relay's step down: level %s, prompt %+v", a.state.Level, a.state.Prompt)
	}
}
