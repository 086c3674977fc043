package billing_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
)

// ev is an event at "09:00" on 2 March 2026 (Brussels) with its detail.
func ev(at, kind string, detail any) billing.Event {
	b, err := json.Marshal(detail)
	if err != nil {
		panic(err)
	}
	if detail == nil {
		b = []byte("{}")
	}
	return billing.Event{At: tm("2026-03-02 " + at), Kind: kind, Detail: b}
}

func granted(at string, l billing.Level) billing.Event {
	return ev(at, billing.EventConsentGranted, map[string]any{"level": l, "text": "…", "lang": "nl"})
}

func revoked(at string, to, from billing.Level) billing.Event {
	return ev(at, billing.EventConsentRevoked, map[string]any{"level": to, "from": from})
}

func TestTimeline(t *testing.T) {
	view, control, data := billing.LevelView, billing.LevelControl, billing.LevelDataIntervention
	noon := tm("2026-03-02 12:00")
	cases := []struct {
		name   string
		events []billing.Event
		end    time.Time
		want   []billing.Segment
	}{
		{"no consent, no segments", []billing.Event{
			ev("09:00", "created", nil), ev("09:01", "agent_joined", nil), ev("09:02", "consent_asked", map[string]any{"level": view}),
			ev("09:03", "consent_denied", map[string]any{"level": view}), ev("09:04", billing.EventEnded, nil)},
			noon, nil},
		{"view to ended", []billing.Event{
			ev("09:00", "created", nil), granted("09:02", view), ev("09:03", "media_started", nil), ev("09:30", billing.EventEnded, nil)},
			noon, []billing.Segment{seg("09:02", "09:30", level(view))}},
		{"level up and down", []billing.Event{
			granted("09:00", view), granted("09:10", control), granted("09:20", data),
			revoked("09:35", control, data), revoked("09:40", view, control), ev("09:45", billing.EventEnded, nil)},
			noon, []billing.Segment{
				seg("09:00", "09:10", level(view)), seg("09:10", "09:20", level(control)), seg("09:20", "09:35", level(data)),
				seg("09:35", "09:40", level(control)), seg("09:40", "09:45", level(view))}},
		{"a grant of a lower level keeps the higher one", []billing.Event{
			granted("09:00", control), granted("09:10", view), ev("09:20", billing.EventEnded, nil)},
			noon, []billing.Segment{seg("09:00", "09:20", level(control))}},
		{"stopped sharing and shared again", []billing.Event{
			granted("09:00", control), revoked("09:10", "", control), granted("09:30", view), ev("09:40", billing.EventEnded, nil)},
			noon, []billing.Segment{seg("09:00", "09:10"), seg("09:30", "09:40", level(view))}},
		{"hand-over splits between technicians", []billing.Event{
			granted("09:00", control),
			ev("09:20", billing.EventHandover, map[string]any{"technicianId": jan.ID, "technician": jan.Name}),
			ev("09:50", billing.EventEnded, nil)},
			noon, []billing.Segment{seg("09:00", "09:20"), seg("09:20", "09:50", by(jan))}},
		{"hand-over back and forth, and to whoever already has it", []billing.Event{
			granted("09:00", view),
			ev("09:10", billing.EventHandover, map[string]any{"technicianId": jan.ID, "technician": jan.Name}),
			ev("09:15", billing.EventHandover, map[string]any{"technicianId": jan.ID, "technician": jan.Name}),
			ev("09:20", billing.EventHandover, map[string]any{"technicianId": tina.ID, "technician": tina.Name}),
			ev("09:30", billing.EventEnded, nil)},
			noon, []billing.Segment{seg("09:00", "09:10", level(view)), seg("09:10", "09:20", level(view), by(jan)),
				seg("09:20", "09:30", level(view))}},
		{"a hand-over without a technician keeps the time", []billing.Event{
			granted("09:00", view), ev("09:10", billing.EventHandover, map[string]any{"technician": "?"}), ev("09:30", billing.EventEnded, nil)},
			noon, []billing.Segment{seg("09:00", "09:30", level(view))}},
		{"disconnect excluded", []billing.Event{
			granted("09:00", control), ev("09:10", billing.EventLinkDown, nil), ev("09:25", billing.EventLinkUp, nil),
			ev("09:40", billing.EventEnded, nil)},
			noon, []billing.Segment{seg("09:00", "09:10"), seg("09:25", "09:40")}},
		{"level change and hand-over while disconnected", []billing.Event{
			granted("09:00", control), ev("09:10", billing.EventLinkDown, nil), ev("09:11", billing.EventLinkDown, nil),
			revoked("09:12", view, control),
			ev("09:13", billing.EventHandover, map[string]any{"technicianId": jan.ID, "technician": jan.Name}),
			ev("09:20", billing.EventLinkUp, nil), ev("09:21", billing.EventLinkUp, nil), ev("09:30", billing.EventEnded, nil)},
			noon, []billing.Segment{seg("09:00", "09:10"), seg("09:20", "09:30", level(view), by(jan))}},
		{"link lost before consent", []billing.Event{
			ev("09:00", billing.EventLinkDown, nil), ev("09:05", billing.EventLinkUp, nil), granted("09:06", view), ev("09:10", billing.EventEnded, nil)},
			noon, []billing.Segment{seg("09:06", "09:10", level(view))}},
		{"live session runs to now", []billing.Event{
			granted("09:00", view), granted("09:05", control)},
			tm("2026-03-02 09:12"), []billing.Segment{seg("09:00", "09:05", level(view)), seg("09:05", "09:12")}},
		{"live session disconnected now", []billing.Event{
			granted("09:00", view), ev("09:05", billing.EventLinkDown, nil)},
			tm("2026-03-02 09:12"), []billing.Segment{seg("09:00", "09:05", level(view))}},
		{"cut off without ended: stops at the end given", []billing.Event{
			granted("09:00", control), ev("09:07", "chat", map[string]any{"from": "customer", "text": "ok"})},
			tm("2026-03-02 09:07"), []billing.Segment{seg("09:00", "09:07")}},
		{"events after the end given are not read", []billing.Event{
			granted("09:00", control), granted("09:10", data), ev("09:20", billing.EventEnded, nil)},
			tm("2026-03-02 09:05"), []billing.Segment{seg("09:00", "09:05")}},
		{"nothing after ended counts", []billing.Event{
			granted("09:00", view), ev("09:10", billing.EventEnded, nil), granted("09:20", control)},
			noon, []billing.Segment{seg("09:00", "09:10", level(view))}},
		{"clock set back: no segment runs backwards", []billing.Event{
			granted("09:00", view), granted("09:10", control), revoked("09:05", view, control), ev("09:20", billing.EventEnded, nil)},
			noon, []billing.Segment{seg("09:00", "09:10", level(view)), seg("09:10", "09:20", level(view))}},
		{"broken details are passed over", []billing.Event{
			granted("09:00", view), {At: tm("2026-03-02 09:05"), Kind: billing.EventConsentGranted, Detail: json.RawMessage(`{"level":`)},
			{At: tm("2026-03-02 09:06"), Kind: billing.EventHandover, Detail: json.RawMessage(`[]`)},
			ev("09:10", billing.EventEnded, nil)},
			noon, []billing.Segment{seg("09:00", "09:10", level(view))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := billing.Timeline(tc.events, tina, tc.end)
			if !segmentsEqual(got, tc.want) {
				t.Errorf("segments\n%s\nwant\n%s", describe(got), describe(tc.want))
			}
		})
	}
}

