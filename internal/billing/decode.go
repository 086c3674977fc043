package billing

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/wirejson"
)

// MaxRequestBytes bounds a quote request, on the API and the command line
// alike, so both accept the same requests.
const MaxRequestBytes = 64 << 10

// Limits keep every product of minutes, rate and surcharge inside an int64:
// MaxSessions × MaxSegments segments of MaxSegment are 1.44e9 minutes, and
// × MaxCentsPerHour × (100 + MaxSurchargePercent) × 2 (rounding) is 3.2e18,
// under 9.2e18. No amount can overflow, whatever a request holds.
const (
	MaxSessions         = 1000
	MaxSegments         = 1000 // per session
	MaxSegment          = 24 * time.Hour
	MaxCentsPerHour     = 1_000_000 // €10,000 an hour
	MaxSurchargePercent = 1000
	maxMinutesSetting   = 24 * 60
	maxText             = 200
)

// FieldError is a rejected input, naming the field at fault the way a JSON
// request spells it ("sessions[0].segments[1].end"), so a form or a
// command-line user can find it. Field is "" when the JSON itself is broken.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Err.Error()
	}
	return e.Field + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// within puts an error found inside a part of the request under that
// part's path.
func within(path string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		if fe.Field == "" {
			return &FieldError{Field: path, Err: fe.Err}
		}
		return &FieldError{Field: path + "." + fe.Field, Err: fe.Err}
	}
	return &FieldError{Field: path, Err: err}
}

// The request's JSON: times arrive as strings and sessions and segments as
// raw values, so each can be parsed on its own and an error can name its
// index, which encoding/json does not.
type (
	wireInput struct {
		Customer        string            `json:"customer"`
		Contract        json.RawMessage   `json:"contract"` // required; null for none
		ReferencePerson *bool             `json:"referencePerson"`
		CategoryCovered *bool             `json:"categoryCovered"`
		Sessions        []json.RawMessage `json:"sessions"`
		Settings        *Settings         `json:"settings"`
		Prepaid         *Prepaid          `json:"prepaid"` // prepaid.go
	}
	wireSession struct {
		ID           int64             `json:"id"`
		TicketID     int64             `json:"ticketId"`
		TicketRef    string            `json:"ticketRef"`
		OutsideHours bool              `json:"outsideHours"`
		Segments     []json.RawMessage `json:"segments"`
	}
	wireSegment struct {
		Start string `json:"start"`
		End   string `json:"end"`
		// Level is read as a word and checked with the segment, so an
		// unknown one is refused naming its field.
		Level      string     `json:"level"`
		Technician Technician `json:"technician"`
	}
)

// Decode reads one quote request (the JSON of Input; docs/billing.md) of
// at most MaxRequestBytes, refusing unknown fields so a typo is an error
// rather than a silent default. Settings left out keep their Defaults, and
// the time zone is loaded. Every error is a *FieldError.
func Decode(r io.Reader) (Input, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxRequestBytes+1))
	if err != nil {
		return Input{}, &FieldError{Err: fmt.Errorf("reading the request: %w", err)}
	}
	if len(body) > MaxRequestBytes {
		return Input{}, &FieldError{Err: fmt.Errorf("request over %d bytes", MaxRequestBytes)}
	}
	in := Input{Settings: Defaults()}
	w := wireInput{Settings: &in.Settings}
	if err := strict(body, &w); err != nil {
		return Input{}, err
	}
	// Without these a quote would silently assume "no": say so instead.
	if w.ReferencePerson == nil {
		return Input{}, fieldErr("referencePerson", "is required: true when the contact who asked is a reference person")
	}
	in.ReferencePerson = *w.ReferencePerson
	// Left out, a contract would silently mean "none" and misquote a
	// customer who has one: null says so on purpose.
	if len(w.Contract) == 0 {
		return Input{}, fieldErr("contract", "is required: the customer's contract, or null when there is none")
	}
	if string(w.Contract) != "null" {
		in.Contract = new(Contract)
		if err := strict(w.Contract, in.Contract); err != nil {
			return Input{}, within("contract", err)
		}
	}
	if in.Contract != nil {
		if w.CategoryCovered == nil {
			return Input{}, fieldErr("categoryCovered", "is required with a contract: true when it covers the ticket's category")
		}
		in.CategoryCovered = *w.CategoryCovered
	}
	in.Customer, in.Prepaid = w.Customer, w.Prepaid
	if len(w.Sessions) > MaxSessions {
		return Input{}, fieldErr("sessions", "more than %d sessions", MaxSessions)
	}
	for i, raw := range w.Sessions {
		se, err := decodeSession(raw)
		if err != nil {
			return Input{}, within(fmt.Sprintf("sessions[%d]", i), err)
		}
		in.Sessions = append(in.Sessions, se)
	}
	if in.Settings.Location, err = loadLocation(in.Settings.TimeZone); err != nil {
		return Input{}, within("settings.timeZone", err)
	}
	return in, Validate(in)
}

