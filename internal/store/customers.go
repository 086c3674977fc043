package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// FieldError is a request the database refuses because of one field: a
// duplicate, or a reference to something that does not belong.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Customer is a customer company of the desk.
type Customer struct {
	ID        int64
	Name      string
	VATNumber string // normalised; "" for none
	Lang      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Site is one of a customer's locations.
type Site struct {
	ID         int64
	CustomerID int64
	Name       string
	Address    string
}

// Contact is a person at a customer.
type Contact struct {
	ID            int64
	CustomerID    int64
	Name          string
	Email         string
	Phone         string
	Lang          string
	ReferenceRole string // "", general, technical, site
	SiteID        int64  // set when ReferenceRole is "site"
	CreatedAt     time.Time
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

var errDuplicateVAT = errors.New("another customer has this VAT number")

// CreateCustomer adds a customer; a VAT number already used is a
// FieldError on "vatNumber" wrapping ErrConflict.
func (s *Store) CreateCustomer(ctx context.Context, c Customer) (Customer, error) {
	now := s.nowMS()
	newID, err := insertID(ctx, s.db,
		"INSERT INTO customers (name, vat_number, lang, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
		c.Name, nullString(c.VATNumber), c.Lang, now, now)
	if isUnique(err) {
		return Customer{}, &FieldError{"vatNumber", fmt.Errorf("%w: %w", ErrConflict, errDuplicateVAT)}
	}
	if err != nil {
		return Customer{}, fmt.Errorf("store: create customer: %w", err)
	}
	c.ID = newID
	c.CreatedAt, c.UpdatedAt = fromMS(now), fromMS(now)
	return c, nil
}

// UpdateCustomer changes a customer's name, VAT number and language.
func (s *Store) UpdateCustomer(ctx context.Context, c Customer) (Customer, error) {
	res, err := s.db.ExecContext(ctx,
		"UPDATE customers SET name = ?, vat_number = ?, lang = ?, updated_at = ? WHERE id = ?",
		c.Name, nullString(c.VATNumber), c.Lang, s.nowMS(), c.ID)
	if isUnique(err) {
		return Customer{}, &FieldError{"vatNumber", fmt.Errorf("%w: %w", ErrConflict, errDuplicateVAT)}
	}
	if err != nil {
		return Customer{}, fmt.Errorf("store: update customer %d: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Customer{}, fmt.Errorf("store: customer %d: %w", c.ID, ErrNotFound)
	}
	return s.Customer(ctx, c.ID)
}

const customerColumns = "id, name, COALESCE(vat_number, ''), lang, created_at, updated_at"

func scanCustomer(row interface{ Scan(...any) error }) (Customer, error) {
	var c Customer
	var created, updated int64
	if err := row.Scan(&c.ID, &c.Name, &c.VATNumber, &c.Lang, &created, &updated); err != nil {
		return Customer{}, err
	}
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return c, nil
}

// Customer returns one customer.
func (s *Store) Customer(ctx context.Context, id int64) (Customer, error) {
	return one(s.db.QueryRowContext(ctx, "SELECT "+customerColumns+" FROM customers WHERE id = ?", id),
		scanCustomer, fmt.Sprintf("customer %d", id))
}

// likePattern makes a user's search words a LIKE pattern, escaping the
// wildcards they may contain.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.TrimSpace(q)) + "%"
}

// Customers lists customers by name, those whose name or VAT number
// contains query when it is not empty.
func (s *Store) Customers(ctx context.Context, query string, limit int) ([]Customer, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+customerColumns+` FROM customers
		WHERE ? = '' OR name LIKE ? ESCAPE '\' OR vat_number LIKE ? ESCAPE '\'
		ORDER BY name COLLATE NOCASE, id LIMIT ?`, strings.TrimSpace(query), likePattern(query), likePattern(strings.ReplaceAll(strings.ToUpper(query), ".", "")), limit)
	if err != nil {
		return nil, fmt.Errorf("store: customers: %w", err)
	}
	return collect(rows, scanCustomer)
}

// collect scans every row with scan.
// scanID scans a row of one id, for collect.
func scanID(r interface{ Scan(...any) error }) (int64, error) {
	var id int64
	return id, r.Scan(&id)
}

func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CreateSite adds a site to a customer; a duplicate name is a FieldError.
func (s *Store) CreateSite(ctx context.Context, site Site) (Site, error) {
	newID, err := insertID(ctx, s.db, "INSERT INTO sites (customer_id, name, address) VALUES (?, ?, ?)",
		site.CustomerID, site.Name, site.Address)
	switch {
	case isUnique(err):
		return Site{}, &FieldError{"name", fmt.Errorf("%w: the customer has a site of this name", ErrConflict)}
	case err != nil && isForeignKey(err):
		return Site{}, fmt.Errorf("store: customer %d: %w", site.CustomerID, ErrNotFound)
	case err != nil:
		return Site{}, fmt.Errorf("store: create site: %w", err)
	}
	site.ID = newID
	return site, nil
}

// Sites lists a customer's sites.
func (s *Store) Sites(ctx context.Context, customerID int64) ([]Site, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, customer_id, name, address FROM sites WHERE customer_id = ? ORDER BY name", customerID)
	if err != nil {
		return nil, fmt.Errorf("store: sites: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (Site, error) {
		var site Site
		err := r.Scan(&site.ID, &site.CustomerID, &site.Name, &site.Address)
		return site, err
	})
}

const contactColumns = "id, customer_id, name, email, phone, lang, reference_role, COALESCE(site_id, 0), created_at"

func scanContact(row interface{ Scan(...any) error }) (Contact, error) {
	var c Contact
	var created int64
	err := row.Scan(&c.ID, &c.CustomerID, &c.Name, &c.Email, &c.Phone, &c.Lang, &c.ReferenceRole, &c.SiteID, &created)
	c.CreatedAt = fromMS(created)
	return c, err
}

// checkContactSite makes sure a contact's site belongs to its customer.
func checkContactSite(ctx context.Context, tx *sql.Tx, c Contact) error {
	if c.SiteID == 0 {
		return nil
	}
	var owner int64
	err := tx.QueryRowContext(ctx, "SELECT customer_id FROM sites WHERE id = ?", c.SiteID).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != c.CustomerID) {
		return &FieldError{"siteId", fmt.Errorf("%w: no such site of this customer", ErrNotFound)}
	}
	return err
}

