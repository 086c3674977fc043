package console

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/store"
)

// The customer portal's JSON API under /portaal/api/ (issue 21, first
// part): a customer person signs in with a one-time link and sees their
// own company's tickets. Customers are a principal of their own: their
// cookie is another cookie, their sessions another table, so a portal
// session never passes a console check, nor a console login a portal one.
// It lives in this package because it answers with the console's own
// entitlement, mail and status code: one path, not a twin.

const (
	portalCookie = "meekijk_portal"
	// PortalLinkTTL is how long a sign-in link stays valid.
	PortalLinkTTL = 30 * time.Minute
	// portalSessionTTL is how long a portal sign-in lasts.
	portalSessionTTL = 8 * time.Hour
)

type portalTicketJSON struct {
	ID                int64     `json:"id"`
	Reference         string    `json:"reference"`
	Title             string    `json:"title"`
	Kind              string    `json:"kind"`
	Status            string    `json:"status"`
	RequestedPriority string    `json:"requestedPriority"`
	UpdatedAt         time.Time `json:"updatedAt"`
	// StatusPath is the ticket's status page: sessions, their billing
	// and receipts, as the customer's status link shows them.
	StatusPath string `json:"statusPath"`
}

func portalTicketOf(t store.Ticket) portalTicketJSON {
	return portalTicketJSON{ID: t.ID, Reference: t.Reference, Title: t.Title, Kind: t.Kind, Status: t.Status,
		RequestedPriority: t.RequestedPriority, UpdatedAt: t.UpdatedAt, StatusPath: statusPath(t)}
}