func decodeSession(raw []byte) (Session, error) {
	var w wireSession
	if err := strict(raw, &w); err != nil {
		return Session{}, err
	}
	if len(w.Segments) > MaxSegments {
		return Session{}, fieldErr("segments", "more than %d segments", MaxSegments)
	}
	se := Session{ID: w.ID, TicketID: w.TicketID, TicketRef: w.TicketRef, OutsideHours: w.OutsideHours, Segments: []Segment{}}
	for j, raw := range w.Segments {
		var ws wireSegment
		if err := strict(raw, &ws); err != nil {
			return Session{}, within(fmt.Sprintf("segments[%d]", j), err)
		}
		seg := Segment{Level: Level(ws.Level), Technician: ws.Technician}
		var err error
		if seg.Start, err = parseTime("start", ws.Start); err != nil {
			return Session{}, within(fmt.Sprintf("segments[%d]", j), err)
		}
		if seg.End, err = parseTime("end", ws.End); err != nil {
			return Session{}, within(fmt.Sprintf("segments[%d]", j), err)
		}
		se.Segments = append(se.Segments, seg)
	}
	return se, nil
}

// parseTime reads an RFC 3339 time: with its offset, since the relay's
// clock is absolute and a date without a zone would shift a session's day.
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fieldErr(field, "is required")
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fieldErr(field, "%q is not an RFC 3339 time such as 2026-03-02T09:00:00+01:00", v)
	}
	return t, nil
}

// strict decodes one JSON value exactly (internal/wirejson: keys match
// case-sensitively and once, unknown keys and trailing data are refused) and
// turns its errors into FieldErrors naming the field as the request spells
// it, nested ones included ("contract.rates[0].centsPerHour").
func strict(raw []byte, v any) error {
	err := wirejson.Unmarshal(raw, v)
	var we *wirejson.Error
	switch {
	case errors.As(err, &we) && we.Syntax:
		// Not JSON: no field is at fault, but say where it broke.
		return &FieldError{Err: errors.New(we.Error())}
	case errors.As(err, &we):
		return &FieldError{Field: we.Path, Err: errors.New(we.Reason)}
	}
	if err != nil {
		return &FieldError{Err: err}
	}
	return nil
}

// loadLocation refuses "" and "Local" like internal/calendar: the first is
// UTC and the second the server's zone, neither what a desk means.
func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%q: give an IANA name such as Europe/Brussels", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

// Validate checks what Compute needs, naming the first field at fault.
// Segments may come in any order; within a session they may touch but not
// overlap, since the same time cannot be worked twice in one session.
func Validate(in Input) error {
	if err := validateSettings(in.Settings); err != nil {
		return within("settings", err)
	}
	if utf8.RuneCountInString(in.Customer) > maxText {
		return fieldErr("customer", "is longer than %d characters", maxText)
	}
	if c := in.Contract; c != nil {
		if err := validateContract(*c); err != nil {
			return within("contract", err)
		}
	}
	if p := in.Prepaid; p != nil {
		if err := ValidatePrepaid(*p); err != nil {
			return within("prepaid", err)
		}
	}
	if len(in.Sessions) > MaxSessions {
		return fieldErr("sessions", "more than %d sessions", MaxSessions)
	}
	seen := map[int64]bool{}
	for i, se := range in.Sessions {
		path := fmt.Sprintf("sessions[%d]", i)
		if se.ID <= 0 {
			return fieldErr(path+".id", "must be a positive number")
		}
		if seen[se.ID] {
			return fieldErr(path+".id", "session %d appears twice", se.ID)
		}
		seen[se.ID] = true
		if err := validateSession(se, in.Settings.mergesEver()); err != nil {
			return within(path, err)
		}
	}
	return nil
}

func validateSettings(s Settings) error {
	if s.Location == nil {
		return fieldErr("timeZone", "%q is not loaded: set Settings.Location, or read the request with Decode", s.TimeZone)
	}
	if err := ValidateRules(s); err != nil {
		return err
	}
	for i, r := range s.EarlierRules {
		path := fmt.Sprintf("earlierRules[%d]", i)
		if r.Until.IsZero() {
			return fieldErr(path+".until", "is required")
		}
		if i > 0 && !r.Until.After(s.EarlierRules[i-1].Until) {
			return fieldErr(path+".until", "must be after the until of earlierRules[%d]: oldest first", i-1)
		}
		if err := ValidateRules(r.over(s)); err != nil {
			return within(path, err)
		}
	}
	return validateRates("defaultRates", s.DefaultRates)
}

