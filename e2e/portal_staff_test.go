package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meekijk/meekijk/internal/store"
)

// portalFetch calls the portal's API from the customer's tab, with the
// portal's CSRF token when one is given; it answers the status and body.
func portalFetch(t *testing.T, tab context.Context, method, path, csrf, jsonBody string) (int, string) {
	t.Helper()
	body := "undefined"
	if jsonBody != "" {
		body = jsString(jsonBody)
	}
	res := evalAsync[struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}](t, tab, `(async () => {
		const res = await fetch(`+jsString(path)+`, { method: `+jsString(method)+`,
			headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': `+jsString(csrf)+` }, body: `+body+` });
		return { status: res.status, body: await res.text() };
	})()`)
	return res.Status, res.Body
}

// TestPortalStaffSide: the desk's side of the customer portal in the
// console, in Chromium: the contact's "Copy portal link" and "Invite to the
// portal" buttons; a file the customer attached in the portal and the
// out-of-contract work the technician announces, both on the ticket page,
// with the customer's approval once given; and the invoice page the
// portal shows, read from the Peppol XML. With MEEKIJK_SCREENSHOTS=dir it
// saves each page in Dutch and French.
func TestPortalStaffSide(t *testing.T) {
	dir := os.Getenv("MEEKIJK_SCREENSHOTS")
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := startRelay(t)
	browser := newBrowser(t)
	tab := newTab(t, browser)
	consoleLogin(t, tab, r)
	apiCall(t, tab, "PUT", "/calendar", alwaysOpen(), 200)
	apiCall(t, tab, "POST", "/rates/default", map[string]any{"centsPerHour": 8500, "effectiveFrom": "2020-01-01"}, 200)
	var cu, ann, jan, tk struct{ ID int64 }
	json.Unmarshal(apiCall(t, tab, "POST", "/customers", map[string]string{"name": "Bakkerij Peeters", "vatNumber": "BE0403170701", "lang": "nl"}, 201), &cu)
	json.Unmarshal(apiCall(t, tab, "POST", fmt.Sprintf("/customers/%d/contacts", cu.ID),
		map[string]string{"name": "Ann Peeters", "email": "ann@bakkerij.example", "referenceRole": "general", "lang": "nl"}, 201), &ann)
	json.Unmarshal(apiCall(t, tab, "POST", fmt.Sprintf("/customers/%d/contacts", cu.ID),
		map[string]string{"name": "Jan Boekhouder", "email": "jan@bakkerij.example", "lang": "fr"}, 201), &jan)
	json.Unmarshal(apiCall(t, tab, "POST", "/tickets", map[string]any{"title": "Kassa herinstalleren", "customerId": cu.ID, "contactId": ann.ID}, 201), &tk)

	// The contact's buttons: a link for the reference person; the plain
	// contact needs the admin's invitation first.
	goTo(t, tab, r, fmt.Sprintf("/customers/%d", cu.ID), "#contacts")
	run(t, tab, "copy Ann's link", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-portal-link="%d"]`, ann.ID))))
	waitJS(t, tab, "Ann's link shown", fmt.Sprintf(`(document.querySelector('tr[data-contact="%d"] input')?.value || '').includes('/portaal/in/')`, ann.ID), 10*time.Second)
	link := eval[string](t, tab, fmt.Sprintf(`document.querySelector('tr[data-contact="%d"] input').value`, ann.ID))
	run(t, tab, "copy Jan's link", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-portal-link="%d"]`, jan.ID))))
	waitJS(t, tab, "Jan refused", fmt.Sprintf(`!!document.querySelector('tr[data-contact="%d"] .error')?.textContent.includes('uitnodigen')`, jan.ID), 10*time.Second)
	check(t, tab, dir, "portal-contact-buttons-nl")
	run(t, tab, "invite Jan", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-portal-invite="%d"]`, jan.ID))))
	waitJS(t, tab, "Jan invited", fmt.Sprintf(`!!document.querySelector('tr[data-contact="%d"] .ok')?.textContent.includes('Uitgenodigd')`, jan.ID), 10*time.Second)
	run(t, tab, "copy Jan's link now", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-portal-link="%d"]`, jan.ID))))
	waitJS(t, tab, "Jan's link shown", fmt.Sprintf(`(document.querySelector('tr[data-contact="%d"] input')?.value || '').includes('/portaal/in/')`, jan.ID), 10*time.Second)

	// The customer, in a browser of their own, signs in with Ann's link
	// and attaches a file to the ticket.
	customer := newContext(t, browser)
	run(t, customer, "open the relay", chromedp.Navigate(r.url+"/hulp"))
	status, body := portalFetch(t, customer, "POST", "/portaal/api/signin", "", fmt.Sprintf(`{"token":%q}`, strings.TrimPrefix(link, r.url+"/portaal/in/")))
	var in struct{ CSRFToken string }
	if json.Unmarshal([]byte(body), &in); status != 200 || in.CSRFToken == "" {
		t.Fatalf("portal sign-in: %d %s", status, body)
	}
	up := evalAsync[int](t, customer, `(async () => {
		const f = new FormData();
		f.append('body', 'De foutmelding bij het opstarten.');
		f.append('attachment', new File(['Fout 17: kassa niet gevonden'], 'foutmelding.txt', { type: 'text/plain' }));
		const res = await fetch('/portaal/api/tickets/`+itoa(int(tk.ID))+`/files', { method: 'POST', headers: { 'X-CSRF-Token': `+jsString(in.CSRFToken)+` }, body: f });
		return res.status;
	})()`)
	if up != 201 {
		t.Fatalf("upload: %d", up)
	}

	// The technician sees the file and announces work outside the contract.
	goTo(t, tab, r, fmt.Sprintf("/tickets/%d", tk.ID), "#customer-side")
	waitJS(t, tab, "the file listed", `document.getElementById('ticket-files').textContent.includes('foutmelding.txt')`, 10*time.Second)
	run(t, tab, "announce out-of-contract work",
		chromedp.Click(chromedp.CSS(`#announce-out-of-contract`)),
		chromedp.SendKeys(chromedp.CSS(`#out-of-contract-form input[name=description]`), "Herinstallatie van de kassasoftware"),
		chromedp.SendKeys(chromedp.CSS(`#out-of-contract-form input[name=reason]`), "een herinstallatie valt niet onder het contract"),
		chromedp.Click(chromedp.CSS(`#out-of-contract-form button[type=submit]`)))
	waitJS(t, tab, "the question listed", `!!document.querySelector('#ticket-approvals li[data-approval] .warn')`, 10*time.Second)

	// The customer approves it in the portal; the technician sees who did.
	status, body = portalFetch(t, customer, "GET", fmt.Sprintf("/portaal/api/tickets/%d", tk.ID), "", "")
	var detail struct {
		Approvals []struct {
			ID      int64
			Version string
		}
	}
	if json.Unmarshal([]byte(body), &detail); status != 200 || len(detail.Approvals) != 1 {
		t.Fatalf("portal ticket: %d %s", status, body)
	}
	q := detail.Approvals[0]
	if status, body := portalFetch(t, customer, "POST", fmt.Sprintf("/portaal/api/tickets/%d/approvals/%d", tk.ID, q.ID), in.CSRFToken,
		fmt.Sprintf(`{"lang":"nl","version":%q,"accept":true}`, q.Version)); status != 204 {
		t.Fatalf("approve: %d %s", status, body)
	}
	for _, l := range []string{"nl", "fr"} {
		eval[bool](t, tab, `(localStorage.setItem('meekijk.lang', '`+l+`'), true)`)
		run(t, tab, "reload the ticket in "+l, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#customer-side`)))
		waitJS(t, tab, "the approval shown", `!!document.querySelector('#ticket-approvals li[data-approval] .ok')`, 10*time.Second)
		check(t, tab, dir, "portal-ticket-customer-side-"+l)
		goTo(t, tab, r, fmt.Sprintf("/customers/%d", cu.ID), "#contacts")
		check(t, tab, dir, "portal-customer-contacts-"+l)
		goTo(t, tab, r, fmt.Sprintf("/tickets/%d", tk.ID), "#customer-side")
	}
	if text(t, tab, `#ticket-approvals li[data-approval] .ok`) == "" {
		t.Error("the approval is not on the ticket")
	}

	// An invoice for last month, issued as an admin does; the customer's
	// portal shows it as a page in their language.
	invoiceLastMonth(t, tab, r, cu.ID, tk.ID)
	var list struct {
		Invoices []struct{ Number, ViewPath string }
	}
	status, body = portalFetch(t, customer, "GET", "/portaal/api/invoices", "", "")
	if json.Unmarshal([]byte(body), &list); status != 200 || len(list.Invoices) != 1 {
		t.Fatalf("portal invoices: %d %s", status, body)
	}
	for _, l := range []string{"nl", "fr"} {
		run(t, customer, "open the invoice page in "+l, chromedp.Navigate(r.url+list.Invoices[0].ViewPath+"?lang="+l),
			chromedp.WaitVisible(chromedp.CSS(`#invoice-total`)))
		if got := text(t, customer, `#invoice-total`); !strings.Contains(got, "102,85") {
			t.Errorf("invoice total in %s: %q", l, got)
		}
		check(t, customer, dir, "portal-invoice-view-"+l)
	}
}

