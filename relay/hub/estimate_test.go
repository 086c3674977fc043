package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
	"github.com/meekijk/meekijk/relay/hub"
)

// fakeTimers stands in for time.AfterFunc: a test fires a timer when it
// chooses, from its own goroutine, and sees which timers are still armed.
type fakeTimers struct {
	mu   sync.Mutex
	list []*fakeTimer
}

type fakeTimer struct {
	d             time.Duration
	f             func()
	stopped, done bool
}

func (ts *fakeTimers) after(d time.Duration, f func()) func() bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := &fakeTimer{d: d, f: f}
	ts.list = append(ts.list, t)
	return func() bool {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		armed := !t.stopped && !t.done
		t.stopped = true
		return armed
	}
}

// armed returns the timers neither stopped nor fired.
func (ts *fakeTimers) armed() []*fakeTimer {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []*fakeTimer
	for _, t := range ts.list {
		if !t.stopped && !t.done {
			out = append(out, t)
		}
	}
	return out
}

// fire fires the one armed timer, which must wait d.
func (ts *fakeTimers) fire(t *testing.T, d time.Duration) {
	t.Helper()
	armed := ts.armed()
	if len(armed) != 1 || armed[0].d != d {
		var ds []time.Duration
		for _, a := range armed {
			ds = append(ds, a.d)
		}
		t.Fatalf("armed timers wait %v, want one of %v", ds, d)
	}
	ts.mu.Lock()
	armed[0].done = true
	ts.mu.Unlock()
	armed[0].f()
}

var billableNotice = protocol.CostNotice{Reasons: []string{"no_contract"}, CentsPerHour: 8500, IncrementMinutes: 15, MinimumMinutes: 60, VATPercent: 21}

// estimateEnv is an env where work is billable (or covered until
// billable is set, with coveredFirst), billable time is what the test
// sets, and timers fire when the test says.
type estimateEnv struct {
	*env
	timers   *fakeTimers
	billable atomic.Int64 // time.Duration
	priced   atomic.Bool  // the work is billable
	// gate, when set, runs inside every Billable query: a test holds the
	// hub there to line up a race.
	gate atomic.Pointer[func()]
}

func newEstimateEnv(t *testing.T, coveredFirst bool) *estimateEnv {
	ee := &estimateEnv{timers: &fakeTimers{}}
	ee.priced.Store(!coveredFirst)
	ee.env = newEnv(t, func(c *hub.Config) {
		c.Cost = func(context.Context, int64, protocol.Level) (*protocol.CostNotice, error) {
			if !ee.priced.Load() {
				return nil, nil
			}
			n := billableNotice
			return &n, nil
		}
		c.Billable = func(context.Context, int64) (time.Duration, error) {
			if g := ee.gate.Load(); g != nil {
				(*g)()
			}
			return time.Duration(ee.billable.Load()), nil
		}
		c.AfterFunc = ee.timers.after
	})
	return ee
}

func (ee *estimateEnv) setBillable(d time.Duration) { ee.billable.Store(int64(d)) }

// approved brings the session to control with an approved estimate.
func (ee *estimateEnv) approved(minutes int) (agent, console *peer) {
	t := ee.t
	t.Helper()
	agent, console = ee.live()
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelControl, EstimateMinutes: minutes})
	req := expect[protocol.ConsentRequest](t, agent)
	if req.Cost == nil || req.Cost.Estimate == nil {
		t.Fatalf("agent asked %+v without the estimate", req)
	}
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: true, EstimateApproved: true, Text: "goedgekeurd", Lang: "nl"})
	if c := expect[protocol.Consent](t, console); !c.Granted {
		t.Fatalf("console told %+v", c)
	}
	return agent, console
}