// TestTimelineCutsLongSegments: a session left running over a day gives
// segments Compute accepts, with the same seconds.
func TestTimelineCutsLongSegments(t *testing.T) {
	start := tm("2026-03-02 09:00")
	end := start.Add(2*billing.MaxSegment + 90*time.Minute + 1500*time.Millisecond)
	got := billing.Timeline([]billing.Event{{At: start, Kind: billing.EventConsentGranted, Detail: json.RawMessage(`{"level":"view"}`)}}, tina, end)
	var secs int64
	for i, s := range got {
		if s.End.Sub(s.Start) > billing.MaxSegment || (i > 0 && !s.Start.Equal(got[i-1].End)) {
			t.Errorf("segment %d: %v to %v", i, s.Start, s.End)
		}
		secs += s.Seconds()
	}
	if len(got) != 3 || secs != int64(end.Sub(start)/time.Second) {
		t.Errorf("%d segments of %d s in all, want 3 of %d", len(got), secs, int64(end.Sub(start)/time.Second))
	}
	in := covered(billing.Session{ID: 1, Segments: got})
	if _, err := billing.Compute(in); err != nil {
		t.Errorf("Compute refuses the pieces: %v", err)
	}
}

// TestTimelineBillsAHandOverAndADisconnect bills a history end to end:
// Tina 20 minutes, the agent away 10, Jan 30, no contract: 50 minutes
// worked, 60 billed.
func TestTimelineBillsAHandOverAndADisconnect(t *testing.T) {
	events := []billing.Event{
		granted("10:00", billing.LevelControl),
		ev("10:15", billing.EventLinkDown, nil), ev("10:25", billing.EventLinkUp, nil),
		ev("10:30", billing.EventHandover, map[string]any{"technicianId": jan.ID, "technician": jan.Name}),
		ev("11:00", billing.EventEnded, nil),
	}
	in := billing.Input{ReferencePerson: true, Settings: settings(),
		Sessions: []billing.Session{{ID: 5, Segments: billing.Timeline(events, tina, tm("2026-03-02 18:00"))}}}
	st, err := billing.Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range st.Lines {
		if l.Technician != nil {
			names = append(names, l.Technician.Name)
		}
	}
	if !slices.Equal(names, []string{tina.Name, jan.Name}) || st.Totals.WorkedMinutes != 50 ||
		st.Totals.BilledMinutes != 60 || st.Totals.AmountCents != 8000 {
		t.Errorf("lines by %v, totals %+v", names, st.Totals)
	}
}

func segmentsEqual(a, b []billing.Segment) bool {
	return slices.EqualFunc(a, b, func(x, y billing.Segment) bool {
		return x.Start.Equal(y.Start) && x.End.Equal(y.End) && x.Level == y.Level && x.Technician == y.Technician
	})
}

func describe(segs []billing.Segment) string {
	s := ""
	for _, g := range segs {
		s += g.Start.In(brussels).Format("15:04") + "-" + g.End.In(brussels).Format("15:04") + " " + string(g.Level) + " " + g.Technician.Name + "\n"
	}
	return s
}
