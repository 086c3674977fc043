package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/billing"
)

// BillingRules are the billing rules an admin edits (the hourly rates have
// their own dated history: DefaultRates, contract rates).
type BillingRules struct {
	MergeTicketDay             bool  `json:"mergeTicketDay"`
	IncrementMinutes           int64 `json:"incrementMinutes"`
	MinimumMinutes             int64 `json:"minimumMinutes"`
	OutOfHoursSurchargePercent int64 `json:"outOfHoursSurchargePercent"`
	VATPercent                 int64 `json:"vatPercent"`
}

// RulesOf returns the rules of s.
func RulesOf(s billing.Settings) BillingRules {
	return BillingRules{MergeTicketDay: s.MergeTicketDay, IncrementMinutes: s.IncrementMinutes, MinimumMinutes: s.MinimumMinutes,
		OutOfHoursSurchargePercent: s.OutOfHoursSurchargePercent, VATPercent: s.VATPercent}
}

// SetBillingRules stores the desk's billing rules. Like every setting, the
// change is an audit entry holding the new value, which is the setting's
// history (SettingHistory).
func (s *Store) SetBillingRules(ctx context.Context, r BillingRules) error {
	set := billing.Defaults()
	set.MergeTicketDay, set.IncrementMinutes, set.MinimumMinutes = r.MergeTicketDay, r.IncrementMinutes, r.MinimumMinutes
	set.OutOfHoursSurchargePercent, set.VATPercent = r.OutOfHoursSurchargePercent, r.VATPercent
	if err := billing.ValidateRules(set); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: billing rules: %w", err)
	}
	return s.SetSetting(ctx, settingBilling, string(b))
}

// Setting keys an admin edits, as SettingHistory names them.
const (
	SettingBilling         = settingBilling
	SettingReconfirmEvery  = settingReconfirmEvery
	SettingReconfirmAnswer = settingReconfirmAnswer
)

// SettingChange is one saved value of a setting, with who saved it when.
type SettingChange struct {
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Key   string    `json:"key"`
	Value string    `json:"value"`
}

// maxSettingHistory bounds one history read.
const maxSettingHistory = 200

// SettingHistory returns the saved values of the settings keys, newest
// first, at most limit (up to 200). They are read from the audit log,
// where SetSetting writes every change in the same transaction as the
// change itself: one record, kept tamper-evident, rather than a copy that
// could disagree with it.
func (s *Store) SettingHistory(ctx context.Context, limit int, keys ...string) ([]SettingChange, error) {
	if limit <= 0 || limit > maxSettingHistory {
		limit = maxSettingHistory
	}
	return s.settingChanges(ctx, limit, keys...)
}

// settingChanges is SettingHistory without its bound: a limit of
// math.MaxInt64 reads every change (a negative LIMIT, SQLite's "none", is
// an error on PostgreSQL).
func (s *Store) settingChanges(ctx context.Context, limit int, keys ...string) ([]SettingChange, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	args := []any{}
	for _, k := range keys {
		args = append(args, k)
	}
	args = append(args, limit)
	key, value := s.jsonText("payload", "key"), s.jsonText("payload", "value")
	rows, err := s.db.QueryContext(ctx, `SELECT at, actor, `+key+`, `+value+`
		FROM audit_log WHERE event = 'setting.changed' AND `+key+` IN (?`+
		strings.Repeat(", ?", len(keys)-1)+`) ORDER BY seq DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: setting history: %w", err)
	}
	defer rows.Close()
	out := []SettingChange{}
	for rows.Next() {
		var c SettingChange
		var at int64
		if err := rows.Scan(&at, &c.Actor, &c.Key, &c.Value); err != nil {
			return nil, fmt.Errorf("store: setting history: %w", err)
		}
		c.At = fromMS(at)
		out = append(out, c)
	}
	return out, rows.Err()
}
