package console_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/store"
)

// quoteBody is a data intervention inside an otherwise covered session.
const quoteBody = `{"customer": "Garage Claes",
 "contract": {"startsOn": "2026-01-01", "statuses": [{"status": "active", "effectiveOn": "2026-01-01"}],
   "rates": [{"centsPerHour": 8500, "effectiveFrom": "2026-01-01"}]},
 "referencePerson": true, "categoryCovered": true,
 "sessions": [{"id": 21, "ticketRef": "T-2026-0201", "segments": [
   {"start": "2026-03-03T09:00:00+01:00", "end": "2026-03-03T09:25:00+01:00", "level": "control", "technician": {"id": 1, "name": "Tina"}},
   {"start": "2026-03-03T09:25:00+01:00", "end": "2026-03-03T09:45:00+01:00", "level": "data_intervention", "technician": {"id": 1, "name": "Tina"}}]}]}`

func TestQuote(t *testing.T) {
	e := newEnv(t)
	a := e.do(e.login(), "POST", "/api/v1/quote", quoteBody)
	if a.status != http.StatusOK {
		t.Fatalf("status %d %s", a.status, a.body)
	}
	var st billing.Statement
	a.decode(t, &st)
	if st.Totals.CoveredSeconds != 25*60 || st.Totals.BilledMinutes != 60 || st.Totals.AmountCents != 8500 || st.Totals.TotalCents != 10285 {
		t.Errorf("totals %+v", st.Totals)
	}
	// The same statement as relay quote gives: both are Compute of Decode.
	in, err := billing.Decode(strings.NewReader(quoteBody))
	if err != nil {
		t.Fatal(err)
	}
	want, err := billing.Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	if got := bytes.TrimSpace(a.body); !bytes.Equal(got, wantJSON) {
		t.Errorf("answer\n%s\nwant\n%s", got, wantJSON)
	}

	// Admins may quote too; the route is for all staff.
	if a := e.do(e.loginAs(store.RoleAdmin, "ada@example.com"), "POST", "/api/v1/quote", quoteBody); a.status != http.StatusOK {
		t.Errorf("admin: %d %s", a.status, a.body)
	}
}

func TestQuoteRefused(t *testing.T) {
	e := newEnv(t)
	c := e.login()
	cases := []struct {
		name   string
		cl     client
		body   string
		status int
		code   string
		field  string
	}{
		{"end before start", c, strings.Replace(quoteBody, "09:45:00", "09:15:00", 1), 400, "invalid", "sessions[0].segments[1].end"},
		{"overlap", c, strings.Replace(quoteBody, "T09:25:00+01:00\", \"end\": \"2026-03-03T09:45", "T09:20:00+01:00\", \"end\": \"2026-03-03T09:45", 1),
			400, "invalid", "sessions[0].segments[1].start"},
		{"bad level", c, strings.Replace(quoteBody, `"data_intervention"`, `"root"`, 1), 400, "invalid", "sessions[0].segments[1].level"},
		{"no rate on the day", c, strings.Replace(quoteBody, `"effectiveFrom": "2026-01-01"`, `"effectiveFrom": "2026-06-01"`, 1),
			400, "invalid", "contract.rates"},
		{"category left out", c, strings.Replace(quoteBody, `"categoryCovered": true,`, "", 1), 400, "invalid", "categoryCovered"},
		{"unknown field", c, strings.Replace(quoteBody, `"customer"`, `"client"`, 1), 400, "invalid", "client"},
		{"unknown segment field", c, strings.Replace(quoteBody, `"level": "control"`, `"level": "control", "lvl": 1`, 1), 400, "invalid", "sessions[0].segments[0].lvl"},
		{"not JSON", c, `{"sessions": [`, 400, "bad_json", ""},
		{"too large", c, `{"customer": "` + strings.Repeat("x", 64<<10) + `"}`, 413, "too_large", ""},
		{"no login", client{origin: e.srv.URL, csrf: c.csrf}, quoteBody, 401, "login_required", ""},
		{"no CSRF token", client{cookie: c.cookie, origin: c.origin}, quoteBody, 403, "bad_csrf", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(tc.cl, "POST", "/api/v1/quote", tc.body)
			if a.status != tc.status {
				t.Fatalf("status %d %s, want %d", a.status, a.body, tc.status)
			}
			if p := a.problem(t); p.Error != tc.code || p.Field != tc.field {
				t.Errorf("problem %+v, want %s on %q", p, tc.code, tc.field)
			}
		})
	}
}
