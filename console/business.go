package console

import (
	"context"
	"net/http"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/store"
)

// businessRoutes registers the routes of prepaid hours, invoices and
// e-mail (issue 20), kept apart so the route table in New stays short.
func (c *console) businessRoutes(public func(string, http.Handler), protect func(string, apiFunc, []store.Role), staff, admin []store.Role) {
	protect("GET /api/v1/customers/{id}/prepaid", c.customerPrepaid, staff)
	protect("POST /api/v1/customers/{id}/prepaid", c.addPrepaid, admin)
	protect("PUT /api/v1/prepaid/{id}/expiry", c.setPrepaidExpiry, admin)
	protect("GET /api/v1/settings/prepaid", c.getPrepaidSettings, admin)
	protect("PUT /api/v1/settings/prepaid", c.putPrepaidSettings, admin)

	protect("GET /api/v1/settings/company", c.getCompany, admin)
	protect("PUT /api/v1/settings/company", c.putCompany, admin)
	protect("GET /api/v1/customers/{id}/invoicing", c.getInvoicing, admin)
	protect("PUT /api/v1/customers/{id}/invoicing", c.putInvoicing, admin)
	protect("GET /api/v1/billing/approvals", c.listApprovals, admin)
	protect("POST /api/v1/billing/approvals", c.approveStatement, admin)
	protect("POST /api/v1/billing/approvals/{id}/invoice", c.issueInvoice, admin)
	protect("GET /api/v1/invoices/{number}", c.invoiceXML, admin)

	protect("GET /api/v1/settings/mail", c.getMailSettings, admin)
	protect("PUT /api/v1/settings/mail", c.putMailSettings, admin)
	protect("POST /api/v1/tickets/{id}/estimates", c.createEstimate, staff)
	// The customer's approval of an estimate, from the mailed link: no
	// login, the link's token is the key.
	public("GET /estimate/{token}", c.handle(c.estimatePage))
	public("POST /estimate/{token}", c.handle(c.estimatePage))
}

// customerExtras completes a customer's statement of [from, to) with what
// the customer's record adds: its prepaid blocks, and no VAT when it is
// exempt.
func (c *console) customerExtras(ctx context.Context, cu store.Customer, from, to time.Time, st billing.Statement) (billing.Statement, error) {
	st, err := c.withPrepaid(ctx, cu, from, to, st)
	if err != nil {
		return st, err
	}
	v, err := c.Store.CustomerInvoicing(ctx, cu.ID)
	return exempted(st, v), err
}
