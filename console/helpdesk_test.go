package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/store"
)

// loginAs logs in a new user of the role, through the API.
func (e *env) loginAs(role store.Role, mail string) client {
	e.t.Helper()
	hash, err := passwordHash()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.CreateUser(context.Background(), store.User{Email: mail, Name: "User " + mail, Role: role, PasswordHash: hash}); err != nil {
		e.t.Fatal(err)
	}
	a := e.do(client{origin: e.srv.URL}, "POST", "/api/v1/login", loginBody(mail, password))
	if a.status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", mail, a.status, a.body)
	}
	var me struct{ CSRFToken string }
	a.decode(e.t, &me)
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == "meekijk_login" {
			return client{cookie: c.Value, csrf: me.CSRFToken, origin: e.srv.URL}
		}
	}
	e.t.Fatal("no cookie")
	return client{}
}

// call sends v as JSON and decodes the answer into out (when given),
// failing unless the status is want.
func (e *env) call(c client, method, path string, v any, want int, out any) answer {
	e.t.Helper()
	body := ""
	if v != nil {
		b, _ := json.Marshal(v)
		body = string(b)
	}
	a := e.do(c, method, path, body)
	if a.status != want {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, a.status, a.body, want)
	}
	if out != nil {
		a.decode(e.t, out)
	}
	return a
}

type verdict struct {
	Covered bool
	Reasons []string
}

type ticketDetail struct {
	ID          int64
	Reference   string
	Status      string
	Kind        string
	StatusURL   string
	Entitlement verdict
	History     []struct{ Field, OldValue, NewValue, Actor string }
}

// desk is a customer with an active contract from 2026-01-01, a reference
// person and a plain contact, set up by an admin.
type desk struct {
	customer, contract, reference, plain int64
}

func (e *env) desk(admin client) desk {
	e.t.Helper()
	var d desk
	var cu struct{ ID int64 }
	e.call(admin, "POST", "/api/v1/customers", map[string]string{"name": "Frituur Marcel", "vatNumber": "BE 0403.170.701", "lang": "fr"}, 201, &cu)
	d.customer = cu.ID
	var co struct{ ID int64 }
	e.call(admin, "POST", fmt.Sprintf("/api/v1/customers/%d/contracts", d.customer),
		map[string]any{"startsOn": "2026-01-01", "feeCents": 45000, "feePeriod": "quarter", "centsPerHour": 8500}, 201, &co)
	d.contract = co.ID
	var ct struct{ ID int64 }
	e.call(admin, "POST", fmt.Sprintf("/api/v1/customers/%d/contacts", d.customer),
		map[string]string{"name": "Marcel Dubois", "email": "marcel@frituur.example", "referenceRole": "general", "lang": "fr"}, 201, &ct)
	d.reference = ct.ID
	e.call(admin, "POST", fmt.Sprintf("/api/v1/customers/%d/contacts", d.customer),
		map[string]string{"name": "Stagiair", "lang": "fr"}, 201, &ct)
	d.plain = ct.ID
	return d
}

func TestEntitlementThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAs(store.RoleAdmin, "admin@desk.example")
	tech := e.login()
	d := e.desk(admin)
	newTicket := func(contact int64, kind string) ticketDetail {
		var tk ticketDetail
		e.call(tech, "POST", "/api/v1/tickets", map[string]any{"title": "Kassa", "customerId": d.customer, "contactId": contact, "kind": kind}, 201, &tk)
		return tk
	}
	covered := newTicket(d.reference, "question")
	if !covered.Entitlement.Covered || len(covered.Entitlement.Reasons) != 0 {
		t.Errorf("reference person, active contract, user question: %+v, want covered", covered.Entitlement)
	}
	if plain := newTicket(d.plain, "question"); plain.Entitlement.Covered || !slices.Equal(plain.Entitlement.Reasons, []string{"not_reference_person"}) {
		t.Errorf("plain contact: %+v, want billable: not_reference_person", plain.Entitlement)
	}
	// Converting the kind is recorded; recategorising to a database script
	// makes the work billable.
	var cats []struct {
		ID   int64
		Code string
	}
	e.call(tech, "GET", "/api/v1/categories", nil, 200, &cats)
	var dbChange int64
	for _, c := range cats {
		if c.Code == "database_change" {
			dbChange = c.ID
		}
	}
	// A contract's own coverage overrides come back with it.
	var co struct{ Coverage map[string]bool }
	e.call(admin, "PUT", fmt.Sprintf("/api/v1/contracts/%d/coverage/%d", d.contract, dbChange), map[string]any{"covered": false}, 200, &co)
	if len(co.Coverage) != 1 || co.Coverage[fmt.Sprint(dbChange)] {
		t.Errorf("contract coverage after an override: %v", co.Coverage)
	}
	var changed ticketDetail
	e.call(tech, "PATCH", fmt.Sprintf("/api/v1/tickets/%d", covered.ID), map[string]any{"kind": "problem", "categoryId": dbChange}, 200, &changed)
	if changed.Kind != "problem" || !slices.Equal(changed.Entitlement.Reasons, []string{"category_not_covered"}) {
		t.Errorf("after conversion: kind %s, %+v", changed.Kind, changed.Entitlement)
	}
	if len(changed.History) != 2 || changed.History[0].Field != "kind" || changed.History[0].OldValue != "question" ||
		changed.History[0].NewValue != "problem" || changed.History[0].Actor == "" {
		t.Errorf("history %+v, want the kind conversion with its actor first", changed.History)
	}
	// Suspended for non-payment from today: billable, with that reason.
	e.call(admin, "POST", fmt.Sprintf("/api/v1/contracts/%d/status", d.contract),
		map[string]string{"status": "suspended", "effectiveOn": "2026-03-01", "reason": "factuur 2026-01 onbetaald"}, 200, nil)
	var suspended ticketDetail
	e.call(tech, "GET", fmt.Sprintf("/api/v1/tickets/%d", newTicket(d.reference, "question").ID), nil, 200, &suspended)
	if !slices.Equal(suspended.Entitlement.Reasons, []string{"contract_suspended"}) {
		t.Errorf("suspended contract: %+v", suspended.Entitlement)
	}
	// A customer without any contract.
	var other struct{ ID int64 }
	e.call(admin, "POST", "/api/v1/customers", map[string]string{"name": "Zonder Contract"}, 201, &other)
	var none ticketDetail
	e.call(tech, "POST", "/api/v1/tickets", map[string]any{"title": "Vraag", "customerId": other.ID}, 201, &none)
	if !slices.Equal(none.Entitlement.Reasons, []string{"no_contract", "not_reference_person"}) {
		t.Errorf("no contract, no contact: %+v", none.Entitlement)
	}
}

