package console_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/store"
)

// step is an event some time after the previous one; store.EventEnded
// ends the session.
type step struct {
	after  time.Duration
	kind   string
	detail any
}

func after(d time.Duration, kind string, detail any) step { return step{d, kind, detail} }

var toControl = map[string]string{"level": "control"}

// hold runs a session on the ticket through the store, on the test clock:
// created now, the agent joins and the customer allows viewing a minute
// later, then the steps follow. It returns the session's id.
func (e *env) hold(ticketID int64, steps ...step) int64 {
	e.t.Helper()
	ctx := context.Background()
	hash := []byte(fmt.Sprintf("code of %d at %d", ticketID, e.clk.ms.Load()))
	sess, err := e.st.CreateSession(ctx, store.NewSession{TicketID: ticketID, TechnicianID: e.user.ID, CodeHash: hash,
		CodeExpires: e.clk.now().Add(codeTTL)})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.RedeemCode(ctx, hash, "agent", nil); err != nil {
		e.t.Fatal(err)
	}
	e.clk.advance(time.Minute)
	if err := e.st.Transition(ctx, sess.ID, []string{store.StatusJoined}, store.StatusLive, store.EventConsentGranted, "customer",
		map[string]string{"level": "view", "text": "Tina vraagt om uw scherm te bekijken.", "lang": "nl"}); err != nil {
		e.t.Fatal(err)
	}
	for _, s := range steps {
		e.clk.advance(s.after)
		if s.kind == store.EventEnded {
			if _, err := e.st.End(ctx, sess.ID, "technician", "technician", ""); err != nil {
				e.t.Fatal(err)
			}
			continue
		}
		if err := e.st.AddEvent(ctx, sess.ID, s.kind, "customer", s.detail); err != nil {
			e.t.Fatal(err)
		}
	}
	return sess.ID
}

// billed is a desk with two sessions on 2 March 2026: the trainee's (35
// minutes, billable, one hour at €85) and the reference person's (20
// minutes, covered).
type billed struct {
	desk
	admin, tech          client
	billable, covered    int64 // session ids
	billableTk, coveredT ticketDetail
}

func (e *env) billed() billed {
	e.t.Helper()
	b := billed{admin: e.loginAs(store.RoleAdmin, "admin@desk.example"), tech: e.login()}
	b.desk = e.desk(b.admin)
	e.call(b.tech, "POST", "/api/v1/tickets", map[string]any{"title": "Kassa", "customerId": b.customer, "contactId": b.plain}, 201, &b.billableTk)
	e.call(b.tech, "POST", "/api/v1/tickets", map[string]any{"title": "Vraag", "customerId": b.customer, "contactId": b.reference}, 201, &b.coveredT)
	b.billable = e.hold(b.billableTk.ID, after(10*time.Minute, store.EventConsentGranted, toControl), after(25*time.Minute, store.EventEnded, nil))
	e.clk.advance(time.Hour)
	b.covered = e.hold(b.coveredT.ID, after(20*time.Minute, store.EventEnded, nil))
	return b
}

type line struct {
	Intervention  int
	Kind          string
	TicketRef     string
	SessionIDs    []int64
	Technician    *struct{ Name string }
	Level         string
	Covered       bool
	Reasons       []string
	WorkedMinutes int64
	BilledMinutes int64
	CentsPerHour  int64
	AmountCents   int64
}

type statement struct {
	Customer struct {
		ID        int64
		Name      string
		VATNumber string
	}
	Month  string
	Lines  []line
	Totals struct {
		WorkedMinutes, BilledMinutes, CoveredSeconds, AmountCents, VATPercent, VATCents, TotalCents int64
	}
}