// ValidateRules checks the rules an admin sets for the desk (increment,
// minimum, surcharge, VAT), with a *FieldError naming the one at fault.
func ValidateRules(s Settings) error {
	switch {
	case s.IncrementMinutes < 1 || s.IncrementMinutes > maxMinutesSetting:
		return fieldErr("incrementMinutes", "must be 1 to %d", maxMinutesSetting)
	case s.MinimumMinutes < 0 || s.MinimumMinutes > maxMinutesSetting:
		return fieldErr("minimumMinutes", "must be 0 to %d", maxMinutesSetting)
	case s.OutOfHoursSurchargePercent < 0 || s.OutOfHoursSurchargePercent > MaxSurchargePercent:
		return fieldErr("outOfHoursSurchargePercent", "must be 0 to %d", MaxSurchargePercent)
	case s.VATPercent < 0 || s.VATPercent > 100:
		return fieldErr("vatPercent", "must be 0 to 100")
	}
	return nil
}

func validateRates(field string, rates []Rate) error {
	for i, r := range rates {
		path := fmt.Sprintf("%s[%d]", field, i)
		if r.CentsPerHour < 0 || r.CentsPerHour > MaxCentsPerHour {
			return fieldErr(path+".centsPerHour", "must be 0 to %d", MaxCentsPerHour)
		}
		if !isDate(r.EffectiveFrom) {
			return fieldErr(path+".effectiveFrom", "must be a date as YYYY-MM-DD")
		}
	}
	return nil
}

func validateContract(c Contract) error {
	if !isDate(c.StartsOn) {
		return fieldErr("startsOn", "must be a date as YYYY-MM-DD")
	}
	if c.EndsOn != "" && !isDate(c.EndsOn) {
		return fieldErr("endsOn", "must be a date as YYYY-MM-DD, or left out")
	}
	if c.EndsOn != "" && c.EndsOn < c.StartsOn {
		return fieldErr("endsOn", "%s is before startsOn %s", c.EndsOn, c.StartsOn)
	}
	for i, st := range c.Statuses {
		path := fmt.Sprintf("statuses[%d]", i)
		if !helpdesk.OneOf(st.Status, helpdesk.ContractSts) {
			return fieldErr(path+".status", "must be one of %s", strings.Join(helpdesk.ContractSts, ", "))
		}
		if !isDate(st.EffectiveOn) {
			return fieldErr(path+".effectiveOn", "must be a date as YYYY-MM-DD")
		}
	}
	return validateRates("rates", c.Rates)
}

func validateSession(se Session, merge bool) error {
	if se.TicketID < 0 {
		return fieldErr("ticketId", "must be a positive number, or left out")
	}
	if utf8.RuneCountInString(se.TicketRef) > maxText {
		return fieldErr("ticketRef", "is longer than %d characters", maxText)
	}
	if merge && se.TicketID == 0 && se.TicketRef == "" {
		return fieldErr("ticketId", "is required with mergeTicketDay (or ticketRef): sessions merge per ticket")
	}
	if len(se.Segments) > MaxSegments {
		return fieldErr("segments", "more than %d segments", MaxSegments)
	}
	for j, seg := range se.Segments {
		if err := validateSegment(seg); err != nil {
			return within(fmt.Sprintf("segments[%d]", j), err)
		}
	}
	// Sort indexes, not segments, so an overlap is reported at the index
	// the caller sent.
	order := make([]int, len(se.Segments))
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int { return se.Segments[a].Start.Compare(se.Segments[b].Start) })
	for k := 1; k < len(order); k++ {
		prev, cur := se.Segments[order[k-1]], se.Segments[order[k]]
		if cur.Start.Before(prev.End) {
			return fieldErr(fmt.Sprintf("segments[%d].start", order[k]), "%s overlaps segments[%d], which ends at %s",
				cur.Start.Format(time.RFC3339), order[k-1], prev.End.Format(time.RFC3339))
		}
	}
	return nil
}

func validateSegment(seg Segment) error {
	switch {
	case seg.Start.IsZero():
		return fieldErr("start", "is required")
	case seg.End.IsZero():
		return fieldErr("end", "is required")
	case seg.End.Before(seg.Start):
		return fieldErr("end", "%s is before start %s", seg.End.Format(time.RFC3339), seg.Start.Format(time.RFC3339))
	case seg.End.Sub(seg.Start) > MaxSegment:
		return fieldErr("end", "the segment lasts over %v; a segment ends at every hand-over or disconnect", MaxSegment)
	case !slices.Contains(Levels, seg.Level):
		return fieldErr("level", "must be one of view, control, data_intervention")
	case seg.Technician.ID < 0:
		return fieldErr("technician.id", "must be a positive number, or left out")
	case strings.TrimSpace(seg.Technician.Name) == "":
		return fieldErr("technician.name", "is required")
	case utf8.RuneCountInString(seg.Technician.Name) > maxText:
		return fieldErr("technician.name", "is longer than %d characters", maxText)
	}
	return nil
}

func isDate(v string) bool {
	_, err := time.Parse(time.DateOnly, v)
	return err == nil
}
