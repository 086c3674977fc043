package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/meekijk/meekijk/internal/consent"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/relay/hub"
)

var work = &protocol.Intervention{Description: "Dubbel geboekte facturen wissen", Category: "database_change", EstimateMinutes: 30}

// controlled brings the session to control, asked by the console and
// granted by the customer.
func (e *env) controlled() (agent, console *peer) {
	e.t.Helper()
	agent, console = e.live()
	console.send(e.t, protocol.ConsentRequest{Level: protocol.LevelControl})
	if req := expect[protocol.ConsentRequest](e.t, agent); req.Level != protocol.LevelControl {
		e.t.Fatalf("agent asked %+v", req)
	}
	agent.send(e.t, protocol.Consent{Level: protocol.LevelControl, Granted: true, Text: "mag ik bedienen?", Lang: "nl"})
	if c := expect[protocol.Consent](e.t, console); c.Level != protocol.LevelControl || !c.Granted || c.Text != "" {
		e.t.Fatalf("console told %+v", c)
	}
	return agent, console
}

func completeAcceptance() *protocol.Acceptance {
	a := &protocol.Acceptance{Version: consent.InterventionVersion, Name: "Marie Peeters", OSUser: "marie"}
	for range 5 {
		a.Answers = append(a.Answers, protocol.StatementAnswer{Statement: "Ik heb een back-up.", Confirmed: true})
	}
	return a
}

