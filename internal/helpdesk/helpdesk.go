// Package helpdesk holds the rules of the desks Meekijk serves
// (shared/DOMAIN.md) as pure functions: what the words of a ticket may be,
// what a valid VAT number is, and whether work is covered by the customer's
// contract or billable, and why. No database, no clock.
package helpdesk

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Ticket kinds, statuses, priorities and impacts, in display order.
var (
	Kinds       = []string{"question", "problem", "change_request", "complaint"}
	Statuses    = []string{"new", "planned", "in_progress", "waiting_customer", "resolved", "closed"}
	Priorities  = []string{"low", "normal", "high", "urgent"}
	Impacts     = []string{"low", "medium", "high"}
	Languages   = []string{"nl", "fr", "en"}
	FeePeriods  = []string{"month", "quarter", "year"}
	ContractSts = []string{"active", "suspended", "cancelled"}
	// ReferenceRoles are the kinds of designated reference person; "" is
	// a contact who is not one.
	ReferenceRoles = []string{"", "general", "technical", "site"}
	Roles          = []string{"admin", "technician"}
)

// OneOf reports whether v is one of the allowed words.
func OneOf(v string, allowed []string) bool { return slices.Contains(allowed, v) }

// DefaultCategory is the work category a new ticket of a kind starts with;
// staff change it when the work turns out otherwise.
func DefaultCategory(kind string) string {
	switch kind {
	case "problem":
		return "bug_report"
	case "change_request":
		return "change_request"
	default:
		return "user_question"
	}
}

// ErrVAT is returned for a VAT number that is not valid.
var ErrVAT = errors.New("not a valid VAT number")

// NormalizeVAT returns a VAT number in its compact form ("BE0123456789").
// Belgian numbers (BE + 10 digits) are checked with their mod-97 check
// digits; numbers of other EU countries only for their shape, since each
// country has its own rule.
func NormalizeVAT(s string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '.' || r == '-':
		case (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		default:
			return "", ErrVAT
		}
	}
	v := b.String()
	if len(v) < 4 || len(v) > 14 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z' {
		return "", ErrVAT
	}
	if v[:2] != "BE" {
		return v, nil
	}
	digits := v[2:]
	if len(digits) == 9 { // old 9-digit numbers gained a leading 0
		digits = "0" + digits
	}
	if len(digits) != 10 || (digits[0] != '0' && digits[0] != '1') {
		return "", ErrVAT
	}
	base, err1 := strconv.Atoi(digits[:8])
	check, err2 := strconv.Atoi(digits[8:])
	if err1 != nil || err2 != nil || 97-base%97 != check {
		return "", ErrVAT
	}
	return "BE" + digits, nil
}

// Reason is why work is billable rather than covered.
type Reason string

const (
	NoContract         Reason = "no_contract"
	ContractSuspended  Reason = "contract_suspended"
	NotReferencePerson Reason = "not_reference_person"
	CategoryNotCovered Reason = "category_not_covered"
	DataIntervention   Reason = "data_intervention"
	OutsideHours       Reason = "outside_hours"
)

// Facts are what entitlement depends on, as they stood when the work was
// done.
type Facts struct {
	// ContractStatus is the status on the day of the work of the contract
	// then in force: "active", "suspended", "cancelled", or "" for none.
	ContractStatus string
	// ReferencePerson: the contact who asked is a designated reference
	// person of the customer.
	ReferencePerson bool
	// CategoryCovered: the ticket's work category is covered by that
	// contract.
	CategoryCovered bool
	// DataIntervention: the technician works on the customer's data.
	DataIntervention bool
	// OutsideHours: the work happens outside support hours by override.
	OutsideHours bool
}

// Verdict says whether work is covered, and if not, every reason why.
type Verdict struct {
	Covered bool     `json:"covered"`
	Reasons []Reason `json:"reasons"`
}

// Entitlement decides coverage: covered only with an active maintenance
// contract, a reference person asking, a covered category, no data
// intervention and within hours. Every condition that fails is named, so
// the customer is told all of it in advance ("never an unforeseen bill").
func Entitlement(f Facts) Verdict {
	reasons := []Reason{}
	switch f.ContractStatus {
	case "active":
	case "suspended":
		reasons = append(reasons, ContractSuspended)
	default: // none, or cancelled
		reasons = append(reasons, NoContract)
	}
	if !f.ReferencePerson {
		reasons = append(reasons, NotReferencePerson)
	}
	// Without a contract in force there is nothing to cover the category;
	// "no contract" already says why.
	if f.ContractStatus == "active" || f.ContractStatus == "suspended" {
		if !f.CategoryCovered {
			reasons = append(reasons, CategoryNotCovered)
		}
	}
	if f.DataIntervention {
		reasons = append(reasons, DataIntervention)
	}
	if f.OutsideHours {
		reasons = append(reasons, OutsideHours)
	}
	return Verdict{Covered: len(reasons) == 0, Reasons: reasons}
}
