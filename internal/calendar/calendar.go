// Package calendar holds the help desk's support hours: weekly opening
// periods, public holidays and extra closures, in the desk's own time zone.
// A ticket created outside hours shows when it will be taken up
// (NextOpening), and starting a remote session outside hours needs an
// override: this package only answers the questions, callers decide.
package calendar

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/aa"
	"github.com/rickar/cal/v2/be"
)

// ErrInvalid is wrapped by every validation error, so an API handler can
// answer 400 without knowing each rule.
var ErrInvalid = errors.New("invalid calendar")

// FieldError is a validation error naming the entry at fault (for example
// "weekly[2]" or "timeZone"), so a form can point at it. It matches
// ErrInvalid with errors.Is.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// endOfDay is 24:00, allowed as the end of a period so a day can be open
// until midnight without a one-minute hole.
const endOfDay Clock = 24 * 60

// maxSearch bounds NextOpening: more than a year, so a long closure still
// finds the next opening, yet a calendar that never opens ends quickly.
const maxSearch = 400 * 24 * time.Hour

// Clock is a time of day in minutes after midnight (0..1440); marshals to/from
// JSON as "HH:MM" ("24:00" allowed as an end). It is wall-clock time in the
// desk's time zone, so 09:00 stays 09:00 across daylight-saving changes.
type Clock int

// String gives "HH:MM", the form admins type; out-of-range values are shown
// raw so a bad value is visible in error messages instead of disguised.
func (c Clock) String() string {
	if c < 0 || c > endOfDay {
		return fmt.Sprintf("Clock(%d)", int(c))
	}
	return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60)
}

