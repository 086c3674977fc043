package consent

import (
	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/protocol"
)

// prepaidLines words the customer's prepaid balance in a cost notice:
// that the work comes off their prepaid hours and what is left ("nog 7 u
// 15"), a warning when the balance is at the desk's threshold, and hours
// that expired unused, so none are lost without the customer hearing.
func prepaidLines(cat i18n.Catalog, lang i18n.Lang, p *protocol.PrepaidNotice) []string {
	if p == nil {
		return nil
	}
	hours := func(m int64) string { return billing.FormatHours(m, cat.T(lang, "agent.prepaid.hour")) }
	lines := []string{cat.T(lang, "agent.prepaid.left", "left", hours(p.LeftMinutes))}
	if p.Warning {
		lines = append(lines, cat.T(lang, "agent.prepaid.warning"))
	}
	if p.ExpiredMinutes > 0 {
		lines = append(lines, cat.T(lang, "agent.prepaid.expired", "expired", hours(p.ExpiredMinutes)))
	}
	return lines
}
