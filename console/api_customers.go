package console

import (
	"errors"
	"net/http"
	"time"

	"github.com/meekijk/meekijk/internal/helpdesk"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/store"
)

type customerJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	VATNumber string    `json:"vatNumber"`
	Lang      string    `json:"lang"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func customerOf(c store.Customer) customerJSON {
	return customerJSON{ID: c.ID, Name: c.Name, VATNumber: c.VATNumber, Lang: c.Lang, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type siteJSON struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"`
}

type contactJSON struct {
	ID            int64  `json:"id"`
	CustomerID    int64  `json:"customerId"`
	Name          string `json:"name"`
	Email         string `json:"email"`
	Phone         string `json:"phone"`
	Lang          string `json:"lang"`
	ReferenceRole string `json:"referenceRole"`
	SiteID        int64  `json:"siteId,omitempty"`
	// PortalInvited: an admin invited the contact to the portal (answers only).
	PortalInvited bool `json:"portalInvited,omitempty"`
}

func contactOf(c store.Contact) contactJSON {
	return contactJSON{ID: c.ID, CustomerID: c.CustomerID, Name: c.Name, Email: c.Email, Phone: c.Phone, Lang: c.Lang,
		ReferenceRole: c.ReferenceRole, SiteID: c.SiteID}
}

type statusChangeJSON struct {
	Status      string    `json:"status"`
	EffectiveOn string    `json:"effectiveOn"`
	Reason      string    `json:"reason"`
	ChangedAt   time.Time `json:"changedAt"`
}

type rateJSON struct {
	CentsPerHour  int64  `json:"centsPerHour"`
	EffectiveFrom string `json:"effectiveFrom"`
}

type contractJSON struct {
	ID         int64              `json:"id"`
	CustomerID int64              `json:"customerId"`
	StartsOn   string             `json:"startsOn"`
	EndsOn     string             `json:"endsOn,omitempty"`
	FeeCents   int64              `json:"feeCents"`
	FeePeriod  string             `json:"feePeriod"`
	Status     string             `json:"status"` // today
	InForce    bool               `json:"inForce"`
	Rate       int64              `json:"centsPerHour"` // today
	Statuses   []statusChangeJSON `json:"statuses"`
	Rates      []rateJSON         `json:"rates"`
	// Coverage: this contract's overrides of the catalogue, by category id.
	Coverage map[int64]bool `json:"coverage"`
}

func contractOf(c store.Contract, today string) contractJSON {
	out := contractJSON{ID: c.ID, CustomerID: c.CustomerID, StartsOn: c.StartsOn, EndsOn: c.EndsOn, FeeCents: c.FeeCents,
		FeePeriod: c.FeePeriod, Status: c.StatusOn(today), InForce: c.InForce(today),
		Statuses: []statusChangeJSON{}, Rates: []rateJSON{}, Coverage: c.Coverage}
	out.Rate, _ = c.RateOn(today)
	for _, st := range c.Statuses {
		out.Statuses = append(out.Statuses, statusChangeJSON{Status: st.Status, EffectiveOn: st.EffectiveOn, Reason: st.Reason, ChangedAt: st.ChangedAt})
	}
	for _, r := range c.Rates {
		out.Rates = append(out.Rates, rateJSON{CentsPerHour: r.CentsPerHour, EffectiveFrom: r.EffectiveFrom})
	}
	return out
}

