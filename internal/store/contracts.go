package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Contract is a maintenance contract of a customer. Dates are YYYY-MM-DD in
// the desk's time zone.
type Contract struct {
	ID         int64
	CustomerID int64
	StartsOn   string
	EndsOn     string // "" for open-ended
	FeeCents   int64
	FeePeriod  string
	CreatedAt  time.Time
	Statuses   []StatusChange // oldest first
	Rates      []Rate         // oldest first
	// Coverage holds this contract's overrides of the catalogue, by
	// category id.
	Coverage map[int64]bool
}

// StatusChange is a contract status in force from a date.
type StatusChange struct {
	Status      string
	EffectiveOn string
	Reason      string
	ChangedBy   int64
	ChangedAt   time.Time
}

// Rate is an hourly rate in force from a date.
type Rate struct {
	CentsPerHour  int64
	EffectiveFrom string
	CreatedAt     time.Time
}

// StatusOn is the contract's status on date, or "" before its first one.
func (c Contract) StatusOn(date string) string {
	status := ""
	for _, st := range c.Statuses {
		if st.EffectiveOn <= date {
			status = st.Status
		}
	}
	return status
}

// RateOn is the hourly rate in force on date.
func (c Contract) RateOn(date string) (int64, bool) {
	return rateOn(c.Rates, date)
}

func rateOn(rates []Rate, date string) (int64, bool) {
	var cents int64
	found := false
	for _, r := range rates {
		if r.EffectiveFrom <= date {
			cents, found = r.CentsPerHour, true
		}
	}
	return cents, found
}

// InForce reports whether date falls within the contract's term.
func (c Contract) InForce(date string) bool {
	return c.StartsOn <= date && (c.EndsOn == "" || date <= c.EndsOn)
}

// CreateContract adds a contract, active from its start at the given
// hourly rate.
func (s *Store) CreateContract(ctx context.Context, c Contract, centsPerHour, by int64) (Contract, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.nowMS()
		newID, err := insertID(ctx, tx, `INSERT INTO contracts (customer_id, starts_on, ends_on, fee_cents, fee_period, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, c.CustomerID, c.StartsOn, nullString(c.EndsOn), c.FeeCents, c.FeePeriod, now)
		if err != nil {
			if isForeignKey(err) {
				return fmt.Errorf("customer %d: %w", c.CustomerID, ErrNotFound)
			}
			return err
		}
		c.ID = newID
		if _, err := tx.ExecContext(ctx, `INSERT INTO contract_status_changes (contract_id, status, effective_on, reason, changed_by, changed_at)
			VALUES (?, 'active', ?, '', ?, ?)`, c.ID, c.StartsOn, by, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO hourly_rates (contract_id, cents_per_hour, effective_from, created_by, created_at)
			VALUES (?, ?, ?, ?, ?)`, c.ID, centsPerHour, c.StartsOn, by, now)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, "", "contract.created", map[string]any{"contract": c.ID, "customer": c.CustomerID,
			"startsOn": c.StartsOn, "endsOn": c.EndsOn, "feeCents": c.FeeCents, "feePeriod": c.FeePeriod, "centsPerHour": centsPerHour})
	})
	if err != nil {
		return Contract{}, fmt.Errorf("store: create contract: %w", err)
	}
	return s.Contract(ctx, c.ID)
}

