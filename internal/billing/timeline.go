package billing

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event is one entry of a session's history as the timeline reads it: a
// session_events row (store.Event) with the relay's time.
type Event struct {
	At     time.Time
	Kind   string
	Detail json.RawMessage
}

// The event kinds the timeline reads, the words of store.Event* (a store
// test keeps them equal). Every other kind is passed over.
const (
	// EventConsentGranted {"level"} raises the session to its level.
	EventConsentGranted = "consent_granted"
	// EventConsentRevoked {"level": new, "from": old} lowers it; a word
	// that is not a level (the customer stopped sharing) stops the clock.
	EventConsentRevoked = "consent_revoked"
	// EventHandover {"technicianId", "technician"}: the time from here on
	// is the new technician's.
	EventHandover = "handover"
	// EventLinkDown and EventLinkUp bracket time the agent was
	// unreachable, which is not worked.
	EventLinkDown = "link_down"
	EventLinkUp   = "link_up"
	// EventEnded ends the worked time.
	EventEnded = "ended"
)

// rank orders the levels; 0 is no consent at all.
func rank(l Level) int { return max(l.Rank(), 0) }

// Timeline turns a session's history (in the order it was recorded) into
// its worked segments. The clock runs from the customer's first consent
// until the `ended` event, or until end when there is none: the caller
// decides where a session without one stops (now for a live session, its
// last event for one that was cut off). It is split at every change of
// level, at every hand-over (tech is the session's own technician, who
// works until the first one), and it stops from link_down to link_up.
//
// The relay's clock is monotonic within a run only: an event recorded
// before its predecessor (the clock set back between runs) counts as
// happening at the same moment, so no segment runs backwards. Segments
// longer than MaxSegment are cut in pieces Compute accepts; the seconds
// stay the same.
func Timeline(events []Event, tech Technician, end time.Time) []Segment {
	var (
		out   []Segment
		level Level // "" before any consent and after a full revocation
		down  bool
		from  time.Time // start of the stretch now running, if it counts
		last  time.Time
	)
	// cut closes the stretch running until at, if it counts.
	cut := func(at time.Time) {
		if level != "" && !down && at.After(from) {
			out = appendSegment(out, Segment{Start: from, End: at, Level: level, Technician: tech})
		}
		from = at
	}
	for _, e := range events {
		at := e.At
		if at.After(end) {
			break
		}
		if at.Before(last) {
			at = last
		}
		last = at
		switch e.Kind {
		case EventConsentGranted:
			if l := detailLevel(e.Detail); rank(l) > rank(level) {
				cut(at)
				level = l
			}
		case EventConsentRevoked:
			l := detailLevel(e.Detail)
			if rank(l) == 0 {
				l = ""
			}
			if l != level {
				cut(at)
				level = l
			}
		case EventHandover:
			if next, ok := handoverTo(e.Detail); ok && next != tech {
				cut(at)
				tech = next
			}
		case EventLinkDown:
			if !down {
				cut(at)
				down = true
			}
		case EventLinkUp:
			if down {
				cut(at)
				down = false
			}
		case EventEnded:
			cut(at)
			return out
		}
	}
	cut(end)
	return out
}

// appendSegment appends seg cut into pieces of at most MaxSegment. Pieces
// of exactly MaxSegment have whole seconds, so the total is unchanged.
func appendSegment(out []Segment, seg Segment) []Segment {
	for seg.End.Sub(seg.Start) > MaxSegment {
		piece := seg
		piece.End = seg.Start.Add(MaxSegment)
		out = append(out, piece)
		seg.Start = piece.End
	}
	return append(out, seg)
}

func detailLevel(detail json.RawMessage) Level {
	var d struct {
		Level Level `json:"level"`
	}
	_ = json.Unmarshal(detail, &d) // a broken detail is no level
	return d.Level
}

// handoverTo reads who took over. A hand-over without a technician id is
// not one: the time stays with whoever had it rather than go to nobody.
func handoverTo(detail json.RawMessage) (Technician, bool) {
	var d struct {
		ID   int64  `json:"technicianId"`
		Name string `json:"technician"`
	}
	if err := json.Unmarshal(detail, &d); err != nil || d.ID <= 0 {
		return Technician{}, false
	}
	if d.Name == "" {
		// A bill names who worked; an id is better than a refusal.
		d.Name = fmt.Sprintf("#%d", d.ID)
	}
	return Technician{ID: d.ID, Name: d.Name}, true
}