func (e *env) lastEvent() store.Event {
	e.t.Helper()
	evs, err := e.st.Events(context.Background(), e.sess.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs[len(evs)-1]
}

func TestEstimateOverAnHourMustBeApproved(t *testing.T) {
	ee := newEstimateEnv(t, false)
	agent, console := ee.live()
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelControl, EstimateMinutes: 500})
	expectError(t, console, protocol.ErrNotAllowed)
	// An hour or less: the notice alone.
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelControl, EstimateMinutes: 60})
	if req := expect[protocol.ConsentRequest](t, agent); req.Cost == nil || req.Cost.Estimate != nil || req.EstimateMinutes != 60 {
		t.Fatalf("agent asked %+v", req)
	}
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: false})
	expect[protocol.Consent](t, console)

	console.send(t, protocol.ConsentRequest{Level: protocol.LevelControl, EstimateMinutes: 90})
	req := expect[protocol.ConsentRequest](t, agent)
	want := protocol.Estimate{Minutes: 90, BilledMinutes: 90, AmountCents: 12750, VATCents: 2678}
	if req.Cost == nil || req.Cost.Estimate == nil || *req.Cost.Estimate != want {
		t.Fatalf("agent asked %+v, want the estimate %+v", req.Cost, want)
	}
	// Granted without the estimate's approval: refused, still at view.
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: true, Text: "ja"})
	expectError(t, agent, protocol.ErrNoEstimateApproval)
	expectError(t, console, protocol.ErrNoEstimateApproval)
	if ev := ee.lastEvent(); ev.Kind != store.EventConsentDenied {
		t.Errorf("refusal recorded as %s %s", ev.Kind, ev.Detail)
	}
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelControl, EstimateMinutes: 90})
	expect[protocol.ConsentRequest](t, agent)
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: true, EstimateApproved: true, Text: "ja"})
	if c := expect[protocol.Consent](t, console); !c.Granted || c.Level != protocol.LevelControl {
		t.Fatalf("console told %+v", c)
	}
	ev := ee.lastEvent()
	var detail struct {
		Level    string            `json:"level"`
		Estimate protocol.Estimate `json:"estimate"`
	}
	if err := json.Unmarshal(ev.Detail, &detail); err != nil || ev.Kind != store.EventConsentGranted || detail.Estimate != want {
		t.Errorf("grant recorded as %s %s", ev.Kind, ev.Detail)
	}
}

func TestInterventionEstimateMustBeApproved(t *testing.T) {
	ee := newEstimateEnv(t, false)
	agent, console := ee.approved(90)
	long := *work
	long.EstimateMinutes = 120
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelDataIntervention, Intervention: &long})
	req := expect[protocol.ConsentRequest](t, agent)
	if req.Cost == nil || req.Cost.Estimate == nil || req.Cost.Estimate.Minutes != 120 || req.Cost.Estimate.AmountCents != 17000 {
		t.Fatalf("agent asked %+v", req.Cost)
	}
	// A complete acceptance is not an approval of the estimate.
	agent.send(t, protocol.Consent{Level: protocol.LevelDataIntervention, Granted: true, Text: "…", Acceptance: completeAcceptance()})
	expectError(t, agent, protocol.ErrNoEstimateApproval)
	expectError(t, console, protocol.ErrNoEstimateApproval)
	if got := ee.acceptances(); len(got) != 0 {
		t.Fatalf("acceptance stored without the estimate approved: %+v", got)
	}
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelDataIntervention, Intervention: &long})
	expect[protocol.ConsentRequest](t, agent)
	agent.send(t, protocol.Consent{Level: protocol.LevelDataIntervention, Granted: true, EstimateApproved: true, Text: "…", Acceptance: completeAcceptance()})
	if c := expect[protocol.Consent](t, console); !c.Granted {
		t.Fatalf("console told %+v", c)
	}
	// The intervention's estimate is watched now, from its approval.
	ee.timers.fire(t, 150*time.Minute)
}

