package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/console"
	"github.com/meekijk/meekijk/internal/auth"
	"github.com/meekijk/meekijk/internal/pricing"
	"github.com/meekijk/meekijk/internal/protocol"
	"github.com/meekijk/meekijk/internal/store"
)

// portalDo is a request of a customer's browser tab: the portal cookie and
// its CSRF token.
func (e *env) portalDo(cookie, csrf, method, path, body string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Origin", e.srv.URL)
	if cookie != "" {
		req.Header.Set("Cookie", "meekijk_portal="+cookie)
	}
	if csrf != "" {
		req.Header.Set(auth.CSRFHeader, csrf)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func (e *env) contact(customer, name, role string) store.Contact {
	e.t.Helper()
	ct, err := e.st.CreateContact(context.Background(), store.Contact{CustomerID: e.customerID(customer), Name: name,
		Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com", Lang: "nl", ReferenceRole: role})
	if err != nil {
		e.t.Fatal(err)
	}
	return ct
}

// portalLink asks the console for a contact's sign-in link, as the
// technician does on the contact's page.
func (e *env) portalLink(staff client, contactID int64) answer {
	e.t.Helper()
	return e.do(staff, "POST", fmt.Sprintf("/api/v1/contacts/%d/portal-link", contactID), "")
}

func (e *env) portalSignIn(link string) (cookie, csrf string, a answer) {
	e.t.Helper()
	tok := strings.TrimPrefix(link, "/portaal/in/")
	a = e.portalDo("", "", "POST", "/portaal/api/signin", fmt.Sprintf(`{"token":%q}`, tok))
	if a.status != http.StatusOK {
		return "", "", a
	}
	var out struct{ CSRFToken string }
	a.decode(e.t, &out)
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == "meekijk_portal" {
			cookie = c.Value
		}
	}
	return cookie, out.CSRFToken, a
}

func TestPortalSignInSeesOnlyOwnCompany(t *testing.T) {
	e := newEnv(t)
	staff := e.login()
	ref := e.contact("Bakkerij Peeters", "Ann Peeters", "general")
	own := e.createTicket(staff, "Kassa start niet", "Bakkerij Peeters")
	foreign := e.createTicket(staff, "Printer", "Garage Claes")

	a := e.portalLink(staff, ref.ID)
	var link struct{ Link string }
	a.decode(t, &link)
	cookie, csrf, a := e.portalSignIn(link.Link)
	if cookie == "" {
		t.Fatalf("sign-in: %d %s", a.status, a.body)
	}
	a = e.portalDo(cookie, "", "GET", "/portaal/api/tickets", "")
	var list []struct{ Reference string }
	a.decode(t, &list)
	if len(list) != 1 || list[0].Reference != own.Reference {
		t.Fatalf("list = %+v, want only %s", list, own.Reference)
	}
	// Another company's ticket answers as a ticket that does not exist.
	for _, path := range []string{fmt.Sprintf("/portaal/api/tickets/%d", foreign.ID), "/portaal/api/tickets/99999"} {
		if a := e.portalDo(cookie, "", "GET", path, ""); a.status != http.StatusNotFound || string(a.body) != string(e.portalDo(cookie, "", "GET", "/portaal/api/tickets/99999", "").body) {
			t.Errorf("GET %s: %d %s, want the same 404", path, a.status, a.body)
		}
	}
	if a := e.portalDo(cookie, csrf, "POST", fmt.Sprintf("/portaal/api/tickets/%d/notes", foreign.ID), `{"body":"x"}`); a.status != http.StatusNotFound {
		t.Errorf("note on another company's ticket: %d", a.status)
	}
	// A note without the CSRF token is refused; with it, it is on the ticket under the person's name.
	if a := e.portalDo(cookie, "", "POST", fmt.Sprintf("/portaal/api/tickets/%d/notes", own.ID), `{"body":"Foto volgt"}`); a.status != http.StatusForbidden {
		t.Errorf("note without CSRF: %d", a.status)
	}
	if a := e.portalDo(cookie, csrf, "POST", fmt.Sprintf("/portaal/api/tickets/%d/notes", own.ID), `{"body":"Foto volgt"}`); a.status != http.StatusNoContent {
		t.Fatalf("note: %d %s", a.status, a.body)
	}
	a = e.portalDo(cookie, "", "GET", fmt.Sprintf("/portaal/api/tickets/%d", own.ID), "")
	var detail struct {
		Notes []struct{ Author, Body string }
	}
	a.decode(t, &detail)
	if len(detail.Notes) != 1 || detail.Notes[0].Author != "Ann Peeters" || detail.Notes[0].Body != "Foto volgt" {
		t.Errorf("notes = %+v", detail.Notes)
	}
	// Principals apart: the portal cookie is no console login, and the
	// console's cookie no portal session.
	if a := e.do(client{cookie: cookie}, "GET", "/api/v1/tickets", ""); a.status != http.StatusUnauthorized {
		t.Errorf("portal cookie on the console API: %d", a.status)
	}
	if a := e.portalDo(staff.cookie, "", "GET", "/portaal/api/tickets", ""); a.status != http.StatusUnauthorized {
		t.Errorf("console cookie as portal cookie: %d", a.status)
	}
}

func TestPortalLinkSingleUseAndExpiring(t *testing.T) {
	e := newEnv(t)
	staff := e.login()
	ref := e.contact("Bakkerij Peeters", "Ann Peeters", "general")
	var l1, l2 struct{ Link string }
	e.portalLink(staff, ref.ID).decode(t, &l1)
	e.portalLink(staff, ref.ID).decode(t, &l2)
	if c, _, a := e.portalSignIn(l1.Link); c == "" {
		t.Fatalf("first use: %d %s", a.status, a.body)
	}
	if _, _, a := e.portalSignIn(l1.Link); a.status != http.StatusGone || a.problem(t).Error != "link_used" {
		t.Errorf("reused link: %d %s", a.status, a.body)
	}
	e.clk.advance(console.PortalLinkTTL + time.Second)
	if _, _, a := e.portalSignIn(l2.Link); a.status != http.StatusGone || a.problem(t).Error != "link_expired" {
		t.Errorf("expired link: %d %s", a.status, a.body)
	}
	if _, _, a := e.portalSignIn("/portaal/in/nonsense"); a.status != http.StatusNotFound {
		t.Errorf("unknown link: %d %s", a.status, a.body)
	}
	// No token in clear in the database.
	var n int
	if err := e.st.DB().QueryRow("SELECT count(*) FROM portal_links WHERE token_hash = ?", strings.TrimPrefix(l1.Link, "/portaal/in/")).Scan(&n); err != nil || n != 0 {
		t.Errorf("token stored in clear: %d %v", n, err)
	}
}

func TestPortalNonReferenceNeedsInvitation(t *testing.T) {
	e := newEnv(t)
	staff := e.login()
	ct := e.contact("Bakkerij Peeters", "Jan Boekhouder", "")
	if a := e.portalLink(staff, ct.ID); a.status != http.StatusConflict {
		t.Fatalf("link for a non-reference contact: %d %s", a.status, a.body)
	}
	if err := e.st.InviteToPortal(context.Background(), ct.ID, e.user.ID); err != nil {
		t.Fatal(err)
	}
	var cu struct {
		Contacts []struct {
			ID            int64
			PortalInvited bool
		}
	}
	e.call(staff, "GET", fmt.Sprintf("/api/v1/customers/%d", ct.CustomerID), nil, 200, &cu)
	if len(cu.Contacts) != 1 || !cu.Contacts[0].PortalInvited {
		t.Errorf("the customer page does not show the invitation: %+v", cu.Contacts)
	}
	var l struct{ Link string }
	a := e.portalLink(staff, ct.ID)
	if a.status != http.StatusCreated {
		t.Fatalf("link after invitation: %d %s", a.status, a.body)
	}
	a.decode(t, &l)
	if c, _, a := e.portalSignIn(l.Link); c == "" {
		t.Fatalf("invited sign-in: %d %s", a.status, a.body)
	}
}

func TestPortalFileRequest(t *testing.T) {
	e := newEnv(t)
	staff := e.login()
	ref := e.contact("Bakkerij Peeters", "Ann Peeters", "general")
	var l struct{ Link string }
	e.portalLink(staff, ref.ID).decode(t, &l)
	cookie, csrf, a := e.portalSignIn(l.Link)
	if cookie == "" {
		t.Fatalf("sign-in: %d %s", a.status, a.body)
	}
	// Without a description: a clear error naming the field, and no ticket.
	a = e.portalDo(cookie, csrf, "POST", "/portaal/api/tickets", `{"kind":"problem","priority":"high","title":"Kassa","description":"  "}`)
	if a.status != http.StatusBadRequest || a.problem(t).Field != "description" {
		t.Fatalf("no description: %d %s", a.status, a.body)
	}
	if ts, _ := e.st.Tickets(context.Background(), store.TicketFilter{}); len(ts) != 0 {
		t.Fatalf("a refused request left %d tickets", len(ts))
	}
	a = e.portalDo(cookie, csrf, "POST", "/portaal/api/tickets",
		`{"kind":"problem","priority":"high","product":"Kassa 4.2","title":"Kassa start niet","description":"Foutmelding 17 bij opstarten."}`)
	if a.status != http.StatusCreated {
		t.Fatalf("request: %d %s", a.status, a.body)
	}
	var got struct {
		Reference string
		Covered   bool
		Reasons   []string
		TakenUpAt time.Time
	}
	a.decode(t, &got)
	// No contract: billable, and the page can say why before any work.
	if got.Reference == "" || got.Covered || len(got.Reasons) == 0 || got.Reasons[0] != "no_contract" || got.TakenUpAt.IsZero() {
		t.Errorf("answer = %+v", got)
	}
	// The desk sees it with its reference, for this customer and contact.
	tk, err := e.st.TicketByReference(context.Background(), got.Reference)
	if err != nil || tk.ContactID != ref.ID || tk.RequestedPriority != "high" || tk.Kind != "problem" {
		t.Fatalf("ticket = %+v, %v", tk, err)
	}
	notes, _ := e.st.Notes(context.Background(), tk.ID, true)
	if len(notes) != 1 || notes[0].AuthorName != "Ann Peeters" || !strings.Contains(notes[0].Body, "Kassa 4.2") {
		t.Errorf("description note = %+v", notes)
	}
}

// signedIn signs a contact in to the portal with a link the technician
// made, and returns the session's cookie and CSRF token.
func (e *env) signedIn(staff client, contactID int64) (cookie, csrf string) {
	e.t.Helper()
	var l struct{ Link string }
	e.portalLink(staff, contactID).decode(e.t, &l)
	cookie, csrf, a := e.portalSignIn(l.Link)
	if cookie == "" {
		e.t.Fatalf("sign-in: %d %s", a.status, a.body)
	}
	return cookie, csrf
}

// estimateScene is a ticket of Bakkerij Peeters with an estimate of 90
// billable minutes to approve (its mailed link's token "tok"), the
// company's reference person and a person of another company.
type estimateScene struct {
	staff         client
	ref, stranger store.Contact
	tk            ticket
	est           store.Estimate
}

func (e *env) estimateScene() estimateScene {
	e.t.Helper()
	s := estimateScene{staff: e.login()}
	s.ref = e.contact("Bakkerij Peeters", "Ann Peeters", "general")
	s.stranger = e.contact("Garage Claes", "Bart Claes", "general")
	s.tk = e.createTicket(s.staff, "Indexen herbouwen", "Bakkerij Peeters")
	var err error
	s.est, err = e.st.CreateEstimate(context.Background(), store.Estimate{TicketID: s.tk.ID, Minutes: 90, Description: "Indexen",
		BilledMinutes: 90, CentsPerHour: 8000, AmountCents: 12000, VATCents: 2520, CreatedBy: e.user.ID}, "tok", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func TestPortalApproveEstimate(t *testing.T) {
	e := newEnv(t)
	scene := e.estimateScene()
	staff, ref, stranger, tk, est := scene.staff, scene.ref, scene.stranger, scene.tk, scene.est
	signIn := func(id int64) (string, string) { return e.signedIn(staff, id) }
	path := fmt.Sprintf("/portaal/api/tickets/%d/estimates/%d/approve", tk.ID, est.ID)
	body := `{"lang":"fr","version":"estimate-mail-1","accept":true}`
	sc, scsrf := signIn(stranger.ID)
	if a := e.portalDo(sc, scsrf, "POST", path, body); a.status != http.StatusNotFound {
		t.Fatalf("another company's person: %d %s", a.status, a.body)
	}
	c, csrf := signIn(ref.ID)
	var detail struct {
		Estimates []struct {
			ID      int64
			Text    string
			Version string
		}
	}
	e.portalDo(c, "", "GET", fmt.Sprintf("/portaal/api/tickets/%d", tk.ID), "").decode(t, &detail)
	if len(detail.Estimates) != 1 || detail.Estimates[0].Text == "" {
		t.Fatalf("estimates on the ticket = %+v", detail.Estimates)
	}
	if a := e.portalDo(c, csrf, "POST", path, `{"lang":"fr","version":"estimate-mail-1","accept":false}`); a.status != http.StatusBadRequest {
		t.Errorf("unticked: %d %s", a.status, a.body)
	}
	if a := e.portalDo(c, csrf, "POST", path, body); a.status != http.StatusNoContent {
		t.Fatalf("approve: %d %s", a.status, a.body)
	}
	// Recorded as the mailed link records it: who, text, version, SHA-256.
	es, err := e.st.Estimates(context.Background(), tk.ID)
	if err != nil || len(es) != 1 || es[0].Approval == nil {
		t.Fatalf("estimates = %+v, %v", es, err)
	}
	ap := es[0].Approval
	if ap.By != fmt.Sprintf("contact:%d", ref.ID) || ap.Lang != "fr" || ap.Version != "estimate-mail-1" || ap.TextSHA256 != store.TextSHA256(ap.Text) {
		t.Errorf("approval = %+v", ap)
	}
	if a := e.portalDo(c, csrf, "POST", path, body); a.status != http.StatusConflict {
		t.Errorf("second approval: %d %s", a.status, a.body)
	}
	// A session on the ticket later: its cost notice carries the approval,
	// so the relay does not ask the customer for it again (relay/hub).
	admin := e.loginAs(store.RoleAdmin, "admin@desk.example")
	e.call(admin, "POST", "/api/v1/rates/default", map[string]any{"centsPerHour": 8000, "effectiveFrom": "2026-01-01"}, 200, nil)
	sess := e.hold(tk.ID)
	n, err := pricing.New(e.st, e.clk.now).CostNotice(context.Background(), sess, protocol.LevelControl)
	if err != nil || n == nil || n.ApprovedEstimate == nil || n.ApprovedEstimate.EstimateID != est.ID || n.ApprovedEstimate.Minutes != 90 ||
		n.ApprovedEstimate.TextSHA256 != ap.TextSHA256 {
		t.Errorf("cost notice of a later session = %+v, %v", n, err)
	}
}

func TestPortalHoursAndInvoices(t *testing.T) {
	e := newEnv(t)
	staff := e.login()
	ref := e.contact("Bakkerij Peeters", "Ann Peeters", "general")
	if _, err := e.st.AddPrepaidBlock(context.Background(), store.PrepaidBlock{CustomerID: ref.CustomerID, PurchasedOn: "2026-01-05",
		Minutes: 600, PriceCents: 70000}); err != nil {
		t.Fatal(err)
	}
	var l struct{ Link string }
	e.portalLink(staff, ref.ID).decode(t, &l)
	c, _, a := e.portalSignIn(l.Link)
	if c == "" {
		t.Fatalf("sign-in: %d %s", a.status, a.body)
	}
	var got struct {
		Prepaid  struct{ RemainingMinutes int64 }
		Invoices []any
	}
	a = e.portalDo(c, "", "GET", "/portaal/api/hours", "")
	a.decode(t, &got)
	if a.status != http.StatusOK || got.Invoices == nil || got.Prepaid.RemainingMinutes != 600 {
		t.Fatalf("hours: %d %s", a.status, a.body)
	}
	if a := e.portalDo(c, "", "GET", "/portaal/api/invoices/1", ""); a.status != http.StatusNotFound {
		t.Errorf("unknown invoice: %d", a.status)
	}
}

// Work outside the contract, announced by the desk on a ticket, is a
// question the customer answers in the portal before the work: recorded
// as an estimate's approval is (who, text, version, SHA-256), shown to the
// technician on the ticket, and answered once.
func TestPortalOutOfContractApproval(t *testing.T) {
	e := newEnv(t)
	staff := e.login()
	admin := e.loginAs(store.RoleAdmin, "admin@desk.example")
	e.call(admin, "POST", "/api/v1/rates/default", map[string]any{"centsPerHour": 8000, "effectiveFrom": "2026-01-01"}, 200, nil)
	ref, cookie, csrf := e.signedInAs(staff, "Bakkerij Peeters", "Ann Peeters")
	_, otherCookie, otherCSRF := e.signedInAs(staff, "Garage Claes", "Bart Claes")
	e.mailSetUp(admin)
	var tk ticket
	e.call(staff, "POST", "/api/v1/tickets", map[string]any{"title": "Kassa herinstalleren", "customerId": ref.CustomerID, "contactId": ref.ID}, 201, &tk)

	if a := e.do(staff, "POST", fmt.Sprintf("/api/v1/tickets/%d/out-of-contract", tk.ID), `{"minutes":30,"description":"Herinstallatie","reason":""}`); a.status != http.StatusBadRequest || a.problem(t).Field != "reason" {
		t.Fatalf("without a reason: %d %s", a.status, a.body)
	}
	var ann struct {
		ID          int64
		Kind        string
		AmountCents int64
		Mailed      bool
	}
	e.call(staff, "POST", fmt.Sprintf("/api/v1/tickets/%d/out-of-contract", tk.ID),
		map[string]any{"minutes": 30, "description": "Herinstallatie van de kassa", "reason": "een herinstallatie valt buiten het contract"}, 201, &ann)
	if ann.Kind != store.OutOfContractKind || ann.AmountCents <= 0 || !ann.Mailed {
		t.Fatalf("announced = %+v", ann)
	}
	// The contact is told by mail too, with the link to the approval page.
	ms, _ := e.st.Mails(context.Background(), 10)
	if len(ms) == 0 || ms[0].Kind != store.MailEstimateApproval || !strings.Contains(ms[0].Subject, "buiten contract") {
		t.Fatalf("mails = %+v", ms)
	}
	body := mailBody(e, ms[0].ID)
	i := strings.Index(body, "/estimate/")
	if i < 0 || !strings.Contains(body, "een herinstallatie valt buiten het contract") {
		t.Fatalf("mail body %q", body)
	}
	if page := e.portalDo("", "", "GET", strings.Fields(body[i:])[0], ""); page.status != 200 ||
		!strings.Contains(string(page.body), "Werk buiten contract goedkeuren") || !strings.Contains(string(page.body), "out-of-contract-1") {
		t.Errorf("approval page: %d %s", page.status, page.body)
	}
	var detail struct {
		Approvals []struct {
			Kind, Text, Version string
			ID                  int64
			Approval            *store.Approved
		}
	}
	e.portalDo(cookie, "", "GET", fmt.Sprintf("/portaal/api/tickets/%d", tk.ID), "").decode(t, &detail)
	if len(detail.Approvals) != 1 || detail.Approvals[0].Kind != store.OutOfContractKind || detail.Approvals[0].Approval != nil ||
		!strings.Contains(detail.Approvals[0].Text, "Herinstallatie van de kassa") || detail.Approvals[0].Version != "out-of-contract-1" {
		t.Fatalf("approvals = %+v", detail.Approvals)
	}
	q := detail.Approvals[0]
	path := fmt.Sprintf("/portaal/api/tickets/%d/approvals/%d", tk.ID, q.ID)
	body = `{"lang":"nl","version":"out-of-contract-1","accept":true}`
	missing := e.portalDo(otherCookie, otherCSRF, "POST", fmt.Sprintf("/portaal/api/tickets/%d/approvals/99999", tk.ID), body)
	if a := e.portalDo(otherCookie, otherCSRF, "POST", path, body); a.status != http.StatusNotFound || string(a.body) != string(missing.body) {
		t.Fatalf("another company's person: %d %s", a.status, a.body)
	}
	if a := e.portalDo(cookie, csrf, "POST", path, `{"lang":"nl","version":"estimate-mail-1","accept":true}`); a.status != http.StatusConflict {
		t.Errorf("another text's version: %d %s", a.status, a.body)
	}
	if a := e.portalDo(cookie, "", "POST", path, body); a.status != http.StatusForbidden {
		t.Errorf("without CSRF: %d %s", a.status, a.body)
	}
	if a := e.portalDo(cookie, csrf, "POST", path, body); a.status != http.StatusNoContent {
		t.Fatalf("approve: %d %s", a.status, a.body)
	}
	if a := e.portalDo(cookie, csrf, "POST", path, body); a.status != http.StatusConflict {
		t.Errorf("again: %d %s", a.status, a.body)
	}
	// The technician sees who approved which text.
	var seen []struct {
		Kind, ApprovedBy string
		Approval         *store.Approved
	}
	e.call(staff, "GET", fmt.Sprintf("/api/v1/tickets/%d/approvals", tk.ID), nil, 200, &seen)
	if len(seen) != 1 || seen[0].Approval == nil || seen[0].ApprovedBy != "Ann Peeters" {
		t.Fatalf("staff view = %+v", seen)
	}
	ap := seen[0].Approval
	if ap.By != fmt.Sprintf("contact:%d", ref.ID) || ap.Version != "out-of-contract-1" || ap.Text != q.Text || ap.TextSHA256 != store.TextSHA256(q.Text) {
		t.Errorf("approval = %+v", ap)
	}
	if n := e.auditEvents(store.EventEstimateApproved); n != 1 {
		t.Errorf("%d approval events", n)
	}
}