// MarshalText refuses out-of-range values rather than writing something
// that would not read back.
func (c Clock) MarshalText() ([]byte, error) {
	if c < 0 || c > endOfDay {
		return nil, fmt.Errorf("%w: clock %d is outside 00:00..24:00", ErrInvalid, int(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText accepts exactly "HH:MM" so that "9:00" or "09:00:00" from a
// careless client is an error, not a guess.
func (c *Clock) UnmarshalText(b []byte) error {
	v, err := parseClock(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

func parseClock(s string) (Clock, error) {
	bad := fmt.Errorf("%w: clock %q is not HH:MM between 00:00 and 24:00", ErrInvalid, s)
	if len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	h, ok1 := digits(s[0:2])
	m, ok2 := digits(s[3:5])
	if !ok1 || !ok2 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, bad
	}
	return Clock(h*60 + m), nil
}

// digits parses a fixed-width run of ASCII digits; strconv.Atoi would also
// take signs, which have no place in a date or a clock.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, len(s) > 0
}

// Period is one opening period on one weekday: [From, To). The end is
// excluded so that 12:00 is already the lunch break in 09:00–12:00. Weekday
// is 0..6 (Sunday=0) in JSON, as time.Weekday counts.
type Period struct {
	Weekday time.Weekday `json:"weekday"`
	From    Clock        `json:"from"`
	To      Clock        `json:"to"`
}

// Closure is a range of whole days the desk is closed, both ends included.
// Dates are "YYYY-MM-DD" for a one-off closure or "MM-DD" for one that recurs
// every year (and may wrap the new year, like 12-24..01-01). Whole days keep
// it to what an admin plans: "closed for the staff party on 2026-06-12".
type Closure struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label,omitempty"`
}

// Calendar is the desk's support hours as an admin edits and stores them.
// It is plain data; every method derives what it needs from it, so a stored
// calendar can never be out of step with a cached form of it.
type Calendar struct {
	TimeZone string    `json:"timeZone"` // IANA name, e.g. Europe/Brussels
	Weekly   []Period  `json:"weekly"`
	Holidays string    `json:"holidays"` // "BE" for Belgian public holidays, "" for none
	Closures []Closure `json:"closures"`
}

// Default is the hours a new desk starts with: Belgian office hours with a
// lunch break, Belgian public holidays, and closed between Christmas and
// New Year. The closure has no label: the label is the admin's text, in
// the admin's language, and the console names the default one in the
// language of the admin who first sees it (until then nothing shows it).
func Default() Calendar {
	var weekly []Period
	for d := time.Monday; d <= time.Friday; d++ {
		weekly = append(weekly,
			Period{Weekday: d, From: 9 * 60, To: 12 * 60},
			Period{Weekday: d, From: 13*60 + 30, To: 18 * 60},
		)
	}
	return Calendar{
		TimeZone: "Europe/Brussels",
		Weekly:   weekly,
		Holidays: "BE",
		Closures: []Closure{{From: "12-24", To: "01-01"}},
	}
}

// Validate checks everything an admin can get wrong, stopping at the first
// problem so the message can name exactly one entry. The error wraps
// ErrInvalid and is a *FieldError.
func (c Calendar) Validate() error {
	_, err := c.compile()
	return err
}

// IsOpen reports whether the desk is open at t (any time zone). An invalid
// calendar is never open: failing closed only costs an override, while
// failing open would hide that the hours are broken.
func (c Calendar) IsOpen(t time.Time) bool {
	k, err := c.compile()
	if err != nil {
		return false
	}
	return k.openAt(t.In(k.loc))
}

// NextOpening returns t itself when the desk is open at t, otherwise the start
// of the next opening period (searching at most 400 days ahead; return zero
// time and false if none, e.g. no weekly periods). That start is in the desk's
// time zone so it can be shown as the desk's wall-clock time; an invalid
// calendar has no next opening.
func (c Calendar) NextOpening(t time.Time) (time.Time, bool) {
	k, err := c.compile()
	if err != nil {
		return time.Time{}, false
	}
	return k.nextOpening(t)
}

// ClosedDay tells why the desk is closed on t's date in the desk's time zone:
// "holiday" (with the holiday's name), "closure" (with the closure label), ""
// when it is an ordinary day (open or outside periods). A holiday wins over a
// closure covering the same day because its name says more ("Christmas Day"
// rather than the closure's label). A holiday on a weekend is still reported:
// the answer is about the date, not about whether it would have been open.
func (c Calendar) ClosedDay(t time.Time) (reason, name string) {
	k, err := c.compile()
	if err != nil {
		return "", ""
	}
	y, m, d := t.In(k.loc).Date()
	return k.closedDay(y, m, d)
}

// span is a compiled period in minutes after midnight, [from, to).
type span struct{ from, to int }

// closureRule is a compiled closure. Dates are numbers that compare like the
// calendar: yyyymmdd for one-off closures, mmdd for recurring ones.
type closureRule struct {
	recurring bool
	from, to  int
	label     string
}

func (r closureRule) covers(y int, m time.Month, d int) bool {
	if !r.recurring {
		k := y*10000 + int(m)*100 + d
		return r.from <= k && k <= r.to
	}
	k := int(m)*100 + d
	if r.from <= r.to {
		return r.from <= k && k <= r.to
	}
	return k >= r.from || k <= r.to // wraps the new year
}

// compiled is a Calendar turned into the form the questions need, built once
// per exported call so NextOpening's day-by-day walk does not redo it.
type compiled struct {
	loc      *time.Location
	week     [7][]span // sorted by from
	holidays *cal.Calendar
	closures []closureRule
}

func (c Calendar) compile() (*compiled, error) {
	k := &compiled{}
	loc, err := loadLocation(c.TimeZone)
	if err != nil {
		return nil, err
	}
	k.loc = loc

	for i, p := range c.Weekly {
		field := fmt.Sprintf("weekly[%d]", i)
		switch {
		case p.Weekday < time.Sunday || p.Weekday > time.Saturday:
			return nil, fieldErr(field, "weekday %d is not 0 (Sunday) to 6 (Saturday)", int(p.Weekday))
		case p.From < 0 || p.From > endOfDay:
			return nil, fieldErr(field, "from %s is outside 00:00..24:00", p.From)
		case p.To < 0 || p.To > endOfDay:
			return nil, fieldErr(field, "to %s is outside 00:00..24:00", p.To)
		case p.From >= p.To:
			return nil, fieldErr(field, "from %s is not before to %s", p.From, p.To)
		}
		for j, q := range c.Weekly[:i] {
			if q.Weekday == p.Weekday && p.From < q.To && q.From < p.To {
				return nil, fieldErr(field, "%s %s–%s overlaps weekly[%d] (%s–%s)",
					p.Weekday, p.From, p.To, j, q.From, q.To)
			}
		}
		k.week[p.Weekday] = append(k.week[p.Weekday], span{int(p.From), int(p.To)})
	}
	for d := range k.week {
		slices.SortFunc(k.week[d], func(a, b span) int { return a.from - b.from })
	}

	switch c.Holidays {
	case "":
	case "BE":
		k.holidays = &cal.Calendar{}
		k.holidays.AddHoliday(be.Holidays...)
	default:
		return nil, fieldErr("holidays", "%q is not a known set of public holidays (use \"BE\", or \"\" for none)", c.Holidays)
	}

	for i, cl := range c.Closures {
		field := fmt.Sprintf("closures[%d]", i)
		from, fromRecurring, ok := parseDay(cl.From)
		if !ok {
			return nil, fieldErr(field, "from %q is not a date YYYY-MM-DD or a yearly MM-DD", cl.From)
		}
		to, toRecurring, ok := parseDay(cl.To)
		if !ok {
			return nil, fieldErr(field, "to %q is not a date YYYY-MM-DD or a yearly MM-DD", cl.To)
		}
		if fromRecurring != toRecurring {
			return nil, fieldErr(field, "from %q and to %q mix a one-off date with a yearly MM-DD", cl.From, cl.To)
		}
		// A yearly range may run backwards: that is how it wraps the new year.
		if !fromRecurring && to < from {
			return nil, fieldErr(field, "to %s is before from %s", cl.To, cl.From)
		}
		k.closures = append(k.closures, closureRule{recurring: fromRecurring, from: from, to: to, label: cl.Label})
	}
	return k, nil
}

// parseDay reads "YYYY-MM-DD" (one-off) or "MM-DD" (recurring) and rejects
// days that do not exist, such as 2026-02-29 or 04-31. A recurring 02-29 is
// accepted: it simply does not occur in other years.
func parseDay(s string) (key int, recurring bool, ok bool) {
	y := 2000 // a leap year, so a recurring 02-29 is a real day
	switch {
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		if y, ok = digits(s[0:4]); !ok || y == 0 {
			return 0, false, false
		}
		s = s[5:]
	case len(s) == 5 && s[2] == '-':
		recurring = true
	default:
		return 0, false, false
	}
	m, ok1 := digits(s[0:2])
	d, ok2 := digits(s[3:5])
	if !ok1 || !ok2 || m < 1 || m > 12 || d < 1 {
		return 0, false, false
	}
	if _, mm, dd := time.Date(y, time.Month(m), d, 12, 0, 0, 0, time.UTC).Date(); int(mm) != m || dd != d {
		return 0, false, false
	}
	if recurring {
		return m*100 + d, true, true
	}
	return y*10000 + m*100 + d, false, true
}

// locations caches loaded time zones: time.LoadLocation reads the zone file
// on every call, and a ticket list asks for the next opening once per ticket.
// Only names that loaded are kept, so the cache is bounded by the tz database.
var locations sync.Map // string -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	// time.LoadLocation takes "" as UTC and "Local" as the server's zone;
	// neither is what an admin means, and both would silently change hours.
	if name == "" {
		return nil, fieldErr("timeZone", "is required (an IANA name such as Europe/Brussels)")
	}
	if name == "Local" {
		return nil, fieldErr("timeZone", "\"Local\" depends on the server; use an IANA name such as Europe/Brussels")
	}
	if v, ok := locations.Load(name); ok {
		return v.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fieldErr("timeZone", "unknown time zone %q", name)
	}
	locations.Store(name, loc)
	return loc, nil
}

// englishNames gives Belgian holidays rickar's English names: package be names
// them in Dutch, while the same days in package aa carry English ones. The
// national day has no counterpart there, so it is named here.
var englishNames = map[*cal.Holiday]string{
	be.Nieuwjaar:                aa.NewYear.Name,
	be.Paasmaandag:              aa.EasterMonday.Name,
	be.DagVanDeArbeid:           aa.WorkersDay.Name,
	be.OnzeLieveHeerHemelvaart:  aa.AscensionDay.Name,
	be.Pinkstermaandag:          aa.PentecostMonday.Name,
	be.NationaleFeestdag:        "Belgian National Day",
	be.OnzeLieveVrouwHemelvaart: aa.AssumptionOfMary.Name,
	be.Allerheiligen:            aa.AllSaintsDay.Name,
	be.Wapenstilstand:           aa.ArmisticeDay.Name,
	be.Kerstmis:                 aa.ChristmasDay.Name,
}

func holidayName(h *cal.Holiday) string {
	if n, ok := englishNames[h]; ok {
		return n
	}
	return h.Name // a holiday added by a newer rickar/cal: its own name beats none
}

// closedDay reports a holiday or closure on the local date y-m-d.
func (k *compiled) closedDay(y int, m time.Month, d int) (reason, name string) {
	if k.holidays != nil {
		// Noon UTC carries the date and nothing else: rickar compares dates only.
		act, obs, h := k.holidays.IsHoliday(time.Date(y, m, d, 12, 0, 0, 0, time.UTC))
		if (act || obs) && h != nil {
			return "holiday", holidayName(h)
		}
	}
	for _, r := range k.closures {
		if r.covers(y, m, d) {
			return "closure", r.label
		}
	}
	return "", ""
}

// openAt answers IsOpen for a time already in k.loc. Periods are checked
// before the date so that the common "evening, weekend" answer skips the
// holiday computation.
func (k *compiled) openAt(local time.Time) bool {
	m := local.Hour()*60 + local.Minute()
	for _, s := range k.week[local.Weekday()] {
		if s.from <= m && m < s.to {
			reason, _ := k.closedDay(local.Date())
			return reason == ""
		}
	}
	return false
}

// nextOpening walks forward through stretches of constant UTC offset. Within
// one, wall-clock time moves with real time, so the next period start on the
// current local day is a plain addition; the walk then jumps to the next local
// midnight or offset change, whichever comes first, and checks whether the
// desk is open right there. That way a daylight-saving jump that lands inside
// a period, or a fall-back hour that repeats one, is found exactly, without
// relying on how time.Date resolves wall times that do not exist or exist
// twice.
func (k *compiled) nextOpening(t time.Time) (time.Time, bool) {
	if k.openAt(t.In(k.loc)) {
		return t, true
	}
	limit := t.Add(maxSearch)
	s := t
	for s.Before(limit) {
		local := s.In(k.loc)
		_, zoneEnd := local.ZoneBounds() // zero when the offset never changes again
		sinceMidnight := time.Duration(local.Hour())*time.Hour +
			time.Duration(local.Minute())*time.Minute +
			time.Duration(local.Second())*time.Second +
			time.Duration(local.Nanosecond())

		if spans := k.week[local.Weekday()]; len(spans) > 0 {
			if reason, _ := k.closedDay(local.Date()); reason == "" {
				for _, sp := range spans {
					start := time.Duration(sp.from) * time.Minute
					if start <= sinceMidnight {
						continue // not open at s, so this period is over
					}
					if cand := s.Add(start - sinceMidnight); zoneEnd.IsZero() || cand.Before(zoneEnd) {
						if cand.After(limit) {
							return time.Time{}, false
						}
						return cand.In(k.loc), true
					}
					break // the offset changes first; look again from there
				}
			}
		}

		next := s.Add(24*time.Hour - sinceMidnight)
		if !zoneEnd.IsZero() && zoneEnd.Before(next) {
			next = zoneEnd
		}
		s = next
		if local := s.In(k.loc); k.openAt(local) {
			if s.After(limit) {
				return time.Time{}, false
			}
			return local, true
		}
	}
	return time.Time{}, false
}
