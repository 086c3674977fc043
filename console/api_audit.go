package console

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/meekijk/meekijk/internal/audit"
	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/store"
)

type auditEntryJSON struct {
	Seq int64 `json:"seq"`
	// At is Unix milliseconds, exactly as hashed; Time is the same instant
	// for people.
	At       int64           `json:"at"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	IP       string          `json:"ip"`
	Event    string          `json:"event"`
	Payload  json.RawMessage `json:"payload"`
	Hash     string          `json:"hash"`
	PrevHash string          `json:"prevHash,omitempty"`
}

func auditEntryOf(e audit.Entry) auditEntryJSON {
	return auditEntryJSON{Seq: e.Seq, At: e.At, Time: time.UnixMilli(e.At).UTC(), Actor: e.Actor, IP: e.IP, Event: e.Event,
		Payload: e.Payload, Hash: hex.EncodeToString(e.Hash)}
}

// auditStatus verifies the whole chain and reports its head, or the first
// bad entry.
func (c *console) auditStatus(w http.ResponseWriter, r *http.Request) error {
	head, err := c.Store.VerifyAudit(r.Context())
	out := struct {
		OK       bool      `json:"ok"`
		Seq      int64     `json:"seq"`
		HeadHash string    `json:"headHash,omitempty"`
		HeadAt   time.Time `json:"headAt,omitzero"`
		BadSeq   int64     `json:"badSeq,omitempty"`
		Problem  string    `json:"problem,omitempty"`
	}{OK: err == nil, Seq: head.Seq, HeadHash: hex.EncodeToString(head.Hash), HeadAt: head.At}
	var be *audit.BrokenError
	switch {
	case errors.As(err, &be):
		out.BadSeq, out.Problem, out.HeadHash = be.Seq, be.Reason, ""
		c.log.Error("audit chain broken", "seq", be.Seq, "reason", be.Reason)
	case err != nil:
		return err
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// auditLogins is the login history: successes, failures and logouts.
func (c *console) auditLogins(w http.ResponseWriter, r *http.Request) error {
	entries, err := c.Store.AuditEntries(r.Context(), store.AuditFilter{Events: []string{"login", "login_failed", "login_throttled", "login_failures", "logout"}, Limit: 100000})
	if err != nil {
		return err
	}
	out := []auditEntryJSON{}
	for i := len(entries) - 1; i >= 0 && len(out) < 500; i-- {
		out = append(out, auditEntryOf(entries[i]))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

type reviewSessionJSON struct {
	sessionJSON
	Entitlement helpdesk.Verdict `json:"entitlement"`
}

// reviewSessions lists sessions with the admins' filters: period,
// customer, technician, ticket, outcome, covered or billable.
func (c *console) reviewSessions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f store.SessionFilter
	var errs []error
	parseDay := func(field string) time.Time {
		v := q.Get(field)
		if v == "" {
			return time.Time{}
		}
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			errs = append(errs, httpx.FieldError(field, "%s must be a date as YYYY-MM-DD", field))
		}
		return d
	}
	f.From, f.To = parseDay("from"), parseDay("to")
	if !f.To.IsZero() {
		f.To = f.To.AddDate(0, 0, 1) // the whole last day
	}
	var err error
	f.CustomerID, err = queryID(r, "customerId")
	errs = append(errs, err)
	f.TechnicianID, err = queryID(r, "technicianId")
	errs = append(errs, err)
	f.TicketRef, f.Outcome = q.Get("ticket"), q.Get("outcome")
	if f.Outcome != "" {
		errs = append(errs, oneOf("outcome", f.Outcome, []string{"waiting", "joined", "live", "interrupted", "declined", "ended"}))
	}
	billing := q.Get("billing")
	if billing != "" {
		errs = append(errs, oneOf("billing", billing, []string{"covered", "billable"}))
	}
	if err := firstErr(errs...); err != nil {
		return err
	}
	sessions, err := c.Store.ReviewSessions(r.Context(), f)
	if err != nil {
		return err
	}
	cal, err := c.calendarOf(r.Context())
	if err != nil {
		return err
	}
	out := []reviewSessionJSON{}
	for _, s := range sessions {
		t, err := c.Store.Ticket(r.Context(), s.TicketID)
		if err != nil {
			return err
		}
		v, err := c.entitlement(r.Context(), t, s.CreatedAt, s.OutsideHours, cal.TimeZone)
		if err != nil {
			return err
		}
		if (billing == "covered" && !v.Covered) || (billing == "billable" && v.Covered) {
			continue
		}
		out = append(out, reviewSessionJSON{c.sessionOf(s), v})
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// sessionTimeline is every audited step of a session, with its time,
// actor, address and chain position.
func (c *console) sessionTimeline(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	s, err := c.Store.Session(r.Context(), id)
	if err != nil {
		return err
	}
	entries, err := c.Store.SessionAudit(r.Context(), id)
	if err != nil {
		return err
	}
	out := struct {
		Session sessionJSON      `json:"session"`
		Events  []auditEntryJSON `json:"events"`
	}{c.sessionOf(s), []auditEntryJSON{}}
	for _, e := range entries {
		out.Events = append(out.Events, auditEntryOf(e))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// evidencePack exports a session's audit entries with what a third party
// needs to re-check each one: its predecessor's hash, and the head of the
// whole chain at export time (docs/audit.md).
func (c *console) evidencePack(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	s, err := c.Store.Session(ctx, id)
	if err != nil {
		return err
	}
	t, err := c.Store.Ticket(ctx, s.TicketID)
	if err != nil {
		return err
	}
	entries, err := c.Store.SessionAudit(ctx, id)
	if err != nil {
		return err
	}
	head, err := c.Store.VerifyAudit(ctx)
	chainOK := err == nil
	if err != nil && !errors.Is(err, audit.ErrBroken) {
		return err
	}
	pack := struct {
		Format      string           `json:"format"`
		ExportedAt  time.Time        `json:"exportedAt"`
		ExportedBy  string           `json:"exportedBy"`
		Session     sessionJSON      `json:"session"`
		Ticket      ticketJSON       `json:"ticket"`
		Entries     []auditEntryJSON `json:"entries"`
		ChainOK     bool             `json:"chainOk"`
		HeadSeq     int64            `json:"headSeq"`
		HeadHash    string           `json:"headHash"`
		HowToVerify string           `json:"howToVerify"`
	}{
		Format: "meekijk-evidence/1", ExportedAt: c.Now().UTC(), ExportedBy: login(r).User.Email,
		Session: c.sessionOf(s), Ticket: ticketOf(t), Entries: []auditEntryJSON{},
		ChainOK: chainOK, HeadSeq: head.Seq, HeadHash: hex.EncodeToString(head.Hash),
		HowToVerify: "For each entry: hash == SHA-256(prevHash || canonical JSON of {actor, at (Unix ms), event, ip, payload, seq}) " +
			"with keys sorted and no white space. See docs/audit.md.",
	}
	for _, e := range entries {
		prev, err := c.Store.AuditHashBefore(ctx, e.Seq)
		if err != nil {
			return err
		}
		j := auditEntryOf(e)
		j.PrevHash = hex.EncodeToString(prev)
		pack.Entries = append(pack.Entries, j)
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="meekijk-session-%d-evidence.json"`, id))
	c.log.Info("evidence pack exported", "session", id, "user", login(r).User.ID)
	httpx.JSON(w, http.StatusOK, pack)
	return nil
}