func TestOverrunAskedContinuedThenDeclined(t *testing.T) {
	ee := newEstimateEnv(t, false)
	ee.setBillable(5 * time.Minute) // viewing before control was billable too
	agent, console := ee.approved(90)
	// Short of the limit when it looks (the customer paused): it looks
	// again when the limit could be reached.
	ee.setBillable(100 * time.Minute)
	ee.timers.fire(t, 6750*time.Second) // 90 min + 25 %
	ee.setBillable(5*time.Minute + 113*time.Minute)
	ee.timers.fire(t, 17*time.Minute+30*time.Second)
	ov := expect[protocol.Overrun](t, console)
	want := protocol.Overrun{EstimateMinutes: 90, BillableMinutes: 113, LimitMinutes: 135, AmountCents: 19125, Outcome: protocol.OverrunAsked}
	if ov != want {
		t.Errorf("console warned %+v, want %+v", ov, want)
	}
	req := expect[protocol.ConsentRequest](t, agent)
	if req.Keep != protocol.KeepOverrun || req.Level != protocol.LevelControl || req.DeadlineSeconds != 60 ||
		req.Overrun == nil || req.Overrun.LimitMinutes != 135 || req.Cost == nil || req.Cost.Estimate != nil {
		t.Fatalf("agent asked %+v", req)
	}
	if ev := ee.lastEvent(); ev.Kind != store.EventEstimateOverrun {
		t.Errorf("last event %s", ev.Kind)
	}
	// Only the answer timer runs while the customer decides.
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: true, Text: "verder", Lang: "nl"})
	if ov := expect[protocol.Overrun](t, console); ov.Outcome != protocol.OverrunContinued {
		t.Errorf("console told %+v", ov)
	}
	if ev := ee.lastEvent(); ev.Kind != store.EventEstimateContinued {
		t.Errorf("last event %s", ev.Kind)
	}
	// The next limit: another 25 % of the estimate, 135 minutes.
	ee.setBillable(5*time.Minute + 136*time.Minute)
	ee.timers.fire(t, 22*time.Minute)
	if ov := expect[protocol.Overrun](t, console); ov.LimitMinutes != 158 || ov.BillableMinutes != 136 {
		t.Errorf("second warning %+v", ov)
	}
	expect[protocol.ConsentRequest](t, agent)
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: false, Text: "stop"})
	if lc := expect[protocol.LevelChange](t, console); lc.Level != protocol.LevelView || lc.Reason != "overrun_declined" {
		t.Errorf("console told %+v", lc)
	}
	if ov := expect[protocol.Overrun](t, console); ov.Outcome != protocol.OverrunDeclined {
		t.Errorf("console told %+v", ov)
	}
	kinds := ee.eventKinds()
	if got := kinds[len(kinds)-2:]; !slices.Equal(got, []string{store.EventConsentDenied, store.EventConsentRevoked}) {
		t.Errorf("last events %v", got)
	}
	if n := len(ee.timers.armed()); n != 0 || ee.hub.LadderRooms() != 0 {
		t.Errorf("%d timers armed and %d rooms with state at view", n, ee.hub.LadderRooms())
	}
	// The session's level is view: control is asked afresh.
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelControl})
	expect[protocol.ConsentRequest](t, agent)
}

// overrunAsked brings the session to control with a 90-minute estimate
// that overran: the console warned, the agent asked to keep control.
func (ee *estimateEnv) overrunAsked() (agent, console *peer) {
	t := ee.t
	t.Helper()
	agent, console = ee.approved(90)
	ee.setBillable(2 * time.Hour)
	ee.timers.fire(t, 6750*time.Second)
	expect[protocol.Overrun](t, console)
	if req := expect[protocol.ConsentRequest](t, agent); req.Keep != protocol.KeepOverrun {
		t.Fatalf("agent asked %+v", req)
	}
	return agent, console
}

func TestOverrunUnansweredStepsDownToView(t *testing.T) {
	ee := newEstimateEnv(t, false)
	agent, console := ee.overrunAsked()
	// The agent never answers: the relay records it at the deadline plus
	// the agent's grace.
	ee.timers.fire(t, 65*time.Second)
	if lc := expect[protocol.LevelChange](t, console); lc.Reason != "overrun_timeout" {
		t.Errorf("console told %+v", lc)
	}
	if ov := expect[protocol.Overrun](t, console); ov.Outcome != protocol.OverrunTimeout {
		t.Errorf("console told %+v", ov)
	}
	ev := ee.lastEvent()
	if ev.Kind != store.EventConsentRevoked || ev.Actor != "relay" {
		t.Errorf("last event %s by %s", ev.Kind, ev.Actor)
	}
	// The agent is told, should it have missed its own deadline.
	if lc := expect[protocol.LevelChange](t, agent); lc.Level != protocol.LevelView {
		t.Errorf("agent told %+v", lc)
	}
	// A late answer changes nothing.
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: true})
	expectError(t, agent, protocol.ErrNotAllowed)
	if n := len(ee.timers.armed()); n != 0 {
		t.Errorf("%d timers still armed", n)
	}
}

func TestEstimateWatchEndsWithTheLevelAndTheSession(t *testing.T) {
	ee := newEstimateEnv(t, false)
	agent, console := ee.approved(90)
	agent.send(t, protocol.LevelChange{Level: protocol.LevelView, Reason: "customer"})
	expect[protocol.LevelChange](t, console)
	if n := len(ee.timers.armed()); n != 0 || ee.hub.LadderRooms() != 0 {
		t.Errorf("after stepping down: %d timers armed, %d rooms with state", n, ee.hub.LadderRooms())
	}
	console.send(t, protocol.ConsentRequest{Level: protocol.LevelControl, EstimateMinutes: 90})
	expect[protocol.ConsentRequest](t, agent)
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: true, EstimateApproved: true})
	expect[protocol.Consent](t, console)
	console.send(t, protocol.End{})
	expectStatus(t, console, protocol.StatusEnded)
	// A timer that outlived its session does nothing when it fires, and
	// takes the room's state with it.
	if armed := ee.timers.armed(); len(armed) == 1 {
		ee.setBillable(3 * time.Hour)
		ee.timers.fire(t, armed[0].d)
	}
	if n := len(ee.timers.armed()); n != 0 || ee.hub.LadderRooms() != 0 {
		t.Errorf("after the end: %d timers armed, %d rooms with state", n, ee.hub.LadderRooms())
	}
	if slices.Contains(ee.eventKinds(), store.EventEstimateOverrun) {
		t.Error("an ended session was warned of an overrun")
	}
}

