// Package consent words the questions the agent puts to the customer, so
// that the agent shows, and the relay checks, one and the same text.
//
// The wording of a data intervention's conditions is versioned: the record
// of an acceptance names the Version it was given under, and the text
// itself, so a later change of wording never changes what an old record
// proves. Change InterventionVersion whenever the statements or the
// acceptance text change in any language.
package consent

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/protocol"
)

// InterventionVersion names the current wording of the intervention
// conditions (DOMAIN.md, "Intervening on the customer's data").
const InterventionVersion = "2026-11"

// statementKeys are the conditions the customer confirms one by one, in
// the order shown.
var statementKeys = []string{
	"agent.intervention.s_skill",
	"agent.intervention.s_precautions",
	"agent.intervention.s_backups",
	"agent.intervention.s_training",
	"agent.intervention.s_accident",
}

// MaxNameRunes bounds the name a customer types to sign.
const MaxNameRunes = 200

// Who is asking, for the question's wording.
type Who struct {
	Technician, Company, TicketRef, TicketTitle string
}

// Question is one question as the customer sees it.
type Question struct {
	Level protocol.Level
	// Lines are the paragraphs above the buttons.
	Lines []string
	// Statements are the conditions to confirm one by one, and Acceptance
	// the text signed with a typed name (data intervention only).
	Statements []string
	Acceptance string
	// Estimate is the statement approving the technician's estimate, which
	// the customer ticks apart from accepting the question, when the cost
	// notice holds one.
	Estimate string
}

// Ask words the question for level in lang. work describes a data
// intervention (nil for the other levels).
// A cost notice, when the relay sends one, comes after the question and
// before the statements: accepting the question accepts the cost.
func Ask(cat i18n.Catalog, lang i18n.Lang, level protocol.Level, who Who, work *protocol.Intervention, cost *protocol.CostNotice) Question {
	q := Question{Level: level}
	ticket := cat.T(lang, "agent.ask.ticket", "ref", who.TicketRef, "title", who.TicketTitle)
	switch level {
	case protocol.LevelView:
		q.Lines = []string{
			cat.T(lang, "agent.ask.title", "technician", who.Technician, "company", who.Company),
			ticket,
			cat.T(lang, "agent.ask.explain"),
		}
	case protocol.LevelControl:
		q.Lines = []string{
			cat.T(lang, "agent.ask.control.title", "technician", who.Technician, "company", who.Company),
			ticket,
			cat.T(lang, "agent.ask.control.explain"),
		}
	case protocol.LevelDataIntervention:
		if work == nil {
			work = &protocol.Intervention{}
		}
		q.Lines = []string{
			cat.T(lang, "agent.ask.intervention.title", "technician", who.Technician, "company", who.Company),
			ticket,
			cat.T(lang, "agent.ask.intervention.work", "description", work.Description),
			cat.T(lang, "agent.ask.intervention.category", "category", categoryName(work, lang)),
			cat.T(lang, "agent.ask.intervention.estimate", "minutes", strconv.Itoa(work.EstimateMinutes)),
			cat.T(lang, "agent.ask.intervention.explain"),
		}
		for _, k := range statementKeys {
			q.Statements = append(q.Statements, cat.T(lang, k))
		}
		q.Acceptance = cat.T(lang, "agent.intervention.accept")
	}
	if cost != nil {
		q.Lines = append(q.Lines, CostLines(cat, lang, cost)...)
		q.Estimate = estimateStatement(cat, lang, cost)
	}
	return q
}

// Keep words a question to keep the level the session is at (req.Keep):
// the work became billable at that level, or overran its approved
// estimate. Declining, or not answering in time, steps down to view.
func Keep(cat i18n.Catalog, lang i18n.Lang, who Who, req protocol.ConsentRequest) Question {
	q := Question{Level: req.Level}
	switch o := req.Overrun; {
	case req.Keep == protocol.KeepOverrun && o != nil:
		q.Lines = []string{
			cat.T(lang, "agent.overrun.title", "estimate", strconv.Itoa(o.EstimateMinutes), "billable", strconv.FormatInt(o.BillableMinutes, 10)),
			cat.T(lang, "agent.overrun.continue", "technician", who.Technician, "limit", strconv.FormatInt(o.LimitMinutes, 10),
				"amount", Euros(lang, o.AmountCents)),
		}
	default:
		q.Lines = []string{cat.T(lang, "agent.renotice.title", "technician", who.Technician)}
	}
	q.Lines = append(q.Lines, cat.T(lang, "agent.ask.ticket", "ref", who.TicketRef, "title", who.TicketTitle))
	if req.Cost != nil {
		q.Lines = append(q.Lines, CostLines(cat, lang, req.Cost)...)
	}
	q.Lines = append(q.Lines, cat.T(lang, "agent.keep.decline"))
	return q
}