// portalTickets lists the signed-in person's company's tickets.
func (c *console) portalTickets(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	ts, err := c.Store.Tickets(r.Context(), store.TicketFilter{CustomerID: who.CustomerID})
	if err != nil {
		return err
	}
	out := []portalTicketJSON{}
	for _, t := range ts {
		out = append(out, portalTicketOf(t))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// portalTicketFor returns a ticket of the person's company; another
// company's ticket is "not found", exactly as one that does not exist.
func (c *console) portalTicketFor(r *http.Request, who store.Contact) (store.Ticket, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.Ticket{}, err
	}
	t, err := c.Store.Ticket(r.Context(), id)
	if err != nil || t.CustomerID != who.CustomerID {
		return store.Ticket{}, httpx.Errorf(http.StatusNotFound, "not_found", "not found")
	}
	return t, nil
}

type portalNoteJSON struct {
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"createdAt"`
}

// portalSessionJSON is one session of a ticket as the status page shows
// it (ticketSessions): the same figures, for the portal's ticket page.
type portalSessionJSON struct {
	ID        int64     `json:"id"`
	StartedAt time.Time `json:"startedAt"`
	Running   bool      `json:"running"`
	// WorkedMinutes is the time worked, rounded up; BilledMinutes what its
	// intervention bills once the session is over (the minimum and the
	// rounding included, and shared with the ticket's other sessions of
	// that day when Merged).
	WorkedMinutes int64 `json:"workedMinutes"`
	BilledMinutes int64 `json:"billedMinutes"`
	Merged        bool  `json:"merged"`
	// Billing is false when the desk cannot bill yet (no rate): covered
	// and billed are then unknown and left out.
	Billing bool   `json:"billing"`
	Covered bool   `json:"covered"`
	Reasons string `json:"reasons"` // why it is billable, in the person's language
	// ReceiptPath opens the session's receipt on the ticket's status page;
	// "" while it runs or when no time was worked.
	ReceiptPath string `json:"receiptPath"`
}

// portalSessions answers the ticket's sessions in the person's language.
func (c *console) portalSessions(ctx context.Context, t store.Ticket, who store.Contact) ([]portalSessionJSON, error) {
	ss, err := c.ticketSessions(ctx, t, i18n.Lang(who.Lang))
	out := []portalSessionJSON{}
	page := statusPath(t)
	if helpdesk.OneOf(who.Lang, helpdesk.Languages) {
		page += "?lang=" + who.Lang
	}
	for _, s := range ss {
		p := portalSessionJSON{ID: s.ID, StartedAt: s.When, Running: s.Running, WorkedMinutes: s.Minutes,
			Billing: s.Billing, Covered: s.Covered && s.Seconds > 0, Reasons: s.Reasons} // nothing worked is no coverage
		if s.Receipt != nil {
			p.BilledMinutes, p.Merged = s.Receipt.BilledMinutes, s.Receipt.Merged
			p.ReceiptPath = page + "#session-" + strconv.FormatInt(s.ID, 10)
		}
		out = append(out, p)
	}
	return out, err
}

// portalTicket answers one ticket with the notes the customer may see.
func (c *console) portalTicket(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	t, err := c.portalTicketFor(r, who)
	if err != nil {
		return err
	}
	notes, err := c.Store.Notes(r.Context(), t.ID, true)
	if err != nil {
		return err
	}
	out := struct {
		portalTicketJSON
		Notes []portalNoteJSON `json:"notes"`
		// Approvals are the questions asked of the customer, open and
		// answered: estimates over an hour and out-of-contract work.
		Approvals []approvalJSON `json:"approvals"`
		// Estimates are the approvals of kind "estimate" alone.
		Estimates []approvalJSON   `json:"estimates"`
		Files     []ticketFileJSON `json:"files"`
		// Sessions, newest first, with their receipts.
		Sessions []portalSessionJSON `json:"sessions"`
	}{portalTicketOf(t), []portalNoteJSON{}, nil, []approvalJSON{}, nil, nil}
	if out.Files, err = c.ticketFiles(r, t.ID); err != nil {
		return err
	}
	if out.Sessions, err = c.portalSessions(r.Context(), t, who); err != nil {
		return err
	}
	if out.Approvals, err = c.ticketQuestions(r.Context(), t, i18n.Lang(who.Lang)); err != nil {
		return err
	}
	for _, a := range out.Approvals {
		if a.Kind == store.EstimateKind {
			out.Estimates = append(out.Estimates, a)
		}
	}
	for _, n := range notes {
		out.Notes = append(out.Notes, portalNoteJSON{Author: n.AuthorName, Body: n.Body, CreatedAt: n.CreatedAt})
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// portalAddNote adds the person's note to a ticket of their company.
func (c *console) portalAddNote(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	t, err := c.portalTicketFor(r, who)
	if err != nil {
		return err
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 16<<10); err != nil {
		return err
	}
	body, err := text("body", in.Body, 10000, false)
	if err != nil {
		return err
	}
	if err := c.Store.AddCustomerNote(r.Context(), store.Note{TicketID: t.ID, ContactID: who.ID, Body: body}, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// portalFileRequest registers the person's request at once, with its
// reference: kind, the priority they would like, the product or module
// and the description (the ticket's first note, visible to them). It says
// whether the work is covered and why, by the console's own entitlement,
// and when it will be taken up; the confirmation mail is the console's.
func (c *console) portalFileRequest(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	var in struct {
		Kind        string `json:"kind"`
		Priority    string `json:"priority"` // the priority they would like; staff decide
		Product     string `json:"product"`
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	// The same fields come as JSON, or as a form with files ("attachment"),
	// written to disk before the ticket and removed unless it commits.
	var up *upload
	defer func() {
		if up != nil { // the request was refused or failed: its files go
			up.remove()
		}
	}()
	var files []store.Attachment
	if isMultipart(r) {
		var err error
		if up, err = c.readUpload(w, r); err != nil {
			return err
		}
		f := up.fields
		in.Kind, in.Priority, in.Product, in.Title, in.Description = f["kind"], f["priority"], f["product"], f["title"], f["description"]
		files = up.files
	} else if err := httpx.DecodeJSON(w, r, &in, 32<<10); err != nil {
		return err
	}
	title, err := text("title", in.Title, 200, false)
	product, perr := text("product", in.Product, 200, true)
	desc, derr := text("description", in.Description, 10000, false)
	if err = firstErr(oneOf("kind", in.Kind, helpdesk.Kinds), oneOf("priority", in.Priority, helpdesk.Priorities), err, perr, derr); err != nil {
		return err
	}
	ctx := r.Context()
	cat, err := c.categoryByCode(ctx, helpdesk.DefaultCategory(in.Kind))
	if err != nil {
		return err
	}
	if product != "" {
		desc = product + "\n\n" + desc
	}
	t, err := c.Store.FileRequest(ctx, store.NewTicket{Title: title, CustomerID: who.CustomerID, ContactID: who.ID, Kind: in.Kind,
		CategoryID: cat, RequestedPriority: in.Priority, Priority: "normal", Impact: "medium"},
		store.Note{ContactID: who.ID, VisibleToCustomer: true, Body: desc}, files)
	if err != nil {
		return err
	}
	up = nil // committed: the files are the ticket's now
	c.log.Info("request filed in the portal", "ticket", t.Reference, "contact", who.ID, "files", len(files))
	if err := c.mailTicketCreated(ctx, t); err != nil {
		c.log.Error("ticket confirmation mail not queued", "ticket", t.Reference, "err", err)
	}
	cal, err := c.calendarOf(ctx)
	if err != nil {
		return err
	}
	now := c.Now()
	v, err := c.entitlement(ctx, t, now, false, cal.TimeZone)
	if err != nil {
		return err
	}
	out := struct {
		portalTicketJSON
		Covered   bool              `json:"covered"`
		Reasons   []helpdesk.Reason `json:"reasons"`
		TakenUpAt time.Time         `json:"takenUpAt"`
	}{portalTicketOf(t), v.Covered, v.Reasons, now}
	if !cal.IsOpen(now) {
		out.TakenUpAt, _ = cal.NextOpening(now)
	}
	httpx.JSON(w, http.StatusCreated, out)
	return nil
}

// portalHours answers the company's prepaid hours today and its invoices
// and credit notes; each document downloads as its Peppol XML.
func (c *console) portalHours(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	ctx := r.Context()
	cu, err := c.Store.Customer(ctx, who.CustomerID)
	if err != nil {
		return err
	}
	balance, err := c.prepaidNow(ctx, cu)
	if err != nil {
		return err
	}
	invs, err := c.Store.Invoices(ctx, cu.ID)
	if err != nil {
		return err
	}
	if invs == nil {
		invs = []store.Invoice{}
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"prepaid": balance, "invoices": invs})
	return nil
}

// portalRoutes registers the customer portal's API. The portal is its own
// principal, checked by c.signedIn rather than by a role; the staff's
// side of it (links, invitations, files, announced work) by role.
func (c *console) portalRoutes(public func(string, http.Handler), protect func(string, apiFunc, []store.Role), staff, admin []store.Role) {
	protect("POST /api/v1/contacts/{id}/portal-link", c.staffPortalLink, staff)
	protect("POST /api/v1/contacts/{id}/portal-invite", c.invitePortal, admin)

	public("POST /portaal/api/link", c.handle(c.portalRequestLink))
	public("POST /portaal/api/signin", c.handle(c.portalSignIn))
	public("POST /portaal/api/password-signin", c.handle(c.portalPasswordSignIn))
	public("POST /portaal/api/signout", c.signedIn(c.portalSignOut))
	public("GET /portaal/api/me", c.signedIn(c.portalMe))
	public("PUT /portaal/api/me/lang", c.signedIn(c.portalSetLang))
	public("PUT /portaal/api/password", c.signedIn(c.portalSetPassword))

	public("GET /portaal/api/tickets", c.signedIn(c.portalTickets))
	public("POST /portaal/api/tickets", c.signedIn(c.portalFileRequest))
	public("GET /portaal/api/tickets/{id}", c.signedIn(c.portalTicket))
	public("POST /portaal/api/tickets/{id}/notes", c.signedIn(c.portalAddNote))
	public("POST /portaal/api/tickets/{id}/estimates/{approval}/approve", c.signedIn(c.portalApprove))
	public("POST /portaal/api/tickets/{id}/approvals/{approval}", c.signedIn(c.portalApprove))
	protect("GET /api/v1/tickets/{id}/approvals", c.staffApprovals, staff)
	protect("POST /api/v1/tickets/{id}/out-of-contract", c.announceOutOfContract, staff)
	public("POST /portaal/api/tickets/{id}/files", c.signedIn(c.portalAddFiles))
	public("GET /portaal/api/tickets/{id}/files/{file}", c.signedIn(c.portalFile))
	protect("GET /api/v1/tickets/{id}/files", c.staffTicketFiles, staff)
	protect("GET /api/v1/tickets/{id}/files/{file}", c.staffTicketFile, staff)
	public("GET /portaal/api/hours", c.signedIn(c.portalHours))
	public("GET /portaal/api/invoices", c.signedIn(c.portalInvoices))
	public("GET /portaal/api/invoices/{number}", c.signedIn(c.portalInvoiceXML))
	public("GET /portaal/api/invoices/{number}/view", c.signedIn(c.portalInvoiceView))
}
