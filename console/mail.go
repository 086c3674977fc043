package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/consent"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/mail"
	"github.com/meekijk/meekijk/internal/store"
)

// E-mail to customers (docs/mail.md): the confirmation of a new ticket
// with its reference and status link, the approval link of an estimate
// over an hour, and the receipt after a session. Mails are queued in the
// database; the relay's mail.Worker sends them.

// mailSettings are the SMTP settings, or not configured without a worker.
func (c *console) mailSettings(ctx context.Context) (mail.Settings, error) {
	if c.Mail == nil {
		return mail.Settings{}, nil
	}
	s, _, err := mail.LoadSettings(ctx, c.Store, c.Mail.Key())
	return s, err
}

// mailTo is the contact's address and language when mail can reach them.
func (c *console) mailTo(ctx context.Context, contactID int64) (to, lang, name string, ok bool, err error) {
	if contactID == 0 {
		return "", "", "", false, nil
	}
	ct, err := c.Store.Contact(ctx, contactID)
	if err != nil {
		return "", "", "", false, err
	}
	a, perr := netmail.ParseAddress(ct.Email)
	if ct.Email == "" || perr != nil {
		return "", "", "", false, nil
	}
	return a.Address, ct.Lang, ct.Name, true, nil
}

// signature is the desk's name under a mail.
func (c *console) signature(ctx context.Context) string {
	if co, err := c.company(ctx); err == nil && co.Name != "" {
		return co.Name
	}
	return "Meekijk"
}

// mailTicketCreated queues the confirmation of a new ticket to its
// contact. Mail not configured, or a contact without an address, sends
// nothing: the reference is on the console and the phone.
func (c *console) mailTicketCreated(ctx context.Context, t store.Ticket) error {
	s, err := c.mailSettings(ctx)
	if err != nil || !s.Configured() {
		return err
	}
	to, lang, name, ok, err := c.mailTo(ctx, t.ContactID)
	if err != nil || !ok {
		return err
	}
	tr := c.translator(i18n.Lang(lang))
	link := strings.TrimRight(s.PublicURL, "/") + statusPath(t) + "?lang=" + lang
	_, err = c.Store.EnqueueMail(ctx, store.Mail{Kind: store.MailTicketConfirmation, Ref: t.Reference, To: to, Lang: lang,
		Subject: tr("mail.ticket.subject", "ref", t.Reference),
		Body: tr("mail.ticket.body", "name", name, "title", t.Title, "ref", t.Reference, "link", link,
			"company", c.signature(ctx))})
	if err == nil {
		c.Mail.Wake()
	}
	return err
}

// Receipts returns the mail worker's sweep: for every session that ended
// since mail was configured and has no receipt yet, the receipt is queued
// to the ticket's contact (or recorded as not sent, and why).
func Receipts(st *store.Store, now func() time.Time) func(ctx context.Context, s mail.Settings, since time.Time) error {
	c := &console{Config: Config{Store: st, Now: now}}
	if s, err := newStatusPages(); err == nil {
		c.status = s
	}
	return c.mailReceipts
}

func (c *console) mailReceipts(ctx context.Context, s mail.Settings, since time.Time) error {
	if c.status == nil {
		return errors.New("console: no catalog for receipts")
	}
	ids, err := c.Store.EndedSessionsWithoutReceipt(ctx, since, 50)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := c.mailReceipt(ctx, id, s.PublicURL); err != nil {
			return fmt.Errorf("console: receipt of session %d: %w", id, err)
		}
	}
	return nil
}

func (c *console) mailReceipt(ctx context.Context, sessionID int64, publicURL string) error {
	ref := strconv.FormatInt(sessionID, 10)
	sess, err := c.Store.Session(ctx, sessionID)
	if err != nil {
		return err
	}
	t, err := c.Store.Ticket(ctx, sess.TicketID)
	if err != nil {
		return err
	}
	to, lang, name, ok, err := c.mailTo(ctx, t.ContactID)
	if err != nil {
		return err
	}
	if !ok {
		return c.Store.SkipMail(ctx, store.MailReceipt, ref, "the ticket's contact has no e-mail address")
	}
	set, cbs, err := c.billingOf(ctx, store.BillingFilter{SessionID: sessionID})
	if err != nil {
		return err
	}
	var worked, billed int64
	if len(cbs) > 0 {
		st, err := statementOf(cbs[0], set)
		if err != nil {
			return err
		}
		worked, billed = st.Totals.WorkedMinutes, st.Totals.BilledMinutes
	}
	tr := c.translator(i18n.Lang(lang))
	link := strings.TrimRight(publicURL, "/") + statusPath(t) + "?lang=" + lang
	loc, err := c.deskLocation(ctx)
	if err != nil {
		return err
	}
	_, err = c.Store.EnqueueMail(ctx, store.Mail{Kind: store.MailReceipt, Ref: ref, To: to, Lang: lang,
		Subject: tr("mail.receipt.subject", "ref", t.Reference),
		Body: tr("mail.receipt.body", "name", name, "ref", t.Reference, "date", sess.EndedAt.In(loc).Format("02/01/2006 15:04"),
			"worked", strconv.FormatInt(worked, 10), "billed", strconv.FormatInt(billed, 10), "link", link,
			"company", c.signature(ctx))})
	return err
}

// estimateIn is a technician's estimate before the appointment.
type estimateIn struct {
	Minutes     int64  `json:"minutes"`
	Description string `json:"description"`
}

