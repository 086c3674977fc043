package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/calendar"
	"github.com/meekijk/meekijk/internal/consent"
	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/store"
)

// Questions the customer answers before the work (DOMAIN.md: "the desk
// says in advance when work falls outside the contract"; "more than one
// hour ... waits for the customer's approval"): an estimate over an hour
// of billable work, and out-of-contract work the desk announces. Both are
// estimate rows of their kind, answered through one path
// (approveEstimate) whether from the mailed link or the portal, and
// recorded alike: text, version, SHA-256, who, when.

// outOfContractVersion names the wording of the out-of-contract statement.
const outOfContractVersion = "out-of-contract-1"

// approvalVersion is the version of the text the customer approves.
func approvalVersion(kind string) string {
	if kind == store.OutOfContractKind {
		return outOfContractVersion
	}
	return estimateVersion
}

// approvalText is the statement the customer approves, in lang.
func (c *console) approvalText(lang i18n.Lang, t store.Ticket, e store.Estimate) string {
	if e.Kind != store.OutOfContractKind {
		return c.estimateText(lang, t, e)
	}
	return c.translator(lang)("approval.out_of_contract.text", "ref", t.Reference, "description", e.Description,
		"reason", e.Reason, "minutes", strconv.FormatInt(e.Minutes, 10), "billed", strconv.FormatInt(e.BilledMinutes, 10),
		"amount", consent.Euros(lang, e.AmountCents), "vat", consent.Euros(lang, e.VATCents),
		"total", consent.Euros(lang, e.AmountCents+e.VATCents))
}

// needsApproval: out-of-contract work always; an estimate when it is of
// billable work over an hour.
func needsApproval(e store.Estimate) bool {
	return e.Kind == store.OutOfContractKind || (e.AmountCents > 0 && e.Minutes > billing.EstimateApprovalMinutes)
}

type approvalJSON struct {
	Kind          string `json:"kind"`
	ID            int64  `json:"id"`
	Description   string `json:"description"`
	Reason        string `json:"reason,omitempty"`
	Minutes       int64  `json:"minutes"`
	BilledMinutes int64  `json:"billedMinutes"`
	AmountCents   int64  `json:"amountCents"`
	VATCents      int64  `json:"vatCents"`
	// Text is the statement to approve in the reader's language, or the
	// one approved; Version goes back with the answer.
	Text     string          `json:"text"`
	Version  string          `json:"version"`
	Approval *store.Approved `json:"approval"`
	// Refusal is the customer's refusal, recorded as an approval is.
	Refusal *store.Approved `json:"refusal"`
	// ApprovedBy and RefusedBy name who answered, as people read it (""
	// while open).
	ApprovedBy string `json:"approvedBy"`
	RefusedBy  string `json:"refusedBy"`
}

// ticketQuestions lists the ticket's questions, open and answered, worded in
// lang.
func (c *console) ticketQuestions(ctx context.Context, t store.Ticket, lang i18n.Lang) ([]approvalJSON, error) {
	es, err := c.Store.Estimates(ctx, t.ID)
	out := []approvalJSON{}
	for _, e := range es {
		if !needsApproval(e) {
			continue
		}
		a := approvalJSON{Kind: e.Kind, ID: e.ID, Description: e.Description, Reason: e.Reason, Minutes: e.Minutes,
			BilledMinutes: e.BilledMinutes, AmountCents: e.AmountCents, VATCents: e.VATCents,
			Text: c.approvalText(lang, t, e), Version: approvalVersion(e.Kind), Approval: e.Approval, Refusal: e.Refusal}
		if ans := answerOf(e); ans != nil { // what was answered, not today's wording
			a.Text, a.Version = ans.Text, ans.Version
		}
		if e.Approval != nil {
			a.ApprovedBy = c.approverName(ctx, e.Approval.By)
		}
		if e.Refusal != nil {
			a.RefusedBy = c.approverName(ctx, e.Refusal.By)
		}
		out = append(out, a)
	}
	return out, err
}

// approverName is the name of the contact an approval's "contact:ID"
// names, or the recorded name itself.
func (c *console) approverName(ctx context.Context, by string) string {
	id, err := strconv.ParseInt(strings.TrimPrefix(by, "contact:"), 10, 64)
	if err != nil || !strings.HasPrefix(by, "contact:") {
		return by
	}
	if ct, err := c.Store.Contact(ctx, id); err == nil {
		return ct.Name
	}
	return by
}

