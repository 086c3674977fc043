package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/pricing"
	"github.com/meekijk/meekijk/internal/store"
)

// Prepaid hours in the console (docs/billing.md, "Prepaid hours"). What a
// block has left is never stored: it is computed from the work billed
// since the block was bought, by the same engine as the statements, so
// the balance the technician, the customer and the statement show is one
// figure.

// withPrepaid applies the customer's blocks to its statement of [from, to).
func (c *console) withPrepaid(ctx context.Context, cu store.Customer, from, to time.Time, st billing.Statement) (billing.Statement, error) {
	p, err := pricing.New(c.Store, c.Now).PrepaidOf(ctx, cu, from, to)
	if err != nil || p == nil {
		return st, err
	}
	return billing.DeductPrepaid(st, *p)
}

// prepaidNow is the customer's balance today (internal/pricing).
func (c *console) prepaidNow(ctx context.Context, cu store.Customer) (*billing.PrepaidSummary, error) {
	return pricing.New(c.Store, c.Now).PrepaidNow(ctx, cu)
}

type prepaidJSON struct {
	Blocks  []store.PrepaidBlock    `json:"blocks"`
	Balance *billing.PrepaidSummary `json:"balance"` // null without blocks
}

// customerPrepaid lists a customer's blocks with the balance today.
func (c *console) customerPrepaid(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cu, err := c.Store.Customer(r.Context(), id)
	if err != nil {
		return err
	}
	blocks, err := c.Store.PrepaidBlocks(r.Context(), id)
	if err != nil {
		return err
	}
	bal, err := c.prepaidNow(r.Context(), cu)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, prepaidJSON{Blocks: blocks, Balance: bal})
	return nil
}

type prepaidBlockIn struct {
	PurchasedOn string `json:"purchasedOn"`
	Minutes     int64  `json:"minutes"` // the console asks for hours and sends minutes
	PriceCents  int64  `json:"priceCents"`
	ExpiresOn   string `json:"expiresOn"`
	Note        string `json:"note"`
}

// addPrepaid records a block sold to a customer; the store checks the
// numbers as the billing engine does.
func (c *console) addPrepaid(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in prepaidBlockIn
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	b := store.PrepaidBlock{CustomerID: id, Minutes: in.Minutes, PriceCents: in.PriceCents}
	err = firstErr(
		func() (err error) { b.PurchasedOn, err = date("purchasedOn", in.PurchasedOn, false); return }(),
		func() (err error) { b.ExpiresOn, err = date("expiresOn", in.ExpiresOn, true); return }(),
		func() (err error) { b.Note, err = text("note", in.Note, 200, true); return }(),
	)
	if err != nil {
		return err
	}
	if b, err = c.Store.AddPrepaidBlock(r.Context(), b); err != nil {
		return err
	}
	c.log.Info("prepaid block added", "user", login(r).User.ID, "customer", id, "block", b.ID, "minutes", b.Minutes)
	return c.customerPrepaid(w, r)
}

// setPrepaidExpiry changes a block's last day ("" never expires).
func (c *console) setPrepaidExpiry(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		ExpiresOn string `json:"expiresOn"`
	}
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	if _, err := date("expiresOn", in.ExpiresOn, true); err != nil {
		return err
	}
	b, err := c.Store.SetPrepaidExpiry(r.Context(), id, in.ExpiresOn)
	if err != nil {
		return err
	}
	r.SetPathValue("id", strconv.FormatInt(b.CustomerID, 10))
	return c.customerPrepaid(w, r)
}

type prepaidSettingsJSON struct {
	WarnMinutes int64                 `json:"warnMinutes"`
	History     []store.SettingChange `json:"history"`
}

func (c *console) getPrepaidSettings(w http.ResponseWriter, r *http.Request) error {
	warn, err := c.Store.PrepaidWarnMinutes(r.Context())
	if err != nil {
		return err
	}
	hist, err := c.Store.SettingHistory(r.Context(), settingHistoryLength, store.SettingPrepaidWarn)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, prepaidSettingsJSON{WarnMinutes: warn, History: hist})
	return nil
}

func (c *console) putPrepaidSettings(w http.ResponseWriter, r *http.Request) error {
	var in prepaidSettingsJSON
	if err := httpx.DecodeJSON(w, r, &in, 1<<10); err != nil {
		return err
	}
	if err := c.Store.SetPrepaidWarnMinutes(r.Context(), in.WarnMinutes); err != nil {
		if fe, ok := errors.AsType[*store.FieldError](err); ok {
			return httpx.FieldError(fe.Field, "%s", fe.Err.Error())
		}
		return err
	}
	return c.getPrepaidSettings(w, r)
}

// statusPrepaid puts the customer's balance on the ticket's status page.
func (c *console) statusPrepaid(ctx context.Context, v *statusView) error {
	if v.Ticket.CustomerID == 0 {
		return nil
	}
	cu, err := c.Store.Customer(ctx, v.Ticket.CustomerID)
	if err != nil {
		return err
	}
	if v.Prepaid, err = c.prepaidNow(ctx, cu); err != nil || v.Prepaid == nil {
		return err
	}
	unit := c.status.catalog.T(i18n.Lang(v.Lang), "agent.prepaid.hour")
	v.PrepaidLeft = billing.FormatHours(v.Prepaid.RemainingMinutes, unit)
	v.PrepaidExpired = billing.FormatHours(v.Prepaid.ExpiredMinutes, unit)
	return nil
}