// invoiceLastMonth bills 45 minutes on the ticket in the month before this
// one (written into the relay's database beside it, at that time), then
// sets the desk's and the customer's details, approves the month and
// issues its invoice through the API.
func invoiceLastMonth(t *testing.T, tab context.Context, r *relay, customerID, ticketID int64) {
	t.Helper()
	brussels, _ := time.LoadLocation("Europe/Brussels")
	now := time.Now().In(brussels)
	start := time.Date(now.Year(), now.Month()-1, 3, 10, 0, 0, 0, brussels)
	at := start.Add(-2 * time.Minute)
	st, err := store.OpenWithClock(context.Background(), filepath.Join(r.dataDir, "meekijk.db"), func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	admin, err := st.UserByEmail(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	// A ticket of its own, filed before the session, as billing expects.
	orig, err := st.Ticket(ctx, ticketID)
	if err != nil {
		t.Fatal(err)
	}
	past, err := st.CreateTicket(ctx, store.NewTicket{Title: "Kassa start niet", CustomerID: orig.CustomerID, ContactID: orig.ContactID,
		Kind: orig.Kind, CategoryID: orig.CategoryID, Priority: orig.Priority, Impact: orig.Impact}, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	hash := []byte("portal invoice session")
	s, err := st.CreateSession(ctx, store.NewSession{TicketID: past.ID, TechnicianID: admin.ID, CodeHash: hash, CodeExpires: start.Add(time.Hour)})
	if err == nil {
		_, err = st.RedeemCode(ctx, hash, "agent", nil)
	}
	if err == nil {
		at = start
		err = st.Transition(ctx, s.ID, []string{store.StatusJoined}, store.StatusLive, store.EventConsentGranted, "customer", map[string]string{"level": "view"})
	}
	if err == nil {
		at = start.Add(45 * time.Minute)
		_, err = st.End(ctx, s.ID, "technician", "technician", "")
	}
	if err != nil {
		t.Fatal(err)
	}
	apiCall(t, tab, "PUT", "/settings/company", map[string]any{"name": "Meekijk Support BV", "street": "Kerkstraat 1",
		"postcode": "9000", "city": "Gent", "country": "BE", "vatNumber": "BE 0417.497.106", "companyId": "0417.497.106",
		"iban": "BE68 5390 0754 7034", "paymentDays": 30}, 200)
	apiCall(t, tab, "PUT", fmt.Sprintf("/customers/%d/invoicing", customerID), map[string]any{"street": "Markt 3",
		"postcode": "2000", "city": "Antwerpen", "country": "BE", "companyId": "0403.170.701"}, 200)
	var al struct{ Approvals []struct{ ID int64 } }
	json.Unmarshal(apiCall(t, tab, "POST", "/billing/approvals", map[string]any{"customer": customerID, "month": start.Format("2006-01")}, 201), &al)
	if len(al.Approvals) == 0 {
		t.Fatal("no approval")
	}
	apiCall(t, tab, "POST", fmt.Sprintf("/billing/approvals/%d/invoice", al.Approvals[0].ID), map[string]string{"kind": "invoice"}, 201)
}