// estimateStatement words the approval of a cost notice's estimate, or ""
// when it holds none.
func estimateStatement(cat i18n.Catalog, lang i18n.Lang, c *protocol.CostNotice) string {
	e := c.Estimate
	if e == nil || e.ApprovedBefore != nil { // approved before: not asked again
		return ""
	}
	return cat.T(lang, "agent.estimate.approve", "minutes", strconv.Itoa(e.Minutes), "amount", Euros(lang, e.AmountCents))
}

// CostLines words a cost notice: that the work is billable, why, the rate,
// the rounding and the minimum.
func CostLines(cat i18n.Catalog, lang i18n.Lang, c *protocol.CostNotice) []string {
	reasons := make([]string, 0, len(c.Reasons))
	for _, r := range c.Reasons {
		reasons = append(reasons, cat.T(lang, "reason."+r))
	}
	lines := []string{cat.T(lang, "agent.cost.title")}
	if len(reasons) > 0 {
		lines = append(lines, cat.T(lang, "agent.cost.why", "reasons", strings.Join(reasons, "; ")))
	}
	lines = append(lines, cat.T(lang, "agent.cost.rate", "rate", Euros(lang, c.CentsPerHour), "vat", strconv.FormatInt(c.VATPercent, 10)))
	if c.SurchargePercent > 0 {
		lines = append(lines, cat.T(lang, "agent.cost.surcharge", "percent", strconv.FormatInt(c.SurchargePercent, 10)))
	}
	lines = append(lines,
		cat.T(lang, "agent.cost.rounding", "increment", strconv.FormatInt(c.IncrementMinutes, 10), "minimum", strconv.FormatInt(c.MinimumMinutes, 10)))
	if e := c.Estimate; e != nil {
		lines = append(lines, cat.T(lang, "agent.estimate.line", "minutes", strconv.Itoa(e.Minutes),
			"billed", strconv.FormatInt(e.BilledMinutes, 10), "amount", Euros(lang, e.AmountCents),
			"vat", Euros(lang, e.VATCents), "total", Euros(lang, e.AmountCents+e.VATCents)))
		if p := e.ApprovedBefore; p != nil {
			lines = append(lines, cat.T(lang, "agent.estimate.approved_before", "date", p.At.Format("02/01/2006"),
				"minutes", strconv.Itoa(p.Minutes)))
		}
	}
	lines = append(lines, prepaidLines(cat, lang, c.Prepaid)...)
	return append(lines, cat.T(lang, "agent.cost.accept"))
}

// Euros writes an amount in cents as the customer reads money: "€ 85,00"
// in Dutch and French, "€85.00" in English.
func Euros(lang i18n.Lang, cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	if lang == i18n.EN {
		return fmt.Sprintf("%s€%d.%02d", sign, cents/100, cents%100)
	}
	return fmt.Sprintf("%s€ %d,%02d", sign, cents/100, cents%100)
}

// Text is the question as one text: what is stored, and hashed, as the
// text the customer read.
func (q Question) Text() string {
	parts := append([]string{}, q.Lines...)
	if q.Estimate != "" {
		parts = append(parts, "[x] "+q.Estimate)
	}
	for i, s := range q.Statements {
		parts = append(parts, fmt.Sprintf("%d. %s", i+1, s))
	}
	if q.Acceptance != "" {
		parts = append(parts, q.Acceptance)
	}
	return strings.Join(parts, "\n")
}

// Errors of CheckAcceptance.
var (
	ErrNoAcceptance = errors.New("no acceptance")
	ErrVersion      = errors.New("unknown wording version")
	ErrUnconfirmed  = errors.New("a statement was not confirmed")
	ErrNoName       = errors.New("no name typed")
)

// CheckAcceptance reports whether a is a complete acceptance of the
// current wording: every statement confirmed, in the number the wording
// has, and a name typed. The relay refuses to record an intervention
// otherwise, whatever the agent claims.
func CheckAcceptance(a *protocol.Acceptance) error {
	switch {
	case a == nil:
		return ErrNoAcceptance
	case a.Version != InterventionVersion:
		return fmt.Errorf("%w: %q", ErrVersion, a.Version)
	case len(a.Answers) != len(statementKeys):
		return fmt.Errorf("%w: %d answers to %d statements", ErrUnconfirmed, len(a.Answers), len(statementKeys))
	}
	for i, ans := range a.Answers {
		if !ans.Confirmed || strings.TrimSpace(ans.Statement) == "" {
			return fmt.Errorf("%w: statement %d", ErrUnconfirmed, i+1)
		}
	}
	name := strings.TrimSpace(a.Name)
	if name == "" {
		return ErrNoName
	}
	if utf8.RuneCountInString(name) > MaxNameRunes {
		return fmt.Errorf("%w: name longer than %d characters", ErrNoName, MaxNameRunes)
	}
	return nil
}

// categoryName is the category in lang, or its code when the relay sent no
// name for it.
func categoryName(w *protocol.Intervention, lang i18n.Lang) string {
	if name := w.CategoryNames[string(lang)]; name != "" {
		return name
	}
	return w.Category
}