func TestStatement(t *testing.T) {
	e := newEnv(t)
	b := e.billed()
	var st statement
	e.call(b.admin, "GET", fmt.Sprintf("/api/v1/billing/statement?customer=%d&month=2026-03", b.customer), nil, 200, &st)
	if st.Customer.ID != b.customer || st.Customer.Name != "Frituur Marcel" || st.Customer.VATNumber != "BE0403170701" || st.Month != "2026-03" {
		t.Errorf("statement of %+v for %q", st.Customer, st.Month)
	}
	// 35 minutes billable (not a reference person): one hour at €85; 20
	// minutes covered.
	tot := st.Totals
	if tot.WorkedMinutes != 55 || tot.CoveredSeconds != 1200 || tot.BilledMinutes != 60 || tot.AmountCents != 8500 ||
		tot.VATPercent != 21 || tot.VATCents != 1785 || tot.TotalCents != 10285 {
		t.Errorf("totals %+v", tot)
	}
	var got []string
	for _, l := range st.Lines {
		got = append(got, fmt.Sprintf("%d %s %s %v %s covered=%v %v %d/%d %d", l.Intervention, l.Kind, l.TicketRef, l.SessionIDs,
			l.Level, l.Covered, l.Reasons, l.WorkedMinutes, l.BilledMinutes, l.AmountCents))
	}
	ref1, ref2 := b.billableTk.Reference, b.coveredT.Reference
	want := []string{
		fmt.Sprintf("1 work %s [%d] view covered=false [not_reference_person] 10/10 1417", ref1, b.billable),
		fmt.Sprintf("1 work %s [%d] control covered=false [not_reference_person] 25/25 3541", ref1, b.billable),
		fmt.Sprintf("1 adjustment %s [%d]  covered=false [not_reference_person] 0/25 3542", ref1, b.billable),
		fmt.Sprintf("2 work %s [%d] view covered=true [] 20/0 0", ref2, b.covered),
	}
	if !slices.Equal(got, want) {
		t.Errorf("lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if l := st.Lines[0]; l.Technician == nil || l.Technician.Name != "Tina Peeters" || l.CentsPerHour != 8500 {
		t.Errorf("first line %+v", l)
	}

	// Another month is empty; the month is the desk's (Brussels) month.
	var feb statement
	e.call(b.admin, "GET", fmt.Sprintf("/api/v1/billing/statement?customer=%d&month=2026-02", b.customer), nil, 200, &feb)
	if len(feb.Lines) != 0 || feb.Totals.TotalCents != 0 {
		t.Errorf("February %+v", feb)
	}

	for _, tc := range []struct {
		name, query string
		status      int
		field       string
	}{
		{"no customer", "month=2026-03", 400, "customer"},
		{"bad customer", "customer=x&month=2026-03", 400, "customer"},
		{"unknown customer", "customer=999&month=2026-03", 404, ""},
		{"no month", fmt.Sprintf("customer=%d", b.customer), 400, "month"},
		{"bad month", fmt.Sprintf("customer=%d&month=2026-13", b.customer), 400, "month"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(b.admin, "GET", "/api/v1/billing/statement?"+tc.query, "")
			if p := a.problem(t); a.status != tc.status || p.Field != tc.field {
				t.Errorf("%d %+v, want %d on %q", a.status, p, tc.status, tc.field)
			}
		})
	}
}

// TestStatementWithoutARate: billable work on a day without an hourly rate
// cannot be billed; the admin is told which and why.
func TestStatementWithoutARate(t *testing.T) {
	e := newEnv(t)
	admin, tech := e.loginAs(store.RoleAdmin, "admin@desk.example"), e.login()
	tk := e.createTicket(tech, "Printer", "Zonder Contract")
	e.hold(tk.ID, after(30*time.Minute, store.EventEnded, nil))
	a := e.do(admin, "GET", fmt.Sprintf("/api/v1/billing/statement?customer=%d&month=2026-03", e.customerID("Zonder Contract")), "")
	if p := a.problem(t); a.status != http.StatusConflict || p.Error != "cannot_bill" || !strings.Contains(p.Message, "no hourly rate") {
		t.Errorf("%d %+v", a.status, p)
	}
}