// portalApprove: the person answers a question on a ticket of their
// company, in the language and text version the portal showed: approves
// it (accept, the box ticked) or refuses it (refuse).
func (c *console) portalApprove(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	t, err := c.portalTicketFor(r, who)
	if err != nil {
		return err
	}
	aid, err := pathID(r, "approval")
	if err != nil {
		return err
	}
	var in struct {
		Lang    string `json:"lang"`
		Version string `json:"version"`
		Accept  bool   `json:"accept"`
		Refuse  bool   `json:"refuse"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	es, err := c.Store.Estimates(r.Context(), t.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(es, func(e store.Estimate) bool { return e.ID == aid && needsApproval(e) })
	switch {
	case i < 0:
		return httpx.Errorf(http.StatusNotFound, "not_found", "not found")
	case !in.Accept && !in.Refuse:
		return httpx.FieldError("accept", "tick the box to approve")
	case in.Accept && in.Refuse:
		return httpx.FieldError("accept", "approve or refuse, not both")
	case !helpdesk.OneOf(in.Lang, helpdesk.Languages):
		return httpx.FieldError("lang", "unknown language")
	case in.Version != approvalVersion(es[i].Kind):
		return httpx.Errorf(http.StatusConflict, "text_changed", "the text changed: reload the page")
	case answerOf(es[i]) != nil:
		return httpx.Errorf(http.StatusConflict, "conflict", "this was answered already")
	}
	if err := c.answerEstimate(r, es[i], t, who.ID, in.Lang, in.Accept); err != nil {
		return err
	}
	c.log.Info("answered in the portal", "ticket", t.Reference, "kind", es[i].Kind, "id", aid, "contact", who.ID, "approved", in.Accept)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// check validates an estimate's minutes and description, cleaning the
// description.
func (in *estimateIn) check() error {
	if in.Minutes < 1 || in.Minutes > 100*60 {
		return httpx.FieldError("minutes", "minutes must be 1 to 6000")
	}
	var err error
	in.Description, err = text("description", in.Description, 500, false)
	return err
}

// ticketAndCalendar returns a ticket and the desk's calendar, which
// pricing work on it needs.
func (c *console) ticketAndCalendar(ctx context.Context, id int64) (store.Ticket, calendar.Calendar, error) {
	t, err := c.Store.Ticket(ctx, id)
	if err != nil {
		return t, calendar.Calendar{}, err
	}
	cal, err := c.calendarOf(ctx)
	return t, cal, err
}

// estimateAnswer is a new estimate (or announced work) and whether its
// approval link was mailed.
type estimateAnswer struct {
	store.Estimate
	Mailed bool `json:"mailed"`
}

// priceWork prices minutes of billable work for the ticket's customer at
// the rate in force today, as the statement would bill it.
func (c *console) priceWork(ctx context.Context, t store.Ticket, minutes int64, cal calendar.Calendar, now time.Time) (store.Estimate, error) {
	day := localDate(cal.TimeZone, now)
	cph, ok, err := c.rateOn(ctx, t.CustomerID, day)
	if err != nil {
		return store.Estimate{}, err
	}
	if !ok {
		return store.Estimate{}, httpx.Errorf(http.StatusConflict, "cannot_price", "no hourly rate in force on %s", day)
	}
	set, err := c.Store.BillingSettings(ctx, cal.TimeZone)
	if err != nil {
		return store.Estimate{}, err
	}
	e := store.Estimate{TicketID: t.ID, Minutes: minutes, CentsPerHour: cph}
	e.BilledMinutes, e.AmountCents, e.VATCents = billing.PriceEstimate(minutes, cph, 0, set)
	return e, nil
}

// announceOutOfContract: the desk says in advance that work on a ticket
// falls outside the contract, what it is, why, and what it will cost; the
// customer approves it in the portal before the work starts.
func (c *console) announceOutOfContract(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		estimateIn
		Reason string `json:"reason"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return err
	}
	reason, err := text("reason", in.Reason, 300, false)
	if err = firstErr(in.check(), err); err != nil {
		return err
	}
	ctx := r.Context()
	t, cal, err := c.ticketAndCalendar(ctx, id)
	if err != nil {
		return err
	}
	e, err := c.priceWork(ctx, t, in.Minutes, cal, c.Now())
	if err != nil {
		return err
	}
	e.Kind, e.Description, e.Reason, e.CreatedBy = store.OutOfContractKind, in.Description, reason, login(r).User.ID
	// The contact is told by mail, with a link to approve it (the
	// estimate's page), as well as in the portal.
	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	m, err := c.estimateMail(ctx, t, e, hex.EncodeToString(tok))
	if err != nil {
		return err
	}
	if e, err = c.Store.CreateEstimate(ctx, e, hex.EncodeToString(tok), m); err != nil {
		return err
	}
	if m != nil {
		c.Mail.Wake()
	}
	c.log.Info("out-of-contract work announced", "ticket", t.Reference, "minutes", e.Minutes, "by", login(r).User.ID, "mailed", m != nil)
	httpx.JSON(w, http.StatusCreated, estimateAnswer{e, m != nil})
	return nil
}

// staffApprovals lists a ticket's questions and their answers, as the
// technician sees them on the ticket.
func (c *console) staffApprovals(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := c.Store.Ticket(r.Context(), id)
	if err != nil {
		return err
	}
	out, err := c.ticketQuestions(r.Context(), t, i18n.Lang(login(r).User.Lang))
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}
