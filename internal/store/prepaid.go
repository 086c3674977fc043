package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
)

// PrepaidBlock is a block of hours a customer bought (docs/billing.md,
// "Prepaid hours").
type PrepaidBlock struct {
	ID          int64     `json:"id"`
	CustomerID  int64     `json:"customerId"`
	PurchasedOn string    `json:"purchasedOn"`
	Minutes     int64     `json:"minutes"`
	PriceCents  int64     `json:"priceCents"`
	ExpiresOn   string    `json:"expiresOn,omitempty"`
	Note        string    `json:"note"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Billing returns the block as the billing engine takes it, nothing used.
func (b PrepaidBlock) Billing() billing.PrepaidBlock {
	return billing.PrepaidBlock{ID: b.ID, PurchasedOn: b.PurchasedOn, Minutes: b.Minutes, PriceCents: b.PriceCents,
		ExpiresOn: b.ExpiresOn}
}

// Audit events of prepaid blocks.
const (
	EventPrepaidAdded   = "prepaid.added"   // the block as stored
	EventPrepaidExpires = "prepaid.expires" // {"id", "from", "to"}: its expiry changed
)

// AddPrepaidBlock stores a block sold to a customer, audited in the same
// transaction. A bad field is a *FieldError naming it.
func (s *Store) AddPrepaidBlock(ctx context.Context, b PrepaidBlock) (PrepaidBlock, error) {
	if err := checkBlock(b); err != nil {
		return PrepaidBlock{}, err
	}
	if _, err := s.Customer(ctx, b.CustomerID); err != nil {
		return PrepaidBlock{}, err
	}
	b.CreatedAt = fromMS(s.nowMS())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		newID, err := insertID(ctx, tx, `INSERT INTO prepaid_blocks (customer_id, purchased_on, minutes, price_cents,
			expires_on, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			b.CustomerID, b.PurchasedOn, b.Minutes, b.PriceCents, nullString(b.ExpiresOn), b.Note, b.CreatedAt.UnixMilli())
		if err != nil {
			return err
		}
		b.ID = newID
		return s.appendAudit(ctx, tx, "", EventPrepaidAdded, b)
	})
	if err != nil {
		return PrepaidBlock{}, fmt.Errorf("store: add prepaid block: %w", err)
	}
	return b, nil
}

// SetPrepaidExpiry changes when a block expires ("" never): a desk may
// extend a block as a goodwill gesture. The change is audited with the
// old and new date.
func (s *Store) SetPrepaidExpiry(ctx context.Context, id int64, expiresOn string) (PrepaidBlock, error) {
	b, err := s.PrepaidBlock(ctx, id)
	if err != nil {
		return b, err
	}
	from := b.ExpiresOn
	b.ExpiresOn = expiresOn
	if err := checkBlock(b); err != nil {
		return PrepaidBlock{}, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE prepaid_blocks SET expires_on = ? WHERE id = ?", nullString(expiresOn), id); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, "", EventPrepaidExpires, map[string]any{"id": id, "customerId": b.CustomerID, "from": from, "to": expiresOn})
	})
	if err != nil {
		return PrepaidBlock{}, fmt.Errorf("store: prepaid block %d expiry: %w", id, err)
	}
	return b, nil
}

func checkBlock(b PrepaidBlock) error {
	// The engine's own check, so the store and a quote refuse the same;
	// a block not yet stored has no id, and needs none here.
	bb := b.Billing()
	bb.ID = 1
	err := billing.ValidatePrepaid(billing.Prepaid{Blocks: []billing.PrepaidBlock{bb}})
	var fe *billing.FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: strings.TrimPrefix(fe.Field, "blocks[0]."), Err: fe.Err}
	}
	return err
}

const prepaidColumns = "id, customer_id, purchased_on, minutes, price_cents, COALESCE(expires_on, ''), note, created_at"

func scanPrepaid(row interface{ Scan(...any) error }) (PrepaidBlock, error) {
	var b PrepaidBlock
	var created int64
	err := row.Scan(&b.ID, &b.CustomerID, &b.PurchasedOn, &b.Minutes, &b.PriceCents, &b.ExpiresOn, &b.Note, &created)
	b.CreatedAt = fromMS(created)
	return b, err
}

// PrepaidBlock returns one block.
func (s *Store) PrepaidBlock(ctx context.Context, id int64) (PrepaidBlock, error) {
	return one(s.db.QueryRowContext(ctx, "SELECT "+prepaidColumns+" FROM prepaid_blocks WHERE id = ?", id),
		scanPrepaid, "prepaid block "+strconv.FormatInt(id, 10))
}

// PrepaidBlocks lists a customer's blocks, oldest first (the order they
// are used in).
func (s *Store) PrepaidBlocks(ctx context.Context, customerID int64) ([]PrepaidBlock, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+prepaidColumns+
		" FROM prepaid_blocks WHERE customer_id = ? ORDER BY purchased_on, id", customerID)
	if err != nil {
		return nil, fmt.Errorf("store: prepaid blocks of customer %d: %w", customerID, err)
	}
	return collect(rows, scanPrepaid)
}

// settingPrepaidWarn is the admin's warning threshold in minutes.
const settingPrepaidWarn = "prepaid_warn_minutes"

// SettingPrepaidWarn names the threshold in SettingHistory.
const SettingPrepaidWarn = settingPrepaidWarn

// DefaultPrepaidWarnMinutes warns when two hours or less are left.
const DefaultPrepaidWarnMinutes = 120

// PrepaidWarnMinutes is the desk's warning threshold.
func (s *Store) PrepaidWarnMinutes(ctx context.Context) (int64, error) {
	v, ok, err := s.Setting(ctx, settingPrepaidWarn)
	if err != nil || !ok {
		return DefaultPrepaidWarnMinutes, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store: %s %q: %w", settingPrepaidWarn, v, err)
	}
	return n, nil
}

// SetPrepaidWarnMinutes sets the threshold (audited as every setting).
func (s *Store) SetPrepaidWarnMinutes(ctx context.Context, minutes int64) error {
	if err := checkWarn(minutes); err != nil {
		return err
	}
	return s.SetSetting(ctx, settingPrepaidWarn, strconv.FormatInt(minutes, 10))
}

func checkWarn(minutes int64) error {
	err := billing.ValidatePrepaid(billing.Prepaid{WarnMinutes: minutes})
	var fe *billing.FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: fe.Field, Err: fe.Err}
	}
	return err
}
