package console

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/pricing"
	"github.com/meekijk/meekijk/internal/store"
)

// Bounds of one billing request, so an export or a chart stays a request
// and not a batch job.
const (
	maxExportDays = 366
	maxChartMonth = 36
)

// billingOf gathers what f selects, with the desk's rules in its
// calendar's time zone, and the relay's clock for live sessions.
func (c *console) billingOf(ctx context.Context, f store.BillingFilter) (billing.Settings, []store.CustomerBilling, error) {
	return pricing.New(c.Store, c.Now).Billing(ctx, f)
}

// statementOf bills one customer's parts. The data is the desk's own, so
// what the engine refuses (no hourly rate on a day with billable work) is
// for an admin to fix, not a bad request: 409 with the engine's words.
func statementOf(cb store.CustomerBilling, set billing.Settings) (billing.Statement, error) {
	st, err := pricing.Statement(cb, set)
	return st, cannotBill(cb, err)
}

// cannotBill makes the engine's refusal to bill cb a 409.
func cannotBill(cb store.CustomerBilling, err error) error {
	var fe *billing.FieldError
	if errors.As(err, &fe) {
		return httpx.Errorf(http.StatusConflict, "cannot_bill", "cannot bill %s: %s", cb.Customer.Name, fe.Err)
	}
	return err
}

// monthParam reads a YYYY-MM query parameter as the first moment of that
// month in loc.
func monthParam(r *http.Request, name string, loc *time.Location) (time.Time, error) {
	m, err := time.ParseInLocation("2006-01", r.URL.Query().Get(name), loc)
	if err != nil {
		return time.Time{}, httpx.FieldError(name, "%s must be a month as YYYY-MM", name)
	}
	return m, nil
}

// dayParam reads a YYYY-MM-DD query parameter as midnight in loc.
func dayParam(r *http.Request, name string, loc *time.Location) (time.Time, error) {
	v, err := date(name, r.URL.Query().Get(name), false)
	if err != nil {
		return time.Time{}, err
	}
	return time.ParseInLocation(time.DateOnly, v, loc)
}

// customerMonths reads the required customer, which must exist (an
// unknown one is a 404, not an empty statement), and the months named, as
// their first moment in the desk's time zone.
func (c *console) customerMonths(r *http.Request, names ...string) (store.Customer, []time.Time, error) {
	id, err := queryID(r, "customer")
	if err == nil && id == 0 {
		err = httpx.FieldError("customer", "customer is required")
	}
	if err != nil {
		return store.Customer{}, nil, err
	}
	cu, err := c.Store.Customer(r.Context(), id)
	if err != nil {
		return cu, nil, err
	}
	loc, err := c.deskLocation(r.Context())
	if err != nil {
		return cu, nil, err
	}
	months := make([]time.Time, len(names))
	for i, name := range names {
		if months[i], err = monthParam(r, name, loc); err != nil {
			return cu, nil, err
		}
	}
	return cu, months, nil
}

// langOf is the language of a file made for the caller: ?lang= when the
// page says which it shows, else the user's own.
func langOf(r *http.Request) i18n.Lang {
	if l := r.URL.Query().Get("lang"); helpdesk.OneOf(l, helpdesk.Languages) {
		return i18n.Lang(l)
	}
	return i18n.Parse(login(r).User.Lang)
}

type translate func(key string, params ...string) string

func (c *console) translator(lang i18n.Lang) translate {
	return func(key string, params ...string) string { return c.status.catalog.T(lang, key, params...) }
}

// deskLocation is the calendar's time zone, loaded.
func (c *console) deskLocation(ctx context.Context) (*time.Location, error) {
	cal, err := c.calendarOf(ctx)
	if err != nil {
		return nil, err
	}
	return time.LoadLocation(cal.TimeZone)
}

// customerStatement bills one customer over [from, to).
func (c *console) customerStatement(ctx context.Context, cu store.Customer, from, to time.Time) (billing.Statement, error) {
	set, cbs, err := c.billingOf(ctx, store.BillingFilter{From: from, To: to, CustomerID: cu.ID})
	if err != nil {
		return billing.Statement{}, err
	}
	cb := store.CustomerBilling{Customer: cu}
	if len(cbs) == 1 {
		cb = cbs[0]
	}
	st, err := statementOf(cb, set)
	if err != nil {
		return st, err
	}
	return c.customerExtras(ctx, cu, from, to, st) // business.go
}