// SetContractStatus records a status in force from a date (suspended for
// non-payment, active again, cancelled on a date).
func (s *Store) SetContractStatus(ctx context.Context, contractID int64, status, effectiveOn, reason string, by int64) error {
	payload := map[string]any{"contract": contractID, "status": status, "effectiveOn": effectiveOn, "reason": reason}
	err := s.audited(ctx, "contract.status", payload, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO contract_status_changes (contract_id, status, effective_on, reason, changed_by, changed_at)
			VALUES (?, ?, ?, ?, ?, ?)`, contractID, status, effectiveOn, reason, by, s.nowMS())
		return err
	})
	if err != nil && isForeignKey(err) {
		return fmt.Errorf("store: contract %d: %w", contractID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: contract %d status: %w", contractID, err)
	}
	return nil
}

// AddRate records an hourly rate in force from a date, for a contract, or
// the desk's default rate when contractID is 0. Earlier rates are kept: a
// past session is billed at the rate of its day.
func (s *Store) AddRate(ctx context.Context, contractID, centsPerHour int64, effectiveFrom string, by int64) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.insertRate(ctx, tx, "", contractID, centsPerHour, effectiveFrom, by)
	})
	if err != nil && isForeignKey(err) {
		return fmt.Errorf("store: contract %d: %w", contractID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: add rate: %w", err)
	}
	return nil
}

// insertRate records a rate and its audit entry in tx, by actor ("" for
// the logged-in user the context carries).
func (s *Store) insertRate(ctx context.Context, tx *sql.Tx, actor string, contractID, centsPerHour int64, effectiveFrom string, by int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO hourly_rates (contract_id, cents_per_hour, effective_from, created_by, created_at)
		VALUES (?, ?, ?, ?, ?)`, nullID(contractID), centsPerHour, effectiveFrom, by, s.nowMS()); err != nil {
		return err
	}
	return s.appendAudit(ctx, tx, actor, "rate.added",
		map[string]any{"contract": contractID, "centsPerHour": centsPerHour, "effectiveFrom": effectiveFrom})
}

// DefaultRates returns the desk's default hourly rates, oldest first.
func (s *Store) DefaultRates(ctx context.Context) ([]Rate, error) {
	return s.rates(ctx, "contract_id IS NULL")
}

// DefaultRateOn is the desk's default hourly rate on date.
func (s *Store) DefaultRateOn(ctx context.Context, date string) (int64, bool, error) {
	rates, err := s.DefaultRates(ctx)
	if err != nil {
		return 0, false, err
	}
	cents, ok := rateOn(rates, date)
	return cents, ok, nil
}

func (s *Store) rates(ctx context.Context, where string, args ...any) ([]Rate, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT cents_per_hour, effective_from, created_at FROM hourly_rates WHERE "+
		where+" ORDER BY effective_from, id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: rates: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (Rate, error) {
		var rate Rate
		var created int64
		err := r.Scan(&rate.CentsPerHour, &rate.EffectiveFrom, &created)
		rate.CreatedAt = fromMS(created)
		return rate, err
	})
}

