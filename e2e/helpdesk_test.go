package e2e

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meekijk/meekijk/internal/i18n"
)

// goTo opens a console page by its hash route and waits for selector.
func goTo(t *testing.T, tab context.Context, r *relay, route, selector string) {
	t.Helper()
	run(t, tab, "open "+route,
		chromedp.Navigate(r.url+"/#"+route),
		chromedp.WaitVisible(chromedp.CSS(selector)),
	)
}

// chooseValue sets a <select> to value, as a user would.
func chooseValue(t *testing.T, tab context.Context, selector, value string) {
	t.Helper()
	waitJS(t, tab, "choose "+value+" in "+selector, `(() => {
		const s = document.querySelector(`+jsString(selector)+`);
		if (!s || ![...s.options].some(o => o.value === `+jsString(value)+`)) return false;
		s.value = `+jsString(value)+`;
		s.dispatchEvent(new Event('input', { bubbles: true }));
		s.dispatchEvent(new Event('change', { bubbles: true }));
		return true;
	})()`, 10*time.Second)
}

// text is the trimmed text of the first element matching selector, or ""
// when there is none.
func text(t *testing.T, tab context.Context, selector string) string {
	t.Helper()
	return eval[string](t, tab, `(document.querySelector(`+jsString(selector)+`)?.textContent || '').trim()`)
}

// createCustomerUI creates a customer through the admin's form and waits
// for the customer's page.
func createCustomerUI(t *testing.T, tab context.Context, r *relay, name, vat, lang string) {
	t.Helper()
	goTo(t, tab, r, "/customers", `#new-customer`)
	run(t, tab, "fill in the new customer",
		chromedp.SendKeys(chromedp.CSS(`#new-customer input[name=name]`), name),
		chromedp.SendKeys(chromedp.CSS(`#new-customer input[name=vatNumber]`), vat),
	)
	chooseValue(t, tab, `#new-customer select[name=lang]`, lang)
	run(t, tab, "create the customer", chromedp.Click(chromedp.CSS(`#new-customer button[type=submit]`)))
	waitJS(t, tab, "customer page of "+name, `document.getElementById('customer-name')?.textContent === `+jsString(name), 10*time.Second)
}

// createContractUI adds a maintenance contract from today, on the
// customer's page, and waits for it to show as active.
func createContractUI(t *testing.T, tab context.Context, feeEuros, rateEuros string) {
	t.Helper()
	run(t, tab, "fill in the new contract",
		chromedp.SendKeys(chromedp.CSS(`#new-contract input[name=fee]`), feeEuros),
		chromedp.SendKeys(chromedp.CSS(`#new-contract input[name=rate]`), rateEuros),
	)
	chooseValue(t, tab, `#new-contract select[name=feePeriod]`, "year")
	run(t, tab, "create the contract",
		chromedp.Click(chromedp.CSS(`#new-contract button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.contract[data-status=active][data-in-force=true]`)),
	)
}

