package billing_test

import (
	"testing"

	"github.com/meekijk/meekijk/internal/billing"
)

func TestPriceEstimate(t *testing.T) {
	s := billing.Defaults()
	for _, c := range []struct {
		minutes, cph, surcharge         int64
		wantBilled, wantAmount, wantVAT int64
	}{
		{90, 8500, 0, 90, 12750, 2678},    // 127.50 € + 26.775 € VAT, rounded half up
		{61, 8500, 0, 75, 10625, 2231},    // up to the next quarter hour
		{30, 8500, 0, 60, 8500, 1785},     // the one-hour minimum
		{0, 8500, 0, 0, 0, 0},             // nothing billable stays nothing
		{120, 9000, 50, 120, 27000, 5670}, // out-of-hours surcharge
		{1, 7777, 0, 60, 7777, 1633},
	} {
		billed, amount, vat := billing.PriceEstimate(c.minutes, c.cph, c.surcharge, s)
		if billed != c.wantBilled || amount != c.wantAmount || vat != c.wantVAT {
			t.Errorf("PriceEstimate(%d min, %d c/h, +%d%%) = %d min, %d c, %d c VAT; want %d, %d, %d",
				c.minutes, c.cph, c.surcharge, billed, amount, vat, c.wantBilled, c.wantAmount, c.wantVAT)
		}
	}
}

// An estimate's price is what a statement of that much billable time
// says: the two must never disagree.
func TestPriceEstimateAgreesWithRoundUp(t *testing.T) {
	s := billing.Defaults()
	for m := int64(0); m <= 480; m++ {
		billed, _, _ := billing.PriceEstimate(m, 8500, 0, s)
		if _, _, want := billing.RoundUp(m, s); billed != want {
			t.Fatalf("%d minutes: estimate bills %d, statement %d", m, billed, want)
		}
	}
}

func TestOverrunLimit(t *testing.T) {
	for _, c := range []struct {
		estimate  int64
		continued int
		want      int64
	}{
		{90, 0, 6750},   // 112.5 minutes
		{90, 1, 8100},   // 135
		{90, 2, 9450},   // 157.5
		{61, 0, 4575},   // 76.25
		{480, 0, 36000}, // 600
	} {
		if got := billing.OverrunLimitSeconds(c.estimate, c.continued); got != c.want {
			t.Errorf("OverrunLimitSeconds(%d, %d) = %d, want %d", c.estimate, c.continued, got, c.want)
		}
	}
}