func TestDomainBadInputLosesNothing(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAs(store.RoleAdmin, "admin@desk.example")
	d := e.desk(admin)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"duplicate VAT number", "POST", "/api/v1/customers", map[string]string{"name": "Kopie", "vatNumber": "BE0403170701"}, 409, "vatNumber"},
		{"invalid VAT number", "POST", "/api/v1/customers", map[string]string{"name": "X", "vatNumber": "BE0403170702"}, 400, "vatNumber"},
		{"empty customer name", "POST", "/api/v1/customers", map[string]string{"name": " "}, 400, "name"},
		{"oversized customer name", "POST", "/api/v1/customers", map[string]string{"name": strings.Repeat("n", 201)}, 400, "name"},
		{"unknown language", "POST", "/api/v1/customers", map[string]string{"name": "X", "lang": "de"}, 400, "lang"},
		{"contract ending before it starts", "POST", fmt.Sprintf("/api/v1/customers/%d/contracts", d.customer),
			map[string]any{"startsOn": "2026-06-01", "endsOn": "2026-05-31", "feePeriod": "year"}, 400, "endsOn"},
		{"contract with a bad date", "POST", fmt.Sprintf("/api/v1/customers/%d/contracts", d.customer),
			map[string]any{"startsOn": "2026-02-30", "feePeriod": "year"}, 400, "startsOn"},
		{"negative fee", "POST", fmt.Sprintf("/api/v1/customers/%d/contracts", d.customer),
			map[string]any{"startsOn": "2026-02-01", "feePeriod": "year", "feeCents": -1}, 400, "feeCents"},
		{"contract for an unknown customer", "POST", "/api/v1/customers/999/contracts",
			map[string]any{"startsOn": "2026-02-01", "feePeriod": "year"}, 404, ""},
		{"site reference without a site", "POST", fmt.Sprintf("/api/v1/customers/%d/contacts", d.customer),
			map[string]string{"name": "Site", "referenceRole": "site"}, 400, "siteId"},
		{"contact of an unknown customer", "POST", "/api/v1/customers/999/contacts", map[string]string{"name": "Nobody"}, 404, ""},
		{"bad e-mail", "POST", fmt.Sprintf("/api/v1/customers/%d/contacts", d.customer), map[string]string{"name": "N", "email": "nope"}, 400, "email"},
		{"ticket with another customer's contact", "POST", "/api/v1/tickets",
			map[string]any{"title": "T", "customerId": d.customer + 100, "contactId": d.reference}, 400, "customerId"},
		{"unknown contract status", "POST", fmt.Sprintf("/api/v1/contracts/%d/status", d.contract),
			map[string]string{"status": "paused", "effectiveOn": "2026-03-01"}, 400, "status"},
		{"calendar with an unknown time zone", "PUT", "/api/v1/calendar",
			map[string]any{"timeZone": "Europe/Gent", "weekly": []any{}, "holidays": "", "closures": []any{}}, 400, "calendar.timeZone"},
		// Issue 19 item 8: a calendar without weekly would close the desk
		// unasked; bad times name the entry.
		{"calendar without weekly", "PUT", "/api/v1/calendar",
			map[string]any{"timeZone": "Europe/Brussels", "holidays": "BE", "closures": []any{}}, 400, "calendar.weekly"},
		{"calendar with 25:00", "PUT", "/api/v1/calendar",
			map[string]any{"timeZone": "Europe/Brussels", "weekly": []any{map[string]any{"weekday": 1, "from": "09:00", "to": "12:00"},
				map[string]any{"weekday": 2, "from": "09:00", "to": "25:00"}}, "holidays": "BE", "closures": []any{}}, 400, "calendar.weekly[1].to"},
		{"calendar with 9:00", "PUT", "/api/v1/calendar",
			map[string]any{"timeZone": "Europe/Brussels", "weekly": []any{map[string]any{"weekday": 1, "from": "9:00", "to": "12:00"}},
				"holidays": "BE", "closures": []any{}}, 400, "calendar.weekly[0].from"},
		{"unknown user role", "POST", "/api/v1/users", map[string]string{"email": "x@y.example", "name": "X", "role": "root"}, 400, "role"},
		{"duplicate user e-mail", "POST", "/api/v1/users", map[string]string{"email": "ADMIN@desk.example", "name": "X", "role": "technician"}, 409, "email"},
	}
	var before struct{ customers, contracts, contacts, users int }
	count := func() (n struct{ customers, contracts, contacts, users int }) {
		db := e.st.DB()
		db.QueryRow("SELECT count(*) FROM customers").Scan(&n.customers)
		db.QueryRow("SELECT count(*) FROM contracts").Scan(&n.contracts)
		db.QueryRow("SELECT count(*) FROM contacts").Scan(&n.contacts)
		db.QueryRow("SELECT count(*) FROM users").Scan(&n.users)
		return n
	}
	before = count()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := json.Marshal(tc.body)
			a := e.do(admin, tc.method, tc.path, string(b))
			if a.status != tc.status {
				t.Fatalf("status %d %s, want %d", a.status, a.body, tc.status)
			}
			if p := a.problem(t); p.Field != tc.field || p.Message == "" {
				t.Errorf("problem %+v, want field %q and a message", p, tc.field)
			}
		})
	}
	if after := count(); after != before {
		t.Errorf("bad requests changed the data: %+v -> %+v", before, after)
	}
}