// addContactUI adds a contact on the customer's page; role is "" for a
// contact who is not a reference person.
func addContactUI(t *testing.T, tab context.Context, name, email, lang, role string) {
	t.Helper()
	before := eval[int](t, tab, `document.querySelectorAll('#contacts tbody tr').length`)
	run(t, tab, "fill in the new contact",
		chromedp.SendKeys(chromedp.CSS(`#contact-form input[name=name]`), name),
		chromedp.SendKeys(chromedp.CSS(`#contact-form input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`#contact-form input[name=phone]`), "+32 9 123 45 67"),
	)
	chooseValue(t, tab, `#contact-form select[name=lang]`, lang)
	chooseValue(t, tab, `#contact-form select[name=referenceRole]`, role)
	run(t, tab, "add the contact", chromedp.Click(chromedp.CSS(`#contact-form button[type=submit]`)))
	waitJS(t, tab, "contact "+name+" listed", `document.querySelectorAll('#contacts tbody tr').length > `+strconv.Itoa(before), 10*time.Second)
	want := role
	if want == "" {
		want = "none"
	}
	if got := eval[string](t, tab, `[...document.querySelectorAll('#contacts tbody tr')].find(r => r.textContent.includes(`+jsString(name)+`))?.dataset.reference || ''`); got != want {
		t.Fatalf("contact %s listed as reference %q, want %q", name, got, want)
	}
}

// openStatusPage loads a customer's status page and returns its HTTP
// status.
func openStatusPage(t *testing.T, tab context.Context, url string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return resp.Status
}

// TestHelpdeskThroughTheConsole: an admin sets up a French-speaking
// customer with a maintenance contract and a reference person, and a
// technician; the technician files a ticket for that person, which is
// covered; the customer follows it on the status page in French (or
// Dutch), sees the note meant for them and not the internal one, and a
// wrong link reveals nothing.
func TestHelpdeskThroughTheConsole(t *testing.T) {
	s := newScene(t)
	r, admin := s.relay, s.console

	createCustomerUI(t, admin, r, "Boulangerie Dupont", "BE 0123.456.749", "fr")
	if vat := text(t, admin, `#customer-vat`); vat != "BE 0123.456.749" {
		t.Errorf("VAT number shown as %q, want it formatted as BE 0123.456.749", vat)
	}
	createContractUI(t, admin, "1200", "85")
	if rate := text(t, admin, `.contract .rate`); !strings.Contains(rate, "85") {
		t.Errorf("contract rate shown as %q, want 85 euros", rate)
	}
	addContactUI(t, admin, "Sophie Lambert", "sophie@boulangerie-dupont.be", "fr", "general")
	shot(t, admin, "customer")

	// The admin creates a technician and reads the password, shown once.
	goTo(t, admin, r, "/users", `#new-user`)
	run(t, admin, "create a technician",
		chromedp.SendKeys(chromedp.CSS(`#new-user input[name=email]`), "tom@softwarehuis-janssens.be"),
		chromedp.SendKeys(chromedp.CSS(`#new-user input[name=name]`), "Tom Technicus"),
	)
	chooseValue(t, admin, `#new-user select[name=role]`, "technician")
	run(t, admin, "submit the technician",
		chromedp.Click(chromedp.CSS(`#new-user button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-password`)),
	)
	password := text(t, admin, `#new-password`)
	if len(password) < 12 {
		t.Fatalf("generated password %q looks too short", password)
	}
	shot(t, admin, "users")

	// The technician, in a browser of their own, files a ticket for the
	// reference person, finding the customer with the search box.
	tech := newContext(t, s.browser)
	loginAs(t, tech, r, "tom@softwarehuis-janssens.be", password)
	if got := text(t, tech, `#me`); got != "Tom Technicus" {
		t.Errorf("logged in as %q, want Tom Technicus", got)
	}
	if eval[bool](t, tech, `document.getElementById('nav-users') !== null`) {
		t.Error("a technician sees the admin pages in the header")
	}
	run(t, tech, "type the subject and search the customer",
		chromedp.SendKeys(chromedp.CSS(`#new-ticket input[name=title]`), "La facture ne s'imprime pas"),
		chromedp.SendKeys(chromedp.CSS(`#new-ticket input[name=customerSearch]`), "Boulangerie"),
	)
	waitJS(t, tech, "customer found by the search", `(() => {
		const s = document.querySelector('#new-ticket select[name=customerId]');
		return s.selectedOptions[0]?.textContent.includes('Boulangerie Dupont') && s.dataset.loaded === s.value;
	})()`, 10*time.Second)
	chooseOption(t, tech, `#new-ticket select[name=contactId]`, "Sophie Lambert")
	if !strings.HasPrefix(text(t, tech, `#new-ticket select[name=contactId] option:checked`), "★") {
		t.Error("the reference person is not marked in the contact list")
	}
	waitJS(t, tech, "expected coverage", `document.querySelector('#new-ticket-hint .ok') !== null`, 5*time.Second)
	shot(t, tech, "new-ticket")
	run(t, tech, "create the ticket",
		chromedp.Click(chromedp.CSS(`#new-ticket button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#entitlement`)),
	)
	if got := eval[string](t, tech, `document.getElementById('entitlement').dataset.covered`); got != "true" {
		t.Fatalf("entitlement covered=%s, want true; reasons: %s", got, text(t, tech, `#entitlement`))
	}
	if eval[bool](t, tech, `document.getElementById('billable-warning') !== null`) {
		t.Fatal("a billable warning for a reference person with an active contract")
	}
	if got := text(t, tech, `#ticket-contact`); !strings.Contains(got, "Sophie Lambert") {
		t.Errorf("ticket contact %q, want Sophie Lambert", got)
	}

	// A note for the customer and an internal one.
	const public, internal = "Nous examinons votre imprimante demain matin.", "Klant belt vaak over hetzelfde."
	run(t, tech, "add a note visible to the customer",
		chromedp.SendKeys(chromedp.CSS(`#note-form textarea[name=body]`), public),
		chromedp.Click(chromedp.CSS(`#note-form input[name=visibleToCustomer]`)),
		chromedp.Click(chromedp.CSS(`#note-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.note[data-visible=true]`)),
	)
	run(t, tech, "add an internal note",
		chromedp.SendKeys(chromedp.CSS(`#note-form textarea[name=body]`), internal),
		chromedp.Click(chromedp.CSS(`#note-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.note[data-visible=false]`)),
	)
	// Staff decide the priority; the change is in the history.
	chooseValue(t, tech, `#ticket-edit select[name=priority]`, "high")
	run(t, tech, "save the ticket",
		chromedp.Click(chromedp.CSS(`#ticket-edit button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#history table`)),
	)
	statusURL := eval[string](t, tech, `document.getElementById('status-url').value`)
	if !strings.HasPrefix(statusURL, r.url+"/status/") {
		t.Fatalf("status link %q is not an absolute link to the status page", statusURL)
	}
	shot(t, tech, "ticket")

	// The customer's side: no login.
	customer := newContext(t, s.browser)
	if st := openStatusPage(t, customer, statusURL); st != 200 {
		t.Fatalf("status page: HTTP %d", st)
	}
	shot(t, customer, "status-fr")
	if got := text(t, customer, `#ticket-status`); got != "Nouveau" {
		t.Errorf("status page says %q, want the French Nouveau (the customer's language)", got)
	}
	page := eval[string](t, customer, `document.body.innerText`)
	if !strings.Contains(page, public) {
		t.Errorf("status page lacks the note for the customer:\n%s", page)
	}
	if strings.Contains(page, internal) {
		t.Errorf("status page shows the internal note:\n%s", page)
	}
	if st := openStatusPage(t, customer, statusURL+"?lang=nl"); st != 200 {
		t.Fatalf("status page in Dutch: HTTP %d", st)
	}
	if got := text(t, customer, `#ticket-status`); got != "Nieuw" {
		t.Errorf("status page with ?lang=nl says %q, want Nieuw", got)
	}

	// A wrong secret and a wrong reference get the same "not found".
	i := strings.LastIndex(statusURL, "/")
	ref := statusURL[strings.LastIndex(statusURL[:i], "/")+1 : i]
	secret := statusURL[i+1:]
	wrongSecret := statusURL[:i+1] + flipHex(secret)
	wrongRef := strings.Replace(statusURL, "/"+ref+"/", "/2099-999999/", 1)
	var pages []string
	for _, u := range []string{wrongSecret, wrongRef} {
		if st := openStatusPage(t, customer, u); st != 404 {
			t.Errorf("%s: HTTP %d, want 404", u, st)
		}
		if text(t, customer, `#not-found`) == "" {
			t.Errorf("%s: no not-found message", u)
		}
		pages = append(pages, eval[string](t, customer, `document.body.innerText`))
	}
	if pages[0] != pages[1] {
		t.Errorf("a wrong secret and a wrong reference give different pages:\n%s\n---\n%s", pages[0], pages[1])
	}
	if strings.Contains(pages[0], "Boulangerie") || strings.Contains(pages[0], ref) {
		t.Errorf("the not-found page tells about the ticket:\n%s", pages[0])
	}
}

// flipHex changes the last hex digit of s.
func flipHex(s string) string {
	if s == "" {
		return "0"
	}
	last := s[len(s)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return s[:len(s)-1] + string(repl)
}

// TestBillableForNonReferencePerson: a contact who is not a designated
// reference person has no included support, even with an active
// contract; the ticket page says the work will be billable and why.
func TestBillableForNonReferencePerson(t *testing.T) {
	s := newScene(t)
	r, admin := s.relay, s.console
	createCustomerUI(t, admin, r, "Garage Janssens", "", "nl")
	createContractUI(t, admin, "600", "75.50")
	addContactUI(t, admin, "Piet Janssens", "piet@garage-janssens.be", "nl", "")

	goTo(t, admin, r, "/tickets", `#new-ticket`)
	createTicket(t, admin, "Kassa telt verkeerd", "Garage Janssens", "Piet Janssens")
	run(t, admin, "billable warning", chromedp.WaitVisible(chromedp.CSS(`#billable-warning`)))
	reasons := eval[[]string](t, admin, `[...document.querySelectorAll('#billable-reasons li')].map(li => li.dataset.reason)`)
	if len(reasons) != 1 || reasons[0] != "not_reference_person" {
		t.Fatalf("billable reasons %v, want [not_reference_person]", reasons)
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	lang := eval[string](t, admin, `document.documentElement.lang`)
	want := cat.T(i18n.Lang(lang), "reason.not_reference_person")
	if got := text(t, admin, `#billable-reasons li`); got != want {
		t.Errorf("reason reads %q, want %q (%s)", got, want, lang)
	}
	shot(t, admin, "ticket-billable")

	// The list finds it by a word of its subject, and its status filter
	// leaves it out when it does not match.
	goTo(t, admin, r, "/tickets", `#ticket-filters`)
	run(t, admin, "search", chromedp.SendKeys(chromedp.CSS(`#ticket-filters input[name=q]`), "telt"))
	waitJS(t, admin, "search applied", `document.getElementById('ticket-list').dataset.query === '?q=telt'`, 5*time.Second)
	if got := eval[[]string](t, admin, `[...document.querySelectorAll('#tickets tbody tr td:nth-child(2)')].map(td => td.textContent)`); len(got) != 1 || got[0] != "Kassa telt verkeerd" {
		t.Errorf("search found %v", got)
	}
	shot(t, admin, "tickets")
	chooseValue(t, admin, `#ticket-filters select[name=status]`, "resolved")
	waitJS(t, admin, "status filter applied", `document.getElementById('ticket-list').dataset.query === '?q=telt&status=resolved'`, 5*time.Second)
	if !eval[bool](t, admin, `document.getElementById('tickets-empty') !== null`) {
		t.Error("a new ticket is listed under resolved")
	}
	if h := eval[string](t, admin, `location.hash`); h != "#/tickets?q=telt&status=resolved" {
		t.Errorf("filters not kept in the address: %s", h)
	}
}

// TestOverrideOutsideHours: with a calendar that never opens, starting a
// session asks for a reason; with one, the session starts.
func TestOverrideOutsideHours(t *testing.T) {
	s := newScene(t)
	r, admin := s.relay, s.console

	goTo(t, admin, r, "/calendar", `#calendar-form .period`)
	if n := eval[int](t, admin, `document.querySelectorAll('#calendar-form .period').length`); n != 7 {
		t.Fatalf("calendar shows %d periods, want the scene's 7", n)
	}
	eval[bool](t, admin, `(document.querySelectorAll('#calendar-form .remove-period').forEach(b => b.click()), true)`)
	run(t, admin, "save a calendar without opening hours",
		chromedp.Click(chromedp.CSS(`#save-calendar`)),
		chromedp.WaitVisible(chromedp.CSS(`#calendar-status[data-open=false]`)),
	)
	shot(t, admin, "calendar")

	goTo(t, admin, r, "/tickets", `#new-ticket`)
	createTicket(t, admin, "Dringend na de uren", sceneCustomer, "")
	if text(t, admin, `#taken-up`) == "" {
		t.Error("the ticket page does not say the desk is closed")
	}
	run(t, admin, "start a session outside hours",
		chromedp.Click(chromedp.CSS(`#start-session`)),
		chromedp.WaitVisible(chromedp.CSS(`#override-reason`)),
	)
	if text(t, admin, `#outside-hours`) == "" {
		t.Error("no explanation that it is outside hours")
	}
	if eval[bool](t, admin, `document.getElementById('session-code') !== null`) {
		t.Fatal("a code was shown without an override")
	}
	// No reason, no session.
	run(t, admin, "confirm without a reason", chromedp.Click(chromedp.CSS(`#confirm-override`)))
	waitJS(t, admin, "reason asked for", `document.querySelector('[data-error-for=overrideReason]').textContent !== ''`, 5*time.Second)
	shot(t, admin, "override")
	run(t, admin, "give a reason",
		chromedp.SendKeys(chromedp.CSS(`#override-reason`), "Kassa ligt plat tijdens de zaterdagmarkt"),
		chromedp.Click(chromedp.CSS(`#confirm-override`)),
		chromedp.WaitVisible(chromedp.CSS(`#session-code`)),
	)
	code := strings.ReplaceAll(text(t, admin, `#session-code`), " ", "")
	if len(code) != 12 {
		t.Fatalf("session code %q is not 12 digits", code)
	}
	var outside bool
	var reason string
	if err := r.db(t).QueryRow(`SELECT outside_hours, override_reason FROM remote_sessions`).Scan(&outside, &reason); err != nil {
		t.Fatal(err)
	}
	if !outside || reason != "Kassa ligt plat tijdens de zaterdagmarkt" {
		t.Errorf("stored session outside_hours=%v reason=%q", outside, reason)
	}
	run(t, admin, "open the session page",
		chromedp.Click(chromedp.CSS(`#open-session`)),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-status=waiting]`)),
	)
}

// TestFormErrors: what the API refuses shows next to the field at fault.
func TestFormErrors(t *testing.T) {
	s := newScene(t)
	r, admin := s.relay, s.console

	run(t, admin, "submit a ticket without subject", chromedp.Click(chromedp.CSS(`#new-ticket button[type=submit]`)))
	waitJS(t, admin, "error next to the subject", `document.querySelector('#new-ticket [data-error-for=title]').textContent !== ''`, 5*time.Second)
	if code := eval[string](t, admin, `document.querySelector('#new-ticket [data-error-for=title]').dataset.code`); code != "invalid" {
		t.Errorf("subject error code %q, want invalid", code)
	}
	if !eval[bool](t, admin, `document.querySelector('#new-ticket input[name=title]').getAttribute('aria-invalid') === 'true'`) {
		t.Error("the subject field is not marked invalid")
	}
	shot(t, admin, "ticket-error")
	// With a subject, the missing customer is next.
	run(t, admin, "submit a ticket without customer",
		chromedp.SendKeys(chromedp.CSS(`#new-ticket input[name=title]`), "Zonder klant"),
		chromedp.Click(chromedp.CSS(`#new-ticket button[type=submit]`)),
	)
	waitJS(t, admin, "error next to the customer", `document.querySelector('#new-ticket [data-error-for=customerId]').textContent !== ''`, 5*time.Second)
	if got := text(t, admin, `#new-ticket [data-error-for=title]`); got != "" {
		t.Errorf("the old subject error stays: %q", got)
	}

	createCustomerUI(t, admin, r, "Drukkerij Claes", "BE0402765675", "nl")
	goTo(t, admin, r, "/customers", `#new-customer`)
	run(t, admin, "a second customer with the same VAT number, written otherwise",
		chromedp.SendKeys(chromedp.CSS(`#new-customer input[name=name]`), "Drukkerij Claes bis"),
		chromedp.SendKeys(chromedp.CSS(`#new-customer input[name=vatNumber]`), "be 0402.765.675"),
		chromedp.Click(chromedp.CSS(`#new-customer button[type=submit]`)),
	)
	waitJS(t, admin, "conflict next to the VAT number", `document.querySelector('#new-customer [data-error-for=vatNumber]').dataset.code === 'conflict'`, 5*time.Second)
	if text(t, admin, `#new-customer [data-error-for=vatNumber]`) == "" {
		t.Error("no conflict message next to the VAT number")
	}
	shot(t, admin, "customer-conflict")
	if h := eval[string](t, admin, `location.hash`); !strings.HasPrefix(h, "#/customers") || strings.Contains(h, "/customers/") {
		t.Errorf("left the customers page after a refusal: %s", h)
	}
	if n := eval[int](t, admin, `document.querySelectorAll('#customers tbody tr').length`); n != 2 {
		t.Errorf("%d customers listed, want 2 (the scene's and Drukkerij Claes)", n)
	}
	// A VAT number with wrong check digits is invalid, not a conflict.
	eval[bool](t, admin, `(document.querySelector('#new-customer input[name=vatNumber]').value = '', true)`)
	run(t, admin, "a wrong VAT number",
		chromedp.SendKeys(chromedp.CSS(`#new-customer input[name=vatNumber]`), "BE0402765676"),
		chromedp.Click(chromedp.CSS(`#new-customer button[type=submit]`)),
	)
	waitJS(t, admin, "invalid VAT number", `document.querySelector('#new-customer [data-error-for=vatNumber]').dataset.code === 'invalid'`, 5*time.Second)
}

// TestAdminPages: the catalogue's coverage, the default hourly rate, a
// user's role and languages, and the calendar's errors, through the pages.
func TestAdminPages(t *testing.T) {
	s := newScene(t)
	r, admin := s.relay, s.console

	// Installs become covered by default, and stay so after a reload.
	goTo(t, admin, r, "/categories", `#categories`)
	if eval[bool](t, admin, `document.getElementById('covered-install_upgrade').checked`) {
		t.Fatal("installs are covered by default already")
	}
	run(t, admin, "cover installs",
		chromedp.Click(chromedp.CSS(`#covered-install_upgrade`)),
		chromedp.WaitVisible(chromedp.CSS(`#categories-saved`)),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#covered-install_upgrade`)),
	)
	if !eval[bool](t, admin, `document.getElementById('covered-install_upgrade').checked`) {
		t.Error("the category's coverage did not stick")
	}
	shot(t, admin, "categories")

	// A default hourly rate from today, replacing the one of the first
	// start.
	goTo(t, admin, r, "/rates", `#new-rate`)
	run(t, admin, "add a default rate",
		chromedp.SendKeys(chromedp.CSS(`#new-rate input[name=rate]`), "95.50"),
		chromedp.Click(chromedp.CSS(`#new-rate button[type=submit]`)),
	)
	waitJS(t, admin, "the new rate in force", `document.querySelectorAll('#rates tbody tr').length === 2 && document.querySelectorAll('#rates tr.current').length === 1`, 10*time.Second)
	if got := text(t, admin, `#rates tr.current`); !strings.Contains(got, "95") || !strings.Contains(got, "50") {
		t.Errorf("current rate reads %q, want 95.50 euros", got)
	}
	// Not an amount: said next to the field, nothing sent.
	run(t, admin, "a rate that is not an amount",
		chromedp.SendKeys(chromedp.CSS(`#new-rate input[name=rate]`), "-3"),
		chromedp.Click(chromedp.CSS(`#new-rate button[type=submit]`)),
	)
	waitJS(t, admin, "amount error", `document.querySelector('#new-rate [data-error-for=centsPerHour]').dataset.code === 'amount'`, 5*time.Second)
	if n := eval[int](t, admin, `document.querySelectorAll('#rates tbody tr').length`); n != 2 {
		t.Errorf("%d rates listed after a refused one, want 2 (the first start's and 95.50)", n)
	}
	shot(t, admin, "rates")

	// A technician who also speaks French leaves the desk.
	goTo(t, admin, r, "/users", `#new-user`)
	run(t, admin, "create a technician",
		chromedp.SendKeys(chromedp.CSS(`#new-user input[name=email]`), "an@softwarehuis-janssens.be"),
		chromedp.SendKeys(chromedp.CSS(`#new-user input[name=name]`), "An Peeters"),
		chromedp.Click(chromedp.CSS(`#new-user button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-password`)),
		chromedp.Click(chromedp.CSS(`#users tr[data-email="an@softwarehuis-janssens.be"] .edit-user`)),
		chromedp.WaitVisible(chromedp.CSS(`#user-edit`)),
		chromedp.Click(chromedp.CSS(`#user-edit input[name=languages][value=fr]`)),
		chromedp.Click(chromedp.CSS(`#user-edit input[name=active]`)),
		chromedp.Click(chromedp.CSS(`#user-edit button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#users tr.inactive[data-email="an@softwarehuis-janssens.be"]`)),
	)
	if got := text(t, admin, `#users tr[data-email="an@softwarehuis-janssens.be"] td:nth-child(5)`); got != "NL, FR" {
		t.Errorf("languages listed as %q, want NL, FR", got)
	}
	// The last admin cannot demote themselves: the refusal shows at the role.
	run(t, admin, "demote the last admin",
		chromedp.Click(chromedp.CSS(`#users tr[data-email=admin] .edit-user`)),
		chromedp.WaitVisible(chromedp.CSS(`#user-edit`)),
	)
	chooseValue(t, admin, `#user-edit select[name=role]`, "technician")
	run(t, admin, "save", chromedp.Click(chromedp.CSS(`#user-edit button[type=submit]`)))
	waitJS(t, admin, "last admin refusal", `document.querySelector('#user-edit [data-error-for=role]').dataset.code === 'conflict'`, 5*time.Second)

	// The calendar names the period at fault.
	goTo(t, admin, r, "/calendar", `#calendar-form .period`)
	eval[bool](t, admin, `(() => {
		const p = document.querySelectorAll('#calendar-form .period')[2];
		p.querySelector('input[name=from]').value = '18:00';
		p.querySelector('input[name=to]').value = '09:00';
		return true;
	})()`)
	run(t, admin, "save a period that ends before it starts", chromedp.Click(chromedp.CSS(`#save-calendar`)))
	waitJS(t, admin, "error at the third period", `document.querySelectorAll('#calendar-form .period')[2].querySelector('.field-error').textContent !== ''`, 5*time.Second)
	shot(t, admin, "calendar-error")
	eval[bool](t, admin, `(document.querySelectorAll('#calendar-form .period')[2].querySelector('input[name=from]').value = '08:00', true)`)
	run(t, admin, "add a closure",
		chromedp.Click(chromedp.CSS(`#add-closure`)),
		chromedp.SendKeys(chromedp.CSS(`#closures .closure input[name=from]`), "12-24"),
		chromedp.SendKeys(chromedp.CSS(`#closures .closure input[name=to]`), "01-01"),
		chromedp.SendKeys(chromedp.CSS(`#closures .closure input[name=label]`), "Kerstverlof"),
	)
	chooseValue(t, admin, `#calendar-form select[name=holidays]`, "BE")
	run(t, admin, "save the calendar",
		chromedp.Click(chromedp.CSS(`#save-calendar`)),
		chromedp.WaitVisible(chromedp.CSS(`#calendar-saved`)),
	)
	var cal struct {
		Weekly []struct {
			Weekday  int
			From, To string
		}
		Holidays string
		Closures []struct{ From, To, Label string }
	}
	if err := json.Unmarshal(apiCall(t, admin, "GET", "/calendar", nil, 200), &cal); err != nil {
		t.Fatal(err)
	}
	if cal.Holidays != "BE" || len(cal.Closures) != 1 || cal.Closures[0].Label != "Kerstverlof" || len(cal.Weekly) != 7 {
		t.Errorf("saved calendar %+v", cal)
	}
}