// estimateVersion names the wording of the approval the customer gives
// through the mailed link; a new wording gets a new version.
const estimateVersion = "estimate-mail-1"

// createEstimate records an estimate on a ticket. Billable work over an
// hour waits for the customer's approval: the contact gets a link, in
// their language, where they approve it.
func (c *console) createEstimate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in estimateIn
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	ctx := r.Context()
	t, cal, err := c.ticketAndCalendar(ctx, id)
	if err != nil {
		return err
	}
	now := c.Now()
	v, err := c.entitlement(ctx, t, now, false, cal.TimeZone)
	if err != nil {
		return err
	}
	e := store.Estimate{TicketID: id, Minutes: in.Minutes, Description: in.Description, CreatedBy: login(r).User.ID}
	var m *store.Mail
	token := make([]byte, 24)
	_, _ = rand.Read(token)
	tok := hex.EncodeToString(token)
	if !v.Covered {
		priced, err := c.priceWork(ctx, t, in.Minutes, cal, now)
		if err != nil {
			return err
		}
		e.CentsPerHour, e.BilledMinutes, e.AmountCents, e.VATCents = priced.CentsPerHour, priced.BilledMinutes, priced.AmountCents, priced.VATCents
		if in.Minutes > billing.EstimateApprovalMinutes {
			if m, err = c.estimateMail(ctx, t, e, tok); err != nil {
				return err
			}
		}
	}
	if e, err = c.Store.CreateEstimate(ctx, e, tok, m); err != nil {
		return err
	}
	if m != nil {
		c.Mail.Wake()
	}
	httpx.JSON(w, http.StatusCreated, estimateAnswer{e, m != nil})
	return nil
}

// rateOn is the hourly rate for the customer on day: its contract's when
// one is in force, else the desk's default.
func (c *console) rateOn(ctx context.Context, customerID int64, day string) (int64, bool, error) {
	if customerID != 0 {
		contract, ok, err := c.Store.ContractOn(ctx, customerID, day)
		if err != nil {
			return 0, false, err
		}
		if ok && contract.StatusOn(day) != "cancelled" {
			if cph, ok := contract.RateOn(day); ok {
				return cph, true, nil
			}
		}
	}
	return c.Store.DefaultRateOn(ctx, day)
}

// estimateMail is the approval mail of an estimate, nil when mail cannot
// reach the contact (the technician then asks by phone, and the session's
// own approval still applies).
func (c *console) estimateMail(ctx context.Context, t store.Ticket, e store.Estimate, token string) (*store.Mail, error) {
	s, err := c.mailSettings(ctx)
	if err != nil || !s.Configured() {
		return nil, err
	}
	to, lang, name, ok, err := c.mailTo(ctx, t.ContactID)
	if err != nil || !ok {
		return nil, err
	}
	l := i18n.Lang(lang)
	tr := c.translator(l)
	link := strings.TrimRight(s.PublicURL, "/") + "/estimate/" + token
	keys := "mail.estimate." // out-of-contract work has its own words, and its reason
	if e.Kind == store.OutOfContractKind {
		keys = "mail.out_of_contract."
	}
	return &store.Mail{Kind: store.MailEstimateApproval, To: to, Lang: lang,
		Subject: tr(keys+"subject", "ref", t.Reference),
		Body: tr(keys+"body", "name", name, "ref", t.Reference, "description", e.Description, "reason", e.Reason,
			"minutes", strconv.FormatInt(e.Minutes, 10), "billed", strconv.FormatInt(e.BilledMinutes, 10),
			"amount", consent.Euros(l, e.AmountCents), "vat", consent.Euros(l, e.VATCents),
			"total", consent.Euros(l, e.AmountCents+e.VATCents), "link", link, "company", c.signature(ctx))}, nil
}

type mailSettingsJSON struct {
	mail.Settings
	// Password, when given, replaces the stored one; "" keeps it.
	Password string          `json:"password,omitempty"`
	Queue    []store.Mail    `json:"queue"`
	Enabled  bool            `json:"enabled"` // the relay runs a mail worker
	History  []historyChange `json:"history,omitempty"`
}

type historyChange = store.SettingChange

func (c *console) getMailSettings(w http.ResponseWriter, r *http.Request) error {
	s, err := c.mailSettings(r.Context())
	if err != nil {
		return err
	}
	q, err := c.Store.Mails(r.Context(), 50)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, mailSettingsJSON{Settings: s, Queue: q, Enabled: c.Mail != nil})
	return nil
}

// putMailSettings saves the SMTP settings; the password is sealed with
// the data directory's key before it reaches the database.
func (c *console) putMailSettings(w http.ResponseWriter, r *http.Request) error {
	if c.Mail == nil {
		return httpx.Errorf(http.StatusConflict, "mail_disabled", "this relay sends no mail")
	}
	var in mailSettingsJSON
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return err
	}
	s := in.Settings
	s.Host, s.User, s.From = strings.TrimSpace(s.Host), strings.TrimSpace(s.User), strings.TrimSpace(s.From)
	s.PublicURL, s.Password = strings.TrimRight(strings.TrimSpace(s.PublicURL), "/"), in.Password
	if field, err := s.Check(); err != nil {
		return httpx.FieldError(field, "%s %s", field, err)
	}
	if err := mail.SaveSettings(r.Context(), c.Store, c.Mail.Key(), s, in.Password == "", c.Now()); err != nil {
		return err
	}
	c.Mail.Wake()
	return c.getMailSettings(w, r)
}
