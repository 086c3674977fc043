package billing_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/billing"
)

const minimalRequest = `{"referencePerson": true, "sessions": [{"id": 1, "segments": [
	{"start": "2026-03-02T09:00:00+01:00", "end": "2026-03-02T09:07:00+01:00", "level": "control", "technician": {"name": "Tina"}}]}],
	"settings": {"defaultRates": [{"centsPerHour": 8500, "effectiveFrom": "2026-01-01"}]}}`

func TestDecode(t *testing.T) {
	in, err := billing.Decode(strings.NewReader(minimalRequest))
	if err != nil {
		t.Fatal(err)
	}
	// Settings left out keep their defaults; the zone is loaded.
	s := in.Settings
	if s.IncrementMinutes != 15 || s.MinimumMinutes != 60 || s.VATPercent != 21 || s.Location == nil ||
		s.Location.String() != "Europe/Brussels" || len(s.DefaultRates) != 1 {
		t.Errorf("settings %+v", s)
	}
	st := compute(t, in)
	if st.Totals.AmountCents != 8500 {
		t.Errorf("amount %d, want 8500", st.Totals.AmountCents)
	}
}

func TestDecodeErrors(t *testing.T) {
	seg := func(start, end string) string {
		return `{"start": "` + start + `", "end": "` + end + `", "level": "control", "technician": {"name": "Tina"}}`
	}
	ok := seg("2026-03-02T09:00:00+01:00", "2026-03-02T09:07:00+01:00")
	req := func(sessions string) string {
		return `{"referencePerson": true, "sessions": [` + sessions + `], "settings": {"defaultRates": [{"centsPerHour": 8500, "effectiveFrom": "2026-01-01"}]}}`
	}
	cases := []struct {
		name, body, field, message string
	}{
		{"not JSON", `{"referencePerson": tru`, "", "not the expected JSON"},
		{"empty", ``, "", "no JSON value"},
		{"trailing data", req(`{"id": 1, "segments": [`+ok+`]}`) + ` {}`, "", "data after"},
		{"unknown top-level field", `{"referencePerson": true, "reference": true}`, "reference", "unknown field"},
		{"unknown segment field", req(`{"id": 1, "segments": [` + ok + `, {"begin": "x"}]}`), "sessions[0].segments[1].begin", "unknown field"},
		{"bad start", req(`{"id": 1, "segments": [` + seg("2026-03-02 09:00", "2026-03-02T09:07:00+01:00") + `]}`),
			"sessions[0].segments[0].start", "RFC 3339"},
		{"time without zone", req(`{"id": 1, "segments": [` + seg("2026-03-02T09:00:00", "2026-03-02T09:07:00+01:00") + `]}`),
			"sessions[0].segments[0].start", "RFC 3339"},
		{"missing end", req(`{"id": 1, "segments": [{"start": "2026-03-02T09:00:00+01:00", "level": "view", "technician": {"name": "T"}}]}`),
			"sessions[0].segments[0].end", "required"},
		{"end before start", req(`{"id": 1, "segments": [` + ok + `]}, {"id": 2, "segments": [` +
			seg("2026-03-02T10:00:00+01:00", "2026-03-02T09:00:00+01:00") + `]}`), "sessions[1].segments[0].end", "before start"},
		{"overlap", req(`{"id": 1, "segments": [` + ok + `, ` + seg("2026-03-02T09:05:00+01:00", "2026-03-02T09:20:00+01:00") + `]}`),
			"sessions[0].segments[1].start", "overlaps segments[0]"},
		{"wrong type", req(`{"id": "one", "segments": []}`), "sessions[0].id", "must be a JSON number"},
		{"wrong type in contract", `{"referencePerson": true, "categoryCovered": true, "contract": {"startsOn": "2026-01-01", "rates": [{"centsPerHour": "85"}]}}`,
			"contract.rates[0].centsPerHour", "number"},
		{"reference person left out", `{"sessions": []}`, "referencePerson", "required"},
		{"category left out with a contract", `{"referencePerson": true, "contract": {"startsOn": "2026-01-01"}}`, "categoryCovered", "required"},
		{"unknown time zone", `{"referencePerson": true, "settings": {"timeZone": "Europe/Gent"}}`, "settings.timeZone", "unknown time zone"},
		{"Local time zone", `{"referencePerson": true, "settings": {"timeZone": "Local"}}`, "settings.timeZone", "IANA"},
		{"negative surcharge", `{"referencePerson": true, "settings": {"outOfHoursSurchargePercent": -1}}`, "settings.outOfHoursSurchargePercent", "0 to"},
		{"earlier rules out of order", `{"referencePerson": true, "settings": {"earlierRules": [{"until": "2026-03-01T00:00:00+01:00", "incrementMinutes": 15}, {"until": "2026-02-01T00:00:00+01:00", "incrementMinutes": 15}]}}`,
			"settings.earlierRules[1].until", "oldest first"},
		{"earlier rules without until", `{"referencePerson": true, "settings": {"earlierRules": [{"incrementMinutes": 15}]}}`,
			"settings.earlierRules[0].until", "required"},
		{"earlier increment of 0", `{"referencePerson": true, "settings": {"earlierRules": [{"until": "2026-03-01T00:00:00+01:00"}]}}`,
			"settings.earlierRules[0].incrementMinutes", "1 to"},
		{"earlier merging needs tickets", `{"referencePerson": true, "sessions": [{"id": 1, "segments": [` + ok + `]}], "settings": {"earlierRules": [{"until": "2026-03-01T00:00:00+01:00", "incrementMinutes": 15, "mergeTicketDay": true}]}}`,
			"sessions[0].ticketId", "mergeTicketDay"},
		{"too large", `{"customer": "` + strings.Repeat("x", billing.MaxRequestBytes) + `"}`, "", "over 65536 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := billing.Decode(strings.NewReader(c.body))
			var fe *billing.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(err.Error(), c.message) {
				t.Fatalf("error %v, want field %q and %q", err, c.field, c.message)
			}
		})
	}
}

// TestDecodeNull: null settings and a null contract mean the defaults and
// no contract.
func TestDecodeNull(t *testing.T) {
	in, err := billing.Decode(strings.NewReader(`{"referencePerson": false, "contract": null, "settings": null, "sessions": null}`))
	if err != nil {
		t.Fatal(err)
	}
	if in.Contract != nil || in.Settings.IncrementMinutes != 15 || in.Settings.Location == nil {
		t.Errorf("input %+v", in)
	}
}
