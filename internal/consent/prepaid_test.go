package consent

import (
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/protocol"
)

// TestCostNoticePrepaid: a customer with prepaid hours reads, in their
// language, that the work comes off them and what is left, the warning
// when the balance is at the threshold, and hours that expired.
func TestCostNoticePrepaid(t *testing.T) {
	cat := catalog(t)
	n := &protocol.CostNotice{Reasons: []string{"no_contract"}, CentsPerHour: 8500, IncrementMinutes: 15, MinimumMinutes: 60,
		VATPercent: 21, Prepaid: &protocol.PrepaidNotice{LeftMinutes: 435, Warning: true, ExpiredMinutes: 60}}
	for lang, want := range map[i18n.Lang][]string{
		i18n.NL: {"wordt afgetrokken van uw voorafbetaalde uren: nog 7 u 15", "raken op", "1 u"},
		i18n.FR: {"déduit de vos heures prépayées : il reste 7 h 15", "presque épuisées", "1 h"},
		i18n.EN: {"deducted from your prepaid hours: 7 h 15 left", "running out", "1 h"},
	} {
		text := strings.Join(CostLines(cat, lang, n), "\n")
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %q missing from\n%s", lang, w, text)
			}
		}
	}
	n.Prepaid = nil
	if text := strings.Join(CostLines(cat, i18n.NL, n), "\n"); strings.Contains(text, "voorafbetaald") {
		t.Errorf("without blocks the notice speaks of them:\n%s", text)
	}
}
