package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/billing"
)

const quoteRequest = `{"customer": "Bakkerij Peeters", "contract": null, "referencePerson": true,
 "sessions": [{"id": 11, "ticketRef": "T-2026-0101", "segments": [
   {"start": "2026-03-02T09:00:00+01:00", "end": "2026-03-02T09:07:00+01:00", "level": "control", "technician": {"id": 1, "name": "Tina"}}]}],
 "settings": {"defaultRates": [{"centsPerHour": 8500, "effectiveFrom": "2026-01-01"}]}}`

func TestQuote(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := runQuote(nil, strings.NewReader(quoteRequest), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "{\n  \"customer\"") {
		t.Errorf("not indented JSON: %.60q", out.String())
	}
	var st billing.Statement
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Totals.BilledMinutes != 60 || st.Totals.AmountCents != 8500 || st.Totals.VATCents != 1785 || len(st.Lines) != 2 {
		t.Errorf("statement %+v", st.Totals)
	}
}

func TestQuoteErrors(t *testing.T) {
	cases := []struct {
		name, args, stdin, want string
	}{
		{"end before start", "", strings.Replace(quoteRequest, "09:07:00", "08:07:00", 1), "quote: sessions[0].segments[0].end: "},
		{"unknown field", "", strings.Replace(quoteRequest, `"customer"`, `"klant"`, 1), "quote: klant: unknown field"},
		{"no rate", "", strings.Replace(quoteRequest, "2026-01-01", "2026-04-01", 1), "quote: settings.defaultRates: no hourly rate in force on 2026-03-02"},
		{"empty stdin", "", "", "quote: no JSON value"},
		// Issue 19 item 8: nested fields named exactly; contract required.
		{"nested unknown field", "", `{"referencePerson": true, "categoryCovered": true, "contract": {"startsOn": "2026-01-01", "rates": [{"centsPerHour": 8500, "effectiveFrom": "2026-01-01", "note": "x"}]}}`,
			"quote: contract.rates[0].note: unknown field"},
		{"fractional cents", "", `{"referencePerson": true, "contract": null, "settings": {"defaultRates": [{"centsPerHour": 85.5, "effectiveFrom": "2026-01-01"}]}}`,
			"quote: settings.defaultRates[0].centsPerHour: must be a whole number"},
		{"contract left out", "", `{"referencePerson": true, "sessions": []}`, "quote: contract: is required"},
		{"argument", "request.json", quoteRequest, "usage: relay quote < REQUEST.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runQuote(strings.Fields(c.args), strings.NewReader(c.stdin), &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q on failure", out.String())
			}
		})
	}
	var fe *billing.FieldError
	err := runQuote(nil, strings.NewReader(`{"referencePerson": 1}`), &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.As(err, &fe) || fe.Field != "referencePerson" {
		t.Errorf("type error %v, want one naming referencePerson", err)
	}
}

// TestQuoteSubcommand: run dispatches "quote" (stdin is the process's,
// empty under go test).
func TestQuoteSubcommand(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run([]string{"quote", "extra"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "usage: relay quote") {
		t.Errorf("run quote extra: %v", err)
	}
}
