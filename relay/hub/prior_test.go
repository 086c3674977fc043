package hub_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/relay/hub"
)

// An estimate the customer approved before the session (in the portal or
// through the mailed link) stands for the in-session question of up to
// its minutes: control is granted without asking for the estimate again,
// the grant records which approval stood for it, and the work is still
// watched against it. A longer estimate is asked for as before.
func TestEstimateApprovedBeforeIsNotAskedAgain(t *testing.T) {
	prior := &protocol.PriorApproval{EstimateID: 7, Minutes: 120, At: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		By: "contact:3", TextSHA256: "ab12"}
	timers := &fakeTimers{}
	e := newEnv(t, func(c *hub.Config) {
		c.Cost = func(context.Context, int64, protocol.Level) (*protocol.CostNotice, error) {
			n := billableNotice
			n.ApprovedEstimate = prior
			return &n, nil
		}
		c.Billable = func(context.Context, int64) (time.Duration, error) { return 0, nil }
		c.AfterFunc = timers.after
	})
	agent, console := e.live()

	console.send(t, protocol.ConsentRequest{Level: protocol.LevelControl, EstimateMinutes: 150})
	if req := expect[protocol.ConsentRequest](t, agent); req.Cost == nil || req.Cost.Estimate == nil || req.Cost.Estimate.ApprovedBefore != nil {
		t.Fatalf("150 minutes, more than approved: agent asked %+v", req.Cost)
	}
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: true, Text: "ja"})
	expectError(t, agent, protocol.ErrNoEstimateApproval)
	expectError(t, console, protocol.ErrNoEstimateApproval)

	console.send(t, protocol.ConsentRequest{Level: protocol.LevelControl, EstimateMinutes: 90})
	req := expect[protocol.ConsentRequest](t, agent)
	if req.Cost == nil || req.Cost.Estimate == nil || req.Cost.Estimate.ApprovedBefore == nil || *req.Cost.Estimate.ApprovedBefore != *prior {
		t.Fatalf("90 minutes, approved before: agent asked %+v", req.Cost)
	}
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: true, Text: "ja", Lang: "nl"})
	if c := expect[protocol.Consent](t, console); !c.Granted || c.Level != protocol.LevelControl {
		t.Fatalf("console told %+v", c)
	}
	ev := e.lastEvent()
	var detail struct {
		Estimate protocol.Estimate `json:"estimate"`
	}
	if err := json.Unmarshal(ev.Detail, &detail); err != nil || ev.Kind != store.EventConsentGranted ||
		detail.Estimate.ApprovedBefore == nil || detail.Estimate.ApprovedBefore.EstimateID != 7 {
		t.Errorf("grant recorded as %s %s", ev.Kind, ev.Detail)
	}
	if len(timers.armed()) != 1 {
		t.Errorf("%d watch timers armed, want the estimate's one", len(timers.armed()))
	}
}