// CreateContact adds a contact to a customer.
func (s *Store) CreateContact(ctx context.Context, c Contact) (Contact, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkContactSite(ctx, tx, c); err != nil {
			return err
		}
		now := s.nowMS()
		newID, err := insertID(ctx, tx, `INSERT INTO contacts
			(customer_id, name, email, phone, lang, reference_role, site_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			c.CustomerID, c.Name, c.Email, c.Phone, c.Lang, c.ReferenceRole, nullID(c.SiteID), now)
		if err != nil {
			if isForeignKey(err) {
				return fmt.Errorf("customer %d: %w", c.CustomerID, ErrNotFound)
			}
			return err
		}
		c.ID = newID
		c.CreatedAt = fromMS(now)
		return nil
	})
	if err != nil {
		return Contact{}, fmt.Errorf("store: create contact: %w", err)
	}
	return c, nil
}

// UpdateContact changes a contact (not its customer).
func (s *Store) UpdateContact(ctx context.Context, c Contact) (Contact, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var owner int64
		err := tx.QueryRowContext(ctx, "SELECT customer_id FROM contacts WHERE id = ?", c.ID).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		c.CustomerID = owner
		if err := checkContactSite(ctx, tx, c); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE contacts SET name = ?, email = ?, phone = ?, lang = ?, reference_role = ?, site_id = ?
			WHERE id = ?`, c.Name, c.Email, c.Phone, c.Lang, c.ReferenceRole, nullID(c.SiteID), c.ID)
		return err
	})
	if err != nil {
		return Contact{}, fmt.Errorf("store: update contact %d: %w", c.ID, err)
	}
	return s.Contact(ctx, c.ID)
}

// Contact returns one contact.
func (s *Store) Contact(ctx context.Context, id int64) (Contact, error) {
	return one(s.db.QueryRowContext(ctx, "SELECT "+contactColumns+" FROM contacts WHERE id = ?", id),
		scanContact, fmt.Sprintf("contact %d", id))
}

// Contacts lists a customer's contacts, reference persons first.
func (s *Store) Contacts(ctx context.Context, customerID int64) ([]Contact, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+contactColumns+
		" FROM contacts WHERE customer_id = ? ORDER BY reference_role = '', name", customerID)
	if err != nil {
		return nil, fmt.Errorf("store: contacts: %w", err)
	}
	return collect(rows, scanContact)
}