func (c *console) listCustomers(w http.ResponseWriter, r *http.Request) error {
	cs, err := c.Store.Customers(r.Context(), r.URL.Query().Get("q"), 500)
	if err != nil {
		return err
	}
	out := make([]customerJSON, 0, len(cs))
	for _, cu := range cs {
		out = append(out, customerOf(cu))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// customerIn validates a customer as sent by a form.
func customerIn(w http.ResponseWriter, r *http.Request) (store.Customer, error) {
	var in struct {
		Name      string `json:"name"`
		VATNumber string `json:"vatNumber"`
		Lang      string `json:"lang"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 8<<10); err != nil {
		return store.Customer{}, err
	}
	name, err := text("name", in.Name, 200, false)
	if in.Lang == "" {
		in.Lang = "nl"
	}
	vat := ""
	if err == nil && in.VATNumber != "" {
		if vat, err = helpdesk.NormalizeVAT(in.VATNumber); err != nil {
			err = httpx.FieldError("vatNumber", "vatNumber %q is not a valid VAT number", in.VATNumber)
		}
	}
	err = firstErr(err, oneOf("lang", in.Lang, helpdesk.Languages))
	return store.Customer{Name: name, VATNumber: vat, Lang: in.Lang}, err
}

func (c *console) createCustomer(w http.ResponseWriter, r *http.Request) error {
	in, err := customerIn(w, r)
	if err != nil {
		return err
	}
	cu, err := c.Store.CreateCustomer(r.Context(), in)
	return answerSaved(w, http.StatusCreated, cu, err, customerOf)
}

func (c *console) updateCustomer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := customerIn(w, r)
	if err != nil {
		return err
	}
	in.ID = id
	cu, err := c.Store.UpdateCustomer(r.Context(), in)
	return answerSaved(w, http.StatusOK, cu, err, customerOf)
}

func (c *console) customer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	cu, err := c.Store.Customer(ctx, id)
	if err != nil {
		return err
	}
	sites, err := c.Store.Sites(ctx, id)
	if err != nil {
		return err
	}
	contacts, err := c.Store.Contacts(ctx, id)
	if err != nil {
		return err
	}
	contracts, err := c.Store.Contracts(ctx, id)
	if err != nil {
		return err
	}
	cal, err := c.calendarOf(ctx)
	if err != nil {
		return err
	}
	today := localDate(cal.TimeZone, c.Now())
	out := struct {
		customerJSON
		Sites     []siteJSON     `json:"sites"`
		Contacts  []contactJSON  `json:"contacts"`
		Contracts []contractJSON `json:"contracts"`
	}{customerOf(cu), []siteJSON{}, []contactJSON{}, []contractJSON{}}
	for _, s := range sites {
		out.Sites = append(out.Sites, siteJSON{ID: s.ID, Name: s.Name, Address: s.Address})
	}
	invited, err := c.Store.PortalInvited(ctx, cu.ID)
	if err != nil {
		return err
	}
	for _, ct := range contacts {
		cj := contactOf(ct)
		cj.PortalInvited = invited[ct.ID]
		out.Contacts = append(out.Contacts, cj)
	}
	for _, co := range contracts {
		out.Contracts = append(out.Contracts, contractOf(co, today))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (c *console) createSite(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in siteJSON
	if err := httpx.DecodeJSON(w, r, &in, 8<<10); err != nil {
		return err
	}
	name, err := text("name", in.Name, 200, false)
	address, err2 := text("address", in.Address, 500, true)
	if err := firstErr(err, err2); err != nil {
		return err
	}
	s, err := c.Store.CreateSite(r.Context(), store.Site{CustomerID: id, Name: name, Address: address})
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusCreated, siteJSON{ID: s.ID, Name: s.Name, Address: s.Address})
	return nil
}

// contactIn validates a contact as sent by a form.
func contactIn(w http.ResponseWriter, r *http.Request) (store.Contact, error) {
	var in contactJSON
	if err := httpx.DecodeJSON(w, r, &in, 8<<10); err != nil {
		return store.Contact{}, err
	}
	if in.Lang == "" {
		in.Lang = "nl"
	}
	name, errName := text("name", in.Name, 200, false)
	email, errEmail := text("email", in.Email, 254, true)
	phone, errPhone := text("phone", in.Phone, 50, true)
	err := firstErr(errName, errEmail, errPhone,
		oneOf("lang", in.Lang, helpdesk.Languages),
		oneOf("referenceRole", in.ReferenceRole, helpdesk.ReferenceRoles))
	if err == nil && email != "" && !looksLikeEmail(email) {
		err = httpx.FieldError("email", "email %q is not an e-mail address", email)
	}
	if err == nil && (in.ReferenceRole == "site") != (in.SiteID != 0) {
		err = httpx.FieldError("siteId", "a site reference person needs a siteId, and only they have one")
	}
	return store.Contact{Name: name, Email: email, Phone: phone, Lang: in.Lang, ReferenceRole: in.ReferenceRole, SiteID: in.SiteID}, err
}

// looksLikeEmail is a sanity check, not validation: mail delivery is the
// only real test of an address.
func looksLikeEmail(s string) bool {
	at := -1
	for i, r := range s {
		if r == '@' {
			at = i
		}
		if r == ' ' {
			return false
		}
	}
	return at > 0 && at < len(s)-3
}

func (c *console) createContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := contactIn(w, r)
	if err != nil {
		return err
	}
	in.CustomerID = id
	ct, err := c.Store.CreateContact(r.Context(), in)
	return answerSaved(w, http.StatusCreated, ct, err, contactOf)
}

func (c *console) updateContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := contactIn(w, r)
	if err != nil {
		return err
	}
	in.ID = id
	ct, err := c.Store.UpdateContact(r.Context(), in)
	return answerSaved(w, http.StatusOK, ct, err, contactOf)
}

func (c *console) createContract(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		StartsOn     string `json:"startsOn"`
		EndsOn       string `json:"endsOn"`
		FeeCents     int64  `json:"feeCents"`
		FeePeriod    string `json:"feePeriod"`
		CentsPerHour int64  `json:"centsPerHour"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return err
	}
	starts, errStart := date("startsOn", in.StartsOn, false)
	ends, errEnd := date("endsOn", in.EndsOn, true)
	err = firstErr(errStart, errEnd, oneOf("feePeriod", in.FeePeriod, helpdesk.FeePeriods),
		nonNegative("feeCents", in.FeeCents), nonNegative("centsPerHour", in.CentsPerHour))
	if err == nil && ends != "" && ends < starts {
		err = httpx.FieldError("endsOn", "the contract ends (%s) before it starts (%s)", ends, starts)
	}
	if err != nil {
		return err
	}
	co, err := c.Store.CreateContract(r.Context(), store.Contract{CustomerID: id, StartsOn: starts, EndsOn: ends,
		FeeCents: in.FeeCents, FeePeriod: in.FeePeriod}, in.CentsPerHour, login(r).User.ID)
	if err != nil {
		return err
	}
	cal, err := c.calendarOf(r.Context())
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusCreated, contractOf(co, localDate(cal.TimeZone, c.Now())))
	return nil
}

func nonNegative(field string, v int64) error {
	if v < 0 {
		return httpx.FieldError(field, "%s cannot be negative", field)
	}
	return nil
}

func (c *console) setContractStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Status      string `json:"status"`
		EffectiveOn string `json:"effectiveOn"`
		Reason      string `json:"reason"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return err
	}
	on, errOn := date("effectiveOn", in.EffectiveOn, false)
	reason, errReason := text("reason", in.Reason, 500, true)
	if err := firstErr(oneOf("status", in.Status, helpdesk.ContractSts), errOn, errReason); err != nil {
		return err
	}
	if err := c.Store.SetContractStatus(r.Context(), id, in.Status, on, reason, login(r).User.ID); err != nil {
		return err
	}
	return c.contractAnswer(w, r, id)
}

func (c *console) contractAnswer(w http.ResponseWriter, r *http.Request, id int64) error {
	co, err := c.Store.Contract(r.Context(), id)
	if err != nil {
		return err
	}
	cal, err := c.calendarOf(r.Context())
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, contractOf(co, localDate(cal.TimeZone, c.Now())))
	return nil
}

// rateIn validates an hourly rate in force from a date.
func rateIn(w http.ResponseWriter, r *http.Request) (rateJSON, error) {
	var in rateJSON
	if err := httpx.DecodeJSON(w, r, &in, 4<<10); err != nil {
		return in, err
	}
	from, err := date("effectiveFrom", in.EffectiveFrom, false)
	in.EffectiveFrom = from
	return in, firstErr(err, nonNegative("centsPerHour", in.CentsPerHour))
}

func (c *console) addContractRate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := rateIn(w, r)
	if err != nil {
		return err
	}
	if err := c.Store.AddRate(r.Context(), id, in.CentsPerHour, in.EffectiveFrom, login(r).User.ID); err != nil {
		return err
	}
	return c.contractAnswer(w, r, id)
}

func (c *console) defaultRates(w http.ResponseWriter, r *http.Request) error {
	rates, err := c.Store.DefaultRates(r.Context())
	if err != nil {
		return err
	}
	out := []rateJSON{}
	for _, rt := range rates {
		out = append(out, rateJSON{CentsPerHour: rt.CentsPerHour, EffectiveFrom: rt.EffectiveFrom})
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (c *console) addDefaultRate(w http.ResponseWriter, r *http.Request) error {
	in, err := rateIn(w, r)
	if err != nil {
		return err
	}
	if err := c.Store.AddRate(r.Context(), 0, in.CentsPerHour, in.EffectiveFrom, login(r).User.ID); err != nil {
		return err
	}
	return c.defaultRates(w, r)
}

type categoryJSON struct {
	ID      int64             `json:"id"`
	Code    string            `json:"code"`
	Names   map[string]string `json:"names"`
	Covered bool              `json:"covered"`
}

func (c *console) listCategories(w http.ResponseWriter, r *http.Request) error {
	cats, err := c.Store.Categories(r.Context())
	if err != nil {
		return err
	}
	out := make([]categoryJSON, 0, len(cats))
	for _, cat := range cats {
		out = append(out, categoryJSON{ID: cat.ID, Code: cat.Code, Names: cat.Names, Covered: cat.Covered})
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

func (c *console) updateCategory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Covered *bool `json:"covered"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	if in.Covered == nil {
		return httpx.FieldError("covered", "covered is required")
	}
	if err := c.Store.SetCategoryCovered(r.Context(), id, *in.Covered); err != nil {
		return err
	}
	return c.listCategories(w, r)
}

func (c *console) setCoverage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cat, err := pathID(r, "category")
	if err != nil {
		return err
	}
	var in struct {
		Covered *bool `json:"covered"` // null: back to the catalogue default
	}
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	if err := c.Store.SetContractCoverage(r.Context(), id, cat, in.Covered); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = httpx.Errorf(http.StatusNotFound, "not_found", "no such contract or category")
		}
		return err
	}
	return c.contractAnswer(w, r, id)
}