func TestAdminOnlyRoutes(t *testing.T) {
	e := newEnv(t)
	tech := e.login()
	for _, r := range []struct{ method, path string }{
		{"POST", "/api/v1/customers"}, {"PUT", "/api/v1/calendar"}, {"POST", "/api/v1/users"},
		{"PUT", "/api/v1/users/1"}, {"PUT", "/api/v1/categories/1"}, {"GET", "/api/v1/rates/default"},
		{"POST", "/api/v1/contracts/1/status"},
		{"GET", "/api/v1/billing/statement?customer=1&month=2026-03"},
		{"GET", "/api/v1/billing/export.csv?from=2026-03-01&to=2026-03-31"},
		{"GET", "/api/v1/billing/chart.svg?customer=1&from=2026-01&to=2026-03"},
	} {
		if a := e.do(tech, r.method, r.path, "{}"); a.status != http.StatusForbidden {
			t.Errorf("technician %s %s: %d, want 403", r.method, r.path, a.status)
		}
	}
}

func TestSessionOutsideHoursNeedsOverride(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAs(store.RoleAdmin, "admin@desk.example")
	tech := e.login()
	// A desk that is never open.
	e.call(admin, "PUT", "/api/v1/calendar", map[string]any{"timeZone": "Europe/Brussels", "weekly": []any{}, "holidays": "BE", "closures": []any{}}, 200, nil)
	tk := e.createTicket(tech, "Dringend", "Bakkerij")
	a := e.do(tech, "POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID), "")
	if p := a.problem(t); a.status != http.StatusConflict || p.Error != "outside_hours" || p.Field != "overrideReason" {
		t.Fatalf("outside hours without a reason: %d %+v", a.status, p)
	}
	var started struct {
		Code    string
		Session struct {
			OutsideHours   bool
			OverrideReason string
		}
	}
	e.call(tech, "POST", fmt.Sprintf("/api/v1/tickets/%d/sessions", tk.ID), map[string]string{"overrideReason": "kassa ligt plat tijdens de opening"}, 201, &started)
	if !started.Session.OutsideHours || started.Session.OverrideReason != "kassa ligt plat tijdens de opening" || started.Code == "" {
		t.Errorf("override session %+v", started)
	}
	var detail struct{ Entitlement verdict }
	e.call(tech, "GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), nil, 200, &detail)
	if !slices.Contains(detail.Entitlement.Reasons, "outside_hours") {
		t.Errorf("entitlement outside hours %+v", detail.Entitlement)
	}
}

func TestStatusPage(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAs(store.RoleAdmin, "admin@desk.example")
	tech := e.login()
	d := e.desk(admin)
	var tk ticketDetail
	e.call(tech, "POST", "/api/v1/tickets", map[string]any{"title": "Kassa <b>blokkeert</b>", "customerId": d.customer, "contactId": d.reference}, 201, &tk)
	e.call(tech, "POST", fmt.Sprintf("/api/v1/tickets/%d/notes", tk.ID), map[string]any{"body": "We bekijken het <script>alert(1)</script>", "visibleToCustomer": true}, 201, nil)
	e.call(tech, "POST", fmt.Sprintf("/api/v1/tickets/%d/notes", tk.ID), map[string]any{"body": "intern: klant is lastig", "visibleToCustomer": false}, 201, nil)

	get := func(path string) (int, string) {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	status, page := get(tk.StatusURL)
	if status != 200 || !strings.Contains(page, tk.Reference) || !strings.Contains(page, "Nouveau") || !strings.Contains(page, `lang="fr"`) {
		t.Fatalf("status page (customer language fr): %d\n%s", status, page)
	}
	if !strings.Contains(page, "&lt;script&gt;") || strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>blokkeert") {
		t.Error("status page does not escape ticket text")
	}
	if strings.Contains(page, "intern: klant is lastig") {
		t.Error("status page shows an internal note")
	}
	if _, nl := get(tk.StatusURL + "?lang=nl"); !strings.Contains(nl, "Nieuw") {
		t.Error("?lang=nl does not show Dutch")
	}
	wrongSecret := tk.StatusURL[:len(tk.StatusURL)-4] + "beef"
	s1, p1 := get(wrongSecret)
	s2, p2 := get(strings.Replace(tk.StatusURL, tk.Reference, "2026-999999", 1))
	if s1 != 404 || s2 != 404 || p1 != p2 {
		t.Errorf("wrong secret %d and wrong reference %d differ or are not 404", s1, s2)
	}
}