type statementJSON struct {
	billing.Statement
	// Customer shadows the statement's name: the page prints the VAT
	// number too.
	Customer customerJSON `json:"customer"`
	Month    string       `json:"month"`
}

// statement is a customer's monthly statement: every session with worked
// time whose day falls in the month, in the desk's time zone.
func (c *console) statement(w http.ResponseWriter, r *http.Request) error {
	cu, months, err := c.customerMonths(r, "month")
	if err != nil {
		return err
	}
	month := months[0]
	st, err := c.customerStatement(r.Context(), cu, month, month.AddDate(0, 1, 0))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, statementJSON{Statement: st, Customer: customerOf(cu), Month: month.Format("2006-01")})
	return nil
}

// exportCSV writes every billing line of every customer in a period for a
// spreadsheet (docs/billing.md): UTF-8 with a byte order mark, so Excel
// reads accented names right; semicolons, the list separator of Belgian
// Excel; amounts with a decimal comma, which that Excel reads as numbers.
func (c *console) exportCSV(w http.ResponseWriter, r *http.Request) error {
	loc, err := c.deskLocation(r.Context())
	if err != nil {
		return err
	}
	from, err := dayParam(r, "from", loc)
	if err != nil {
		return err
	}
	last, err := dayParam(r, "to", loc)
	if err != nil {
		return err
	}
	if last.Before(from) || last.Sub(from) > maxExportDays*24*time.Hour {
		return httpx.FieldError("to", "to must be on or after from, at most %d days later", maxExportDays)
	}
	set, cbs, err := c.billingOf(r.Context(), store.BillingFilter{From: from, To: last.AddDate(0, 0, 1)})
	if err != nil {
		return err
	}
	tr := c.translator(langOf(r))
	rows := [][]string{{tr("console.billing.date"), tr("console.billing.customer"), tr("console.billing.vat"),
		tr("console.billing.ticket"), tr("console.billing.session"), tr("console.billing.technician"),
		tr("console.billing.level"), tr("console.billing.start"), tr("console.billing.end"), tr("console.billing.worked"),
		tr("console.billing.billed"), tr("console.billing.prepaid_minutes"), tr("console.billing.verdict"), tr("console.billing.reasons"), tr("console.billing.rate"),
		tr("console.billing.surcharge"), tr("console.billing.amount")}}
	for _, cb := range cbs {
		st, err := statementOf(cb, set)
		if err != nil {
			return err
		}
		// Priced as on the customer's statement: minutes a prepaid block
		// pays are not charged again, and an exempted customer's VAT.
		if st, err = c.customerExtras(r.Context(), cb.Customer, from, last.AddDate(0, 0, 1), st); err != nil {
			return err
		}
		for _, l := range st.Lines {
			rows = append(rows, []string{l.Date, cell(cb.Customer.Name), cell(cb.Customer.VATNumber), cell(l.TicketRef),
				joinIDs(l.SessionIDs, " "), cell(technicianName(l)), levelName(tr, l),
				l.Start.In(loc).Format("2006-01-02 15:04"), l.End.In(loc).Format("2006-01-02 15:04"),
				strconv.FormatInt(l.WorkedMinutes, 10), strconv.FormatInt(l.BilledMinutes, 10), strconv.FormatInt(l.PrepaidMinutes, 10),
				verdictName(tr, l.Covered), reasonsText(tr, l.Reasons, ", "), decimalComma(l.CentsPerHour),
				strconv.FormatInt(l.SurchargePercent, 10), decimalComma(l.AmountCents)})
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="meekijk-billing-%s-%s.csv"`,
		from.Format(time.DateOnly), last.Format(time.DateOnly)))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	cw.Comma, cw.UseCRLF = ';', true
	if err := cw.WriteAll(rows); err != nil {
		// The header is sent: the file can only be cut short, and logged.
		c.log.Error("write billing export", "err", err)
	}
	return nil
}

// cell keeps text typed by users from being read as a formula by a
// spreadsheet ("=HYPERLINK(...)" as a customer's name): such a cell gets a
// leading apostrophe, which spreadsheets show as text.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// decimalComma writes cents as euros with a decimal comma and no
// thousands separator: "1234,50".
func decimalComma(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d,%02d", sign, cents/100, cents%100)
}

func joinIDs(ids []int64, sep string) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, sep)
}

func technicianName(l billing.Line) string {
	if l.Technician == nil {
		return ""
	}
	return l.Technician.Name
}

// levelName names a work line's level, or says an adjustment line is the
// rounding and minimum.
func levelName(tr translate, l billing.Line) string {
	if l.Kind == billing.KindAdjustment {
		return tr("console.billing.adjustment")
	}
	return tr("console.billing.level." + string(l.Level))
}

func verdictName(tr translate, covered bool) string {
	if covered {
		return tr("console.billing.covered")
	}
	return tr("console.billing.billable")
}

func reasonsText(tr translate, reasons []helpdesk.Reason, sep string) string {
	s := make([]string, len(reasons))
	for i, r := range reasons {
		s[i] = tr("reason." + string(r))
	}
	return strings.Join(s, sep)
}

// appendNew appends the reasons rs does not hold yet.
func appendNew(rs []helpdesk.Reason, more ...helpdesk.Reason) []helpdesk.Reason {
	for _, r := range more {
		if !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	return rs
}

// chart draws a customer's billed and covered hours per month.
func (c *console) chart(w http.ResponseWriter, r *http.Request) error {
	cu, period, err := c.customerMonths(r, "from", "to")
	if err != nil {
		return err
	}
	from, last := period[0], period[1]
	months := (last.Year()-from.Year())*12 + int(last.Month()-from.Month()) + 1
	if months < 1 || months > maxChartMonth {
		return httpx.FieldError("to", "to must be the month of from or later, at most %d months in all", maxChartMonth)
	}
	st, err := c.customerStatement(r.Context(), cu, from, last.AddDate(0, 1, 0))
	if err != nil {
		return err
	}
	bars := make([]monthBar, months)
	index := map[string]int{}
	for i := range bars {
		bars[i].Month = from.AddDate(0, i, 0).Format("2006-01")
		index[bars[i].Month] = i
	}
	for _, l := range st.Lines {
		b := &bars[index[l.Date[:7]]]
		if l.Covered {
			b.CoveredSeconds += l.WorkedSeconds
		} else {
			b.BilledMinutes += l.BilledMinutes
		}
	}
	lang := langOf(r)
	tr := c.translator(lang)
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(renderChart(chartText{
		Title:    tr("console.billing.chart.title", "customer", cu.Name),
		Billable: tr("console.billing.chart.billable"),
		Covered:  tr("console.billing.chart.covered"),
		Hours:    tr("console.billing.chart.hours"),
		Comma:    lang != i18n.EN,
	}, bars))
	if err != nil {
		c.log.Error("write billing chart", "err", err)
	}
	return nil
}

type sessionBillingJSON struct {
	SessionID int64 `json:"sessionId"`
	Live      bool  `json:"live"`
	// Running: the clock runs now (live, consent given, agent reachable),
	// at Level; a page may count on from WorkedSeconds until its next
	// refresh.
	Running bool          `json:"running"`
	Level   billing.Level `json:"level,omitempty"`
	AsOf    time.Time     `json:"asOf"`
	// WorkedSeconds is this session's own time.
	WorkedSeconds int64 `json:"workedSeconds"`
	// Covered: nothing billable so far; Reasons say why anything is
	// billable, or would be once work starts.
	Covered bool              `json:"covered"`
	Reasons []helpdesk.Reason `json:"reasons"`
	// The intervention the session is billed in: with mergeTicketDay it
	// may hold other sessions of the ticket that day.
	SessionIDs    []int64        `json:"sessionIds"`
	BilledMinutes int64          `json:"billedMinutes"`
	CentsPerHour  int64          `json:"centsPerHour"`
	AmountCents   int64          `json:"amountCents"` // exclusive of VAT
	VATPercent    int64          `json:"vatPercent"`
	Lines         []billing.Line `json:"lines"`
}

// sessionBilling is the billing of one session so far, by the relay's
// clock: what the technician's timer, badge and amount show.
func (c *console) sessionBilling(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sess, err := c.Store.Session(r.Context(), id)
	if err != nil {
		return err
	}
	// The whole ticket, so that merged sessions of a day bill as they will.
	set, cbs, err := c.billingOf(r.Context(), store.BillingFilter{TicketID: sess.TicketID})
	if err != nil {
		return err
	}
	var cb store.CustomerBilling
	var b store.BillingSession
	for _, x := range cbs {
		if i := slices.IndexFunc(x.Sessions, func(b store.BillingSession) bool { return b.Session.ID == id }); i >= 0 {
			cb, b = x, x.Sessions[i]
		}
	}
	out := sessionBillingJSON{SessionID: id, Live: b.Live, AsOf: c.Now(), Reasons: []helpdesk.Reason{},
		SessionIDs: []int64{}, Lines: []billing.Line{}, VATPercent: set.VATPercent}
	if n := len(b.Segments); n > 0 && b.Live && b.Segments[n-1].End.Equal(b.End) {
		out.Running, out.Level = true, b.Segments[n-1].Level
	}
	st, err := statementOf(cb, set)
	if err != nil {
		return err
	}
	for _, iv := range st.Interventions {
		if slices.Contains(iv.SessionIDs, id) {
			out.SessionIDs, out.BilledMinutes, out.CentsPerHour, out.AmountCents = iv.SessionIDs, iv.BilledMinutes, iv.CentsPerHour, iv.AmountCents
		}
	}
	for _, l := range st.Lines {
		if !slices.Contains(l.SessionIDs, id) {
			continue
		}
		out.Lines = append(out.Lines, l)
		out.Reasons = appendNew(out.Reasons, l.Reasons...)
	}
	for _, seg := range b.Segments {
		out.WorkedSeconds += seg.Seconds()
	}
	out.Covered = !slices.ContainsFunc(out.Lines, func(l billing.Line) bool { return !l.Covered })
	if len(b.Segments) == 0 {
		// No work yet: say what it would be, as the engine would bill a
		// first moment of viewing.
		line, err := verdict(cb, b, set, billing.LevelView)
		if err != nil {
			return err
		}
		out.Covered, out.Reasons = line.Covered, line.Reasons
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// verdict is pricing.Verdict with the engine's refusal a 409.
func verdict(cb store.CustomerBilling, b store.BillingSession, set billing.Settings, level billing.Level) (billing.Line, error) {
	line, err := pricing.Verdict(cb, b, set, level)
	return line, cannotBill(cb, err)
}

type sessionCategoryIn struct {
	CategoryID int64 `json:"categoryId"`
}

// setSessionCategory sets the work category of a session's ticket from
// the live session page. The ticket keeps the change in its history (so
// a statement bills each session by the category in force when it was
// worked), the session records it, and the relay announces work that
// became billable to the customer again. The answer is the session's
// billing as it stands after the change.
func (c *console) setSessionCategory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in sessionCategoryIn
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	ctx := r.Context()
	sess, err := c.Store.Session(ctx, id)
	if err != nil {
		return err
	}
	cats, err := c.Store.Categories(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(cats, func(cat store.Category) bool { return cat.ID == in.CategoryID })
	if i < 0 {
		return httpx.FieldError("categoryId", "no work category %d", in.CategoryID)
	}
	t, err := c.Store.Ticket(ctx, sess.TicketID)
	if err != nil {
		return err
	}
	user := login(r).User
	if t.CategoryID != in.CategoryID {
		if _, err := c.Store.UpdateTicket(ctx, t.ID, store.TicketChanges{CategoryID: &in.CategoryID}, user.ID); err != nil {
			return err
		}
		if err := c.Store.AddEvent(ctx, id, store.EventCategoryChanged, store.ActorName("technician", user.ID),
			map[string]any{"categoryId": in.CategoryID, "from": t.CategoryID, "code": cats[i].Code}); err != nil {
			return err
		}
		c.log.Info("work category set during a session", "session", id, "ticket", t.ID, "category", cats[i].Code, "by", user.ID)
	}
	if c.Recategorized != nil {
		if err := c.Recategorized(ctx, id); err != nil {
			return httpx.Errorf(http.StatusConflict, "cannot_price", "the work is billable but cannot be priced: %v", err)
		}
	}
	return c.sessionBilling(w, r)
}