// export fetches the CSV and reads it back the way a spreadsheet would:
// a byte order mark, then semicolon-separated records.
func (e *env) export(c client, query string) (answer, [][]string) {
	e.t.Helper()
	a := e.do(c, "GET", "/api/v1/billing/export.csv?"+query, "")
	if a.status != http.StatusOK {
		e.t.Fatalf("export: %d %s", a.status, a.body)
	}
	body, ok := bytes.CutPrefix(a.body, []byte("\xef\xbb\xbf"))
	if !ok {
		e.t.Fatalf("export does not start with a UTF-8 byte order mark: %q", a.body[:min(len(a.body), 8)])
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		e.t.Fatalf("export is not semicolon CSV: %v\n%s", err, body)
	}
	return a, rows
}

func TestExportCSV(t *testing.T) {
	e := newEnv(t)
	admin, tech := e.loginAs(store.RoleAdmin, "admin@desk.example"), e.login()
	e.call(admin, "POST", "/api/v1/rates/default", map[string]any{"centsPerHour": 8550, "effectiveFrom": "2026-01-01"}, 200, nil)
	var brasserie, bakkerij, formula struct{ ID int64 }
	e.call(admin, "POST", "/api/v1/customers", map[string]string{"name": "Brasserie Élodie", "vatNumber": "BE0403170701"}, 201, &brasserie)
	e.call(admin, "POST", "/api/v1/customers", map[string]string{"name": "Bakkerij Peeters; Zonen \"De Gouden Korst\""}, 201, &bakkerij)
	e.call(admin, "POST", "/api/v1/customers", map[string]string{"name": "=HYPERLINK(\"http://evil.example\")"}, 201, &formula)
	for _, cu := range []int64{brasserie.ID, bakkerij.ID, formula.ID} {
		var tk ticketDetail
		e.call(tech, "POST", "/api/v1/tickets", map[string]any{"title": "Kassa", "customerId": cu}, 201, &tk)
		e.hold(tk.ID, after(61*time.Minute, store.EventEnded, nil))
	}

	a, rows := e.export(admin, "from=2026-03-01&to=2026-03-31")
	if ct := a.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := a.header.Get("Content-Disposition"); cd != `attachment; filename="meekijk-billing-2026-03-01-2026-03-31.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if !bytes.Contains(a.body, []byte("\r\n")) {
		t.Error("records do not end with CRLF")
	}
	header := []string{"Datum", "Klant", "Btw-nummer", "Ticket", "Sessie", "Technicus", "Niveau", "Begin", "Einde", "Gewerkt (min)",
		"Aangerekend (min)", "Prepaid (min)", "Gedekt of aanrekenbaar", "Redenen", "Uurtarief (€)", "Toeslag (%)", "Bedrag excl. btw (€)"}
	if !slices.Equal(rows[0], header) {
		t.Errorf("header %q", rows[0])
	}
	// Per customer (by name): a work line of 61 minutes and the rounding to
	// 75, at €85.50: 61 × 8550 / 60 = 8692.5 → 8693, and 14 more minutes
	// make 10687.5 → 10688 in all.
	if len(rows) != 7 {
		t.Fatalf("%d rows, want a header and 2 per customer:\n%q", len(rows), rows)
	}
	names := []string{rows[1][1], rows[3][1], rows[5][1]}
	wantNames := []string{"'=HYPERLINK(\"http://evil.example\")", "Bakkerij Peeters; Zonen \"De Gouden Korst\"", "Brasserie Élodie"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("customers %q, want %q", names, wantNames)
	}
	work, adj := rows[5], rows[6]
	wantWork := []string{"2026-03-02", "Brasserie Élodie", "BE0403170701", work[3], work[4], "Tina Peeters", "Meekijken",
		"2026-03-02 10:01", "2026-03-02 11:02", "61", "61", "0", "Aanrekenbaar",
		"geen actief onderhoudscontract, de aanvrager is geen aangeduide referentiepersoon", "85,50", "0", "86,93"}
	if !slices.Equal(work, wantWork) || !strings.HasPrefix(work[3], "2026-") || work[4] == "" {
		t.Errorf("work line\n%q\nwant\n%q", work, wantWork)
	}
	if adj[6] != "Afronding en minimum" || adj[9] != "0" || adj[10] != "14" || adj[16] != "19,95" || adj[5] != "" {
		t.Errorf("adjustment line %q", adj)
	}

	// The page's language, when it says so.
	_, fr := e.export(admin, "from=2026-03-01&to=2026-03-31&lang=fr")
	if fr[0][0] != "Date" || fr[0][1] != "Client" || fr[5][12] != "Facturable" {
		t.Errorf("French export %q / %q", fr[0], fr[5])
	}
	// A period without sessions: the header only.
	if _, none := e.export(admin, "from=2026-04-01&to=2026-04-30"); len(none) != 1 {
		t.Errorf("April: %d rows", len(none))
	}

	for _, tc := range []struct{ query, field string }{
		{"to=2026-03-31", "from"},
		{"from=2026-03-01", "to"},
		{"from=2026-03-31&to=2026-03-01", "to"},
		{"from=2025-01-01&to=2026-03-01", "to"},
		{"from=2026-02-30&to=2026-03-01", "from"},
	} {
		a := e.do(admin, "GET", "/api/v1/billing/export.csv?"+tc.query, "")
		if p := a.problem(t); a.status != 400 || p.Field != tc.field {
			t.Errorf("%s: %d %+v, want 400 on %s", tc.query, a.status, p, tc.field)
		}
	}
}

func TestChartSVG(t *testing.T) {
	e := newEnv(t)
	admin, tech := e.loginAs(store.RoleAdmin, "admin@desk.example"), e.login()
	e.call(admin, "POST", "/api/v1/rates/default", map[string]any{"centsPerHour": 8000, "effectiveFrom": "2026-01-01"}, 200, nil)
	name := `Brasserie "Élodie" <script>alert(1)</script> & Zonen`
	var cu struct{ ID int64 }
	e.call(admin, "POST", "/api/v1/customers", map[string]string{"name": name}, 201, &cu)
	var tk ticketDetail
	e.call(tech, "POST", "/api/v1/tickets", map[string]any{"title": "Kassa", "customerId": cu.ID}, 201, &tk)
	e.hold(tk.ID, after(30*time.Minute, store.EventEnded, nil))

	a := e.do(admin, "GET", fmt.Sprintf("/api/v1/billing/chart.svg?customer=%d&from=2025-04&to=2026-03", cu.ID), "")
	if a.status != 200 || a.header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("%d %q %s", a.status, a.header.Get("Content-Type"), a.body)
	}
	// Parse it as XML: it must be well-formed, an <svg> in the SVG
	// namespace, with nothing that runs and the name only as text.
	dec := xml.NewDecoder(bytes.NewReader(a.body))
	var texts []string
	var root string
	rects := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, a.body)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tk.Name.Space + " " + tk.Name.Local
			}
			if l := strings.ToLower(tk.Name.Local); l == "script" || l == "foreignobject" || l == "a" || l == "style" {
				t.Errorf("element <%s> in the chart", tk.Name.Local)
			}
			for _, at := range tk.Attr {
				if strings.HasPrefix(strings.ToLower(at.Name.Local), "on") || strings.Contains(at.Value, "javascript:") {
					t.Errorf("attribute %s=%q", at.Name.Local, at.Value)
				}
			}
			if tk.Name.Local == "rect" {
				rects++
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(tk)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Errorf("root element %q", root)
	}
	title := name + ": aanrekenbare en gedekte uren per maand"
	if texts[0] != title || !slices.Contains(texts, "2025-04") || !slices.Contains(texts, "2026-03") || !slices.Contains(texts, "1,0") {
		t.Errorf("texts %q", texts)
	}
	// A background, two legend squares and two bars for each of 12 months.
	if rects != 3+2*12 {
		t.Errorf("%d rects, want %d", rects, 3+2*12)
	}
	if bytes.Contains(a.body, []byte("<script")) {
		t.Error("the customer's name is in the chart unescaped")
	}

	for _, tc := range []struct {
		query string
		code  int
		field string
	}{
		{"from=2026-01&to=2026-03", 400, "customer"},
		{fmt.Sprintf("customer=%d&from=2026-03&to=2026-01", cu.ID), 400, "to"},
		{fmt.Sprintf("customer=%d&from=2023-01&to=2026-03", cu.ID), 400, "to"},
		{fmt.Sprintf("customer=%d&from=2026&to=2026-03", cu.ID), 400, "from"},
		{"customer=999&from=2026-01&to=2026-03", 404, ""},
	} {
		a := e.do(admin, "GET", "/api/v1/billing/chart.svg?"+tc.query, "")
		if p := a.problem(t); a.status != tc.code || p.Field != tc.field {
			t.Errorf("%s: %d %+v, want %d on %q", tc.query, a.status, p, tc.code, tc.field)
		}
	}
}

type sessionBilling struct {
	SessionID     int64
	Live, Running bool
	Level         string
	WorkedSeconds int64
	Covered       bool
	Reasons       []string
	SessionIDs    []int64
	BilledMinutes int64
	CentsPerHour  int64
	AmountCents   int64
	Lines         []line
}

func TestSessionBilling(t *testing.T) {
	e := newEnv(t)
	b := e.billed()
	get := func(id int64) sessionBilling {
		t.Helper()
		var sb sessionBilling
		e.call(b.tech, "GET", fmt.Sprintf("/api/v1/sessions/%d/billing", id), nil, 200, &sb)
		return sb
	}
	// An ended session.
	sb := get(b.billable)
	if sb.Live || sb.Running || sb.WorkedSeconds != 35*60 || sb.Covered || !slices.Equal(sb.Reasons, []string{"not_reference_person"}) ||
		sb.BilledMinutes != 60 || sb.AmountCents != 8500 || sb.CentsPerHour != 8500 || len(sb.Lines) != 3 {
		t.Errorf("ended billable session %+v", sb)
	}
	if sb := get(b.covered); !sb.Covered || len(sb.Reasons) != 0 || sb.AmountCents != 0 || sb.WorkedSeconds != 20*60 {
		t.Errorf("ended covered session %+v", sb)
	}

	// A live one, 12 minutes in, at control level.
	e.clk.advance(time.Hour)
	live := e.hold(b.billableTk.ID, after(2*time.Minute, store.EventConsentGranted, toControl), after(10*time.Minute, "chat", map[string]string{"text": "ok"}))
	sb = get(live)
	if !sb.Live || !sb.Running || sb.Level != "control" || sb.WorkedSeconds != 12*60 || sb.Covered || sb.AmountCents != 8500 ||
		!slices.Equal(sb.SessionIDs, []int64{live}) {
		t.Errorf("live session %+v", sb)
	}
	// The relay's clock moves on: so does the time.
	e.clk.advance(90 * time.Second)
	if sb := get(live); sb.WorkedSeconds != 12*60+90 {
		t.Errorf("after 90 s: worked %d s", sb.WorkedSeconds)
	}
	// The agent drops: the clock stops.
	if err := e.st.AddEvent(context.Background(), live, store.EventLinkDown, "relay", nil); err != nil {
		t.Fatal(err)
	}
	e.clk.advance(5 * time.Minute)
	if sb := get(live); sb.Running || sb.WorkedSeconds != 12*60+90 {
		t.Errorf("link down: running %v, worked %d s", sb.Running, sb.WorkedSeconds)
	}

	// Waiting for the customer: no time yet, and the badge says what the
	// work would be.
	ctx := context.Background()
	waitFor := func(tk ticketDetail) int64 {
		s, err := e.st.CreateSession(ctx, store.NewSession{TicketID: tk.ID, TechnicianID: e.user.ID, CodeHash: []byte(tk.Reference), CodeExpires: e.clk.now().Add(codeTTL)})
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	if sb := get(waitFor(b.coveredT)); sb.WorkedSeconds != 0 || !sb.Covered || len(sb.Reasons) != 0 || sb.Running {
		t.Errorf("waiting, reference person: %+v", sb)
	}
	if sb := get(waitFor(b.billableTk)); sb.WorkedSeconds != 0 || sb.Covered || !slices.Equal(sb.Reasons, []string{"not_reference_person"}) {
		t.Errorf("waiting, not a reference person: %+v", sb)
	}

	if a := e.do(b.tech, "GET", "/api/v1/sessions/999/billing", ""); a.status != 404 {
		t.Errorf("unknown session: %d", a.status)
	}
}
