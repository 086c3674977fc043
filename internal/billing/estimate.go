package billing

// The rules for a technician's estimate (docs/billing.md, "Estimates and
// overruns"): DOMAIN.md has the desk wait for the customer's approval
// before work expected to take more than an hour, and promises no
// unforeseen bill.
const (
	// EstimateApprovalMinutes: billable work estimated above this needs
	// the customer's approval of the estimate before it starts.
	EstimateApprovalMinutes = 60
	// OverrunPercent is how far billable time may pass an approved
	// estimate before the technician is warned and the customer is asked
	// whether the work may go on; each approval to go on moves the limit
	// by the same share of the estimate again.
	OverrunPercent = 25
)

// PriceEstimate prices minutes of billable time as one intervention of
// that much would be billed: rounded up to the increment, raised to the
// minimum, at centsPerHour with the surcharge, exclusive of VAT. vat is
// the VAT on that amount, rounded half up as a statement's total is.
func PriceEstimate(minutes, centsPerHour, surchargePercent int64, s Settings) (billed, amountCents, vatCents int64) {
	_, _, billed = RoundUp(minutes, s)
	amountCents = roundHalfUp(billed*centsPerHour*(100+surchargePercent), 6000)
	return billed, amountCents, roundHalfUp(amountCents*s.VATPercent, 100)
}

// OverrunLimitSeconds is where billable time, counted from an estimate's
// approval, overruns it after the customer allowed the work to go on
// continued times: the estimate plus OverrunPercent for each step.
func OverrunLimitSeconds(estimateMinutes int64, continued int) int64 {
	return estimateMinutes * 60 * (100 + OverrunPercent*int64(continued+1)) / 100
}