func TestCategoryChangeAnnouncesBillableWorkAgain(t *testing.T) {
	ee := newEstimateEnv(t, true)
	ctx := context.Background()
	agent, console := ee.controlled() // covered: no notice
	// Still covered: nothing to announce.
	if err := ee.hub.Recategorized(ctx, ee.sess.ID); err != nil {
		t.Fatal(err)
	}
	ee.priced.Store(true)
	if err := ee.hub.Recategorized(ctx, ee.sess.ID); err != nil {
		t.Fatal(err)
	}
	req := expect[protocol.ConsentRequest](t, agent)
	if req.Keep != protocol.KeepRenotice || req.Level != protocol.LevelControl || req.Cost == nil || req.DeadlineSeconds != 60 {
		t.Fatalf("agent asked %+v", req)
	}
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: true, Text: "aanvaard", Lang: "nl"})
	if c := expect[protocol.Consent](t, console); !c.Granted || c.Level != protocol.LevelControl {
		t.Errorf("console told %+v", c)
	}
	if ev := ee.lastEvent(); ev.Kind != store.EventConsentGranted {
		t.Errorf("last event %s", ev.Kind)
	}
	// Announced once: another change asks nothing more.
	if err := ee.hub.Recategorized(ctx, ee.sess.ID); err != nil {
		t.Fatal(err)
	}
	console.send(t, protocol.Chat{Text: "ok"})
	expect[protocol.Chat](t, agent)
	if n := len(ee.timers.armed()); n != 0 {
		t.Errorf("%d timers armed after the answer", n)
	}
}

func TestCategoryChangeDeclinedStepsDown(t *testing.T) {
	ee := newEstimateEnv(t, true)
	agent, console := ee.controlled()
	ee.priced.Store(true)
	if err := ee.hub.Recategorized(context.Background(), ee.sess.ID); err != nil {
		t.Fatal(err)
	}
	expect[protocol.ConsentRequest](t, agent)
	agent.send(t, protocol.Consent{Level: protocol.LevelControl, Granted: false, TimedOut: true})
	if lc := expect[protocol.LevelChange](t, console); lc.Level != protocol.LevelView || lc.Reason != "renotice_timeout" {
		t.Errorf("console told %+v", lc)
	}
	ev := ee.lastEvent()
	if ev.Kind != store.EventConsentRevoked || ev.Actor != "customer" {
		t.Errorf("last event %s by %s", ev.Kind, ev.Actor)
	}
	if n := len(ee.timers.armed()); n != 0 || ee.hub.LadderRooms() != 0 {
		t.Errorf("%d timers armed, %d rooms with state", n, ee.hub.LadderRooms())
	}
}

// Work that became billable but cannot be priced any more (no hourly rate)
// must not go on unannounced: the session steps down to view.
func TestCategoryChangeWithoutARateStepsDown(t *testing.T) {
	var failing atomic.Bool
	e := newEnv(t, func(c *hub.Config) {
		c.Cost = func(context.Context, int64, protocol.Level) (*protocol.CostNotice, error) {
			if failing.Load() {
				return nil, errors.New("no hourly rate on 2026-03-02")
			}
			return nil, nil
		}
	})
	agent, console := e.controlled()
	failing.Store(true)
	if err := e.hub.Recategorized(context.Background(), e.sess.ID); err == nil {
		t.Error("no error for work that cannot be priced")
	}
	if lc := expect[protocol.LevelChange](t, console); lc.Level != protocol.LevelView || lc.Reason != protocol.ErrCannotPrice {
		t.Errorf("console told %+v", lc)
	}
	if ev := e.lastEvent(); ev.Kind != store.EventConsentRevoked || ev.Actor != "relay" {
		t.Errorf("last event %s by %s", ev.Kind, ev.Actor)
	}
	if lc := expect[protocol.LevelChange](t, agent); lc.Level != protocol.LevelView || lc.Reason != protocol.ErrCannotPrice {
		t.Errorf("agent told %+v", lc)
	}
	// At view in the relay's record: nothing to step down from.
	agent.send(t, protocol.LevelChange{Level: protocol.LevelView})
	expectError(t, agent, protocol.ErrNotAllowed)
}