// Contract returns one contract with its status and rate history.
func (s *Store) Contract(ctx context.Context, id int64) (Contract, error) {
	var c Contract
	var ends sql.NullString
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT id, customer_id, starts_on, ends_on, fee_cents, fee_period, created_at
		FROM contracts WHERE id = ?`, id).Scan(&c.ID, &c.CustomerID, &c.StartsOn, &ends, &c.FeeCents, &c.FeePeriod, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Contract{}, fmt.Errorf("store: contract %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Contract{}, fmt.Errorf("store: contract %d: %w", id, err)
	}
	c.EndsOn, c.CreatedAt = ends.String, fromMS(created)
	rows, err := s.db.QueryContext(ctx, `SELECT status, effective_on, reason, changed_by, changed_at
		FROM contract_status_changes WHERE contract_id = ? ORDER BY effective_on, id`, id)
	if err != nil {
		return Contract{}, fmt.Errorf("store: contract %d statuses: %w", id, err)
	}
	c.Statuses, err = collect(rows, func(r interface{ Scan(...any) error }) (StatusChange, error) {
		var st StatusChange
		var at int64
		err := r.Scan(&st.Status, &st.EffectiveOn, &st.Reason, &st.ChangedBy, &at)
		st.ChangedAt = fromMS(at)
		return st, err
	})
	if err != nil {
		return Contract{}, err
	}
	if c.Rates, err = s.rates(ctx, "contract_id = ?", id); err != nil {
		return Contract{}, err
	}
	rows, err = s.db.QueryContext(ctx, "SELECT category_id, covered FROM contract_coverage WHERE contract_id = ?", id)
	if err != nil {
		return Contract{}, fmt.Errorf("store: contract %d coverage: %w", id, err)
	}
	overrides, err := collect(rows, func(r interface{ Scan(...any) error }) ([2]int64, error) {
		var o [2]int64
		return o, r.Scan(&o[0], &o[1])
	})
	if err != nil {
		return Contract{}, err
	}
	c.Coverage = map[int64]bool{}
	for _, o := range overrides {
		c.Coverage[o[0]] = o[1] == 1
	}
	return c, nil
}

// Contracts returns a customer's contracts, newest first.
func (s *Store) Contracts(ctx context.Context, customerID int64) ([]Contract, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id FROM contracts WHERE customer_id = ? ORDER BY starts_on DESC, id DESC", customerID)
	if err != nil {
		return nil, fmt.Errorf("store: contracts: %w", err)
	}
	ids, err := collect(rows, scanID)
	if err != nil {
		return nil, err
	}
	out := make([]Contract, 0, len(ids))
	for _, id := range ids {
		c, err := s.Contract(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ContractOn returns the customer's contract in force on date, if any.
func (s *Store) ContractOn(ctx context.Context, customerID int64, date string) (Contract, bool, error) {
	cs, err := s.Contracts(ctx, customerID)
	if err != nil {
		return Contract{}, false, err
	}
	for _, c := range cs {
		if c.InForce(date) {
			return c, true, nil
		}
	}
	return Contract{}, false, nil
}

// Category is a kind of work, covered by a maintenance contract or not.
type Category struct {
	ID      int64
	Code    string
	Names   map[string]string // by language
	Covered bool              // the catalogue default
	Sort    int
}

func scanCategory(r interface{ Scan(...any) error }) (Category, error) {
	var c Category
	var nl, fr, en string
	err := r.Scan(&c.ID, &c.Code, &nl, &fr, &en, &c.Covered, &c.Sort)
	c.Names = map[string]string{"nl": nl, "fr": fr, "en": en}
	return c, err
}

// Categories returns the catalogue of work categories.
func (s *Store) Categories(ctx context.Context) ([]Category, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, code, name_nl, name_fr, name_en, covered, sort FROM work_categories ORDER BY sort, id")
	if err != nil {
		return nil, fmt.Errorf("store: categories: %w", err)
	}
	return collect(rows, scanCategory)
}

// SetCategoryCovered changes a category's catalogue default.
func (s *Store) SetCategoryCovered(ctx context.Context, id int64, covered bool) error {
	err := s.audited(ctx, "category.covered", map[string]any{"category": id, "covered": covered}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE work_categories SET covered = ? WHERE id = ?", covered, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: category %d: %w", id, err)
	}
	return nil
}

// SetContractCoverage overrides the catalogue default for one contract;
// covered nil removes the override.
func (s *Store) SetContractCoverage(ctx context.Context, contractID, categoryID int64, covered *bool) error {
	payload := map[string]any{"contract": contractID, "category": categoryID, "covered": covered}
	err := s.audited(ctx, "contract.coverage", payload, func(tx *sql.Tx) error {
		var err error
		if covered == nil {
			_, err = tx.ExecContext(ctx, "DELETE FROM contract_coverage WHERE contract_id = ? AND category_id = ?", contractID, categoryID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO contract_coverage (contract_id, category_id, covered) VALUES (?, ?, ?)
				ON CONFLICT (contract_id, category_id) DO UPDATE SET covered = excluded.covered`, contractID, categoryID, *covered)
		}
		return err
	})
	if err != nil && isForeignKey(err) {
		return fmt.Errorf("store: contract %d or category %d: %w", contractID, categoryID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: contract coverage: %w", err)
	}
	return nil
}

// CategoryCovered reports whether a contract covers a category: its own
// override if it has one, else the catalogue default.
func (s *Store) CategoryCovered(ctx context.Context, contractID, categoryID int64) (bool, error) {
	var covered bool
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(
			(SELECT covered FROM contract_coverage WHERE contract_id = ? AND category_id = ?),
			(SELECT covered FROM work_categories WHERE id = ?))`, contractID, categoryID, categoryID).Scan(&covered)
	if err != nil {
		return false, fmt.Errorf("store: category coverage: %w", err)
	}
	return covered, nil
}