func (e *env) acceptances() []store.Acceptance {
	e.t.Helper()
	got, err := e.st.Acceptances(context.Background(), e.sess.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

func TestControlIsAskedThroughTheRelayAndRecorded(t *testing.T) {
	e := newEnv(t)
	agent, console := e.controlled()
	_ = agent
	kinds := e.eventKinds()
	want := []string{store.EventConsentAsked, store.EventConsentGranted}
	if got := kinds[len(kinds)-2:]; !slices.Equal(got, want) {
		t.Errorf("last events %v, want %v", got, want)
	}
	// A console that reloads learns the level from its first status.
	console.ws.Close()
	_, st := e.console()
	if st.Level != protocol.LevelControl {
		t.Errorf("status after reload %+v, want level control", st)
	}
}

func TestConsoleCannotSkipSteps(t *testing.T) {
	e := newEnv(t)
	console, _ := e.console()
	// Nothing before the customer allowed viewing.
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelControl})
	expectError(t, console, protocol.ErrNotAllowed)
	agent := e.joinedAgent()
	expectStatus(t, console, protocol.StatusJoined)
	agent.send(t, protocol.Consent{Level: protocol.LevelView, Granted: true})
	expectStatus(t, console, protocol.StatusLive)
	for _, req := range []protocol.ConsentRequest{
		{Level: protocol.LevelView},
		{Level: protocol.LevelDataIntervention, Intervention: work}, // control first
	} {
		console.send(t, req)
		expectError(t, console, protocol.ErrNotAllowed)
	}
	// A word that is no level does not even decode (protocol.Level).
	if err := console.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"consent_request","data":{"level":"root"}}`)); err != nil {
		t.Fatal(err)
	}
	expectError(t, console, protocol.ErrBadMessage)
	// The agent cannot grant what nobody asked.
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: true})
	expectError(t, agent, protocol.ErrNotAllowed)
	// Only the relay's own view question was recorded as asked.
	if asked := e.eventCount(store.EventConsentAsked); asked != 1 {
		t.Errorf("%d questions recorded, want only the view one", asked)
	}
}

func TestInterventionRequestIsChecked(t *testing.T) {
	e := newEnv(t)
	_, console := e.controlled()
	for _, w := range []*protocol.Intervention{
		nil,
		{Category: "data", EstimateMinutes: 30},
		{Description: "x", EstimateMinutes: 30},
		{Description: "x", Category: "database_change", EstimateMinutes: 0},
		{Description: "x", Category: "database_change", EstimateMinutes: 100000},
		{Description: "x", Category: "no_such_category", EstimateMinutes: 30},
	} {
		console.send(t, protocol.ConsentRequest{Level: protocol.LevelDataIntervention, Intervention: w})
		expectError(t, console, protocol.ErrNotAllowed)
	}
}

func TestInterventionWithoutCompleteAcceptanceIsRefused(t *testing.T) {
	e := newEnv(t)
	agent, console := e.controlled()
	incomplete := completeAcceptance()
	incomplete.Answers[3].Confirmed = false
	for _, acc := range []*protocol.Acceptance{nil, incomplete} {
		console.send(t, protocol.ConsentRequest{Level: protocol.LevelDataIntervention, Intervention: work})
		expect[protocol.ConsentRequest](t, agent)
		agent.send(t, protocol.Consent{Level: protocol.LevelDataIntervention, Granted: true, Text: "…", Acceptance: acc})
		expectError(t, agent, protocol.ErrNoAcceptance)
		expectError(t, console, protocol.ErrNoAcceptance)
	}
	if got := e.acceptances(); len(got) != 0 {
		t.Errorf("acceptances stored: %+v", got)
	}
	// Still at control: the customer may step down to view, not from
	// intervention.
	agent.send(t, protocol.LevelChange{Level: protocol.LevelView, Reason: "customer"})
	if lc := expect[protocol.LevelChange](t, console); lc.Level != protocol.LevelView {
		t.Errorf("console told %+v", lc)
	}
	evs, _ := e.st.Events(context.Background(), e.sess.ID)
	var detail map[string]string
	_ = json.Unmarshal(evs[len(evs)-1].Detail, &detail)
	if evs[len(evs)-1].Kind != store.EventConsentRevoked || detail["from"] != string(protocol.LevelControl) {
		t.Errorf("last event %s %s, want a revocation from control", evs[len(evs)-1].Kind, evs[len(evs)-1].Detail)
	}
}

func TestInterventionAcceptanceStoredWithTheTextShown(t *testing.T) {
	e := newEnv(t)
	agent, console := e.controlled()
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelDataIntervention, Intervention: work})
	req := expect[protocol.ConsentRequest](t, agent)
	if req.Intervention == nil || req.Intervention.Description != work.Description ||
		req.Intervention.CategoryNames["fr"] != "Script ou modification directe des données" {
		t.Fatalf("agent asked %+v", req)
	}
	// Declining keeps the session at control and stores no acceptance.
	agent.send(t, protocol.Consent{Level: protocol.LevelDataIntervention, Granted: false, Text: "shown"})
	if c := expect[protocol.Consent](t, console); c.Granted {
		t.Fatalf("console told %+v", c)
	}
	if got := e.acceptances(); len(got) != 0 {
		t.Fatalf("declined, yet stored %+v", got)
	}
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelDataIntervention, Intervention: work})
	expect[protocol.ConsentRequest](t, agent)
	text := "1. Ik kan dit niet zelf.\nIk aanvaard alle risico's."
	agent.send(t, protocol.Consent{Level: protocol.LevelDataIntervention, Granted: true, Text: text, Lang: "nl", Acceptance: completeAcceptance()})
	if c := expect[protocol.Consent](t, console); !c.Granted || c.Level != protocol.LevelDataIntervention {
		t.Fatalf("console told %+v", c)
	}
	got := e.acceptances()
	if len(got) != 1 {
		t.Fatalf("acceptances %+v", got)
	}
	a := got[0]
	if a.TextSHA256 != store.TextSHA256(text) || a.Text != text || a.TypedName != "Marie Peeters" || a.OSUser != "marie" ||
		a.Work.Description != work.Description || a.TechnicianID != e.tech.ID || a.TicketID != e.sess.TicketID || len(a.Answers) != 5 {
		t.Errorf("stored %+v", a)
	}
}

func TestStepDownOnlyDown(t *testing.T) {
	e := newEnv(t)
	agent, console := e.controlled()
	agent.send(t, protocol.LevelChange{Level: protocol.LevelControl})
	expectError(t, agent, protocol.ErrNotAllowed)
	agent.send(t, protocol.LevelChange{Level: protocol.LevelDataIntervention})
	expectError(t, agent, protocol.ErrNotAllowed)
	agent.send(t, protocol.LevelChange{Level: protocol.LevelView})
	expect[protocol.LevelChange](t, console)
	agent.send(t, protocol.LevelChange{Level: ""})
	expectError(t, agent, protocol.ErrNotAllowed)
}

func TestChatIsStoredAndStamped(t *testing.T) {
	e := newEnv(t)
	agent, console := e.live()
	e.clk.advance(90_000_000) // 90 s: the relay stamps its own clock
	console.send(t, protocol.Chat{Text: "Ik kijk even mee.", From: "forged", At: 1})
	for _, p := range []*peer{agent, console} {
		c := expect[protocol.Chat](t, p)
		if c.From != techName || c.At != e.clk.now().UnixMilli() || c.Text != "Ik kijk even mee." {
			t.Errorf("%s got %+v", p.name, c)
		}
	}
	agent.send(t, protocol.Chat{Text: "  Merci, één moment\u202e  "})
	for _, p := range []*peer{agent, console} {
		if c := expect[protocol.Chat](t, p); c.From != protocol.ByCustomer || c.Text != "Merci, één moment" {
			t.Errorf("%s got %+v", p.name, c)
		}
	}
	agent.send(t, protocol.Chat{Text: "   "})
	expectError(t, agent, protocol.ErrBadMessage)
	if chats := e.eventCount(store.EventChat); chats != 2 {
		t.Errorf("%d chat events stored, want 2", chats)
	}
}

func TestHandoverDropsToViewAndIsRecorded(t *testing.T) {
	e := newEnv(t)
	agent, _ := e.controlled()
	_, st := e.consoleAs("other")
	if st.Level != protocol.LevelView {
		t.Errorf("new technician sees level %q, want view", st.Level)
	}
	if h := expect[protocol.Handover](t, agent); h.Technician != "Piet Janssens" {
		t.Errorf("agent told %+v", h)
	}
	expect[protocol.Renegotiate](t, agent)
	kinds := e.eventKinds()
	if got := kinds[len(kinds)-2:]; !slices.Equal(got, []string{store.EventHandover, store.EventConsentRevoked}) {
		t.Errorf("last events %v", got)
	}
}

func TestReconfirmRecorded(t *testing.T) {
	e := newEnv(t)
	agent, console := e.live()
	agent.send(t, protocol.Reconfirm{Outcome: protocol.ReconfirmAsked, DeadlineSeconds: 60})
	expect[protocol.Reconfirm](t, console)
	agent.send(t, protocol.Reconfirm{Outcome: protocol.ReconfirmConfirmed})
	expect[protocol.Reconfirm](t, console)
	// An unknown outcome is refused by the decoder now (issue 15, finding 10).
	agent.send(t, protocol.Reconfirm{Outcome: "maybe"})
	expectError(t, agent, protocol.ErrBadMessage)
	kinds := e.eventKinds()
	if got := kinds[len(kinds)-2:]; !slices.Equal(got, []string{store.EventReconfirmAsked, store.EventReconfirmed}) {
		t.Errorf("last events %v", got)
	}
}

func TestBillableWorkIsAskedWithItsCostNotice(t *testing.T) {
	notice := &protocol.CostNotice{Reasons: []string{"no_contract"}, CentsPerHour: 8500, IncrementMinutes: 15, MinimumMinutes: 60, VATPercent: 21}
	var priced atomic.Bool
	e := newEnv(t, func(c *hub.Config) {
		c.Cost = func(_ context.Context, _ int64, level protocol.Level) (*protocol.CostNotice, error) {
			if !priced.Load() {
				return nil, errors.New("no hourly rate on 2026-03-02")
			}
			if level == protocol.LevelControl {
				return notice, nil
			}
			return nil, nil
		}
	})
	agent, console := e.live()
	// Billable work that cannot be priced is not asked at all.
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelControl})
	expectError(t, console, protocol.ErrCannotPrice)
	priced.Store(true)
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelControl})
	req := expect[protocol.ConsentRequest](t, agent)
	if req.Cost == nil || req.Cost.CentsPerHour != 8500 {
		t.Fatalf("agent asked %+v without the cost notice", req)
	}
	evs, _ := e.st.Events(context.Background(), e.sess.ID)
	if last := evs[len(evs)-1]; last.Kind != store.EventConsentAsked || !strings.Contains(string(last.Detail), `"centsPerHour":8500`) {
		t.Errorf("request recorded as %s %s", last.Kind, last.Detail)
	}
}
