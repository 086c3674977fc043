package console

import "github.com/meekijk/meekijk/internal/store"

// businessRoutes registers the routes of prepaid hours, invoices and
// e-mail (issue 20), kept apart so the route table in New stays short.
func (c *console) businessRoutes(protect func(string, apiFunc, []store.Role), staff, admin []store.Role) {
	protect("GET /api/v1/customers/{id}/prepaid", c.customerPrepaid, staff)
	protect("POST /api/v1/customers/{id}/prepaid", c.addPrepaid, admin)
	protect("PUT /api/v1/prepaid/{id}/expiry", c.setPrepaidExpiry, admin)
	protect("GET /api/v1/settings/prepaid", c.getPrepaidSettings, admin)
	protect("PUT /api/v1/settings/prepaid", c.putPrepaidSettings, admin)
}
