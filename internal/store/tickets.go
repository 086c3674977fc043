package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Ticket is a helpdesk ticket; every remote session belongs to one.
type Ticket struct {
	ID           int64
	Reference    string // e.g. 2026-000123, unique and never reused
	Title        string
	CustomerName string
	CreatedBy    int64
	CreatedAt    time.Time
}

// CreateTicket gives the ticket the next reference number of the current
// year. The counter row is read and bumped inside the write transaction, so
// concurrent creations never share a number.
func (s *Store) CreateTicket(ctx context.Context, title, customerName string, createdBy int64) (Ticket, error) {
	now := s.now()
	t := Ticket{Title: title, CustomerName: customerName, CreatedBy: createdBy, CreatedAt: fromMS(now.UnixMilli())}
	year := now.UTC().Year()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int64
		err := tx.QueryRowContext(ctx, `
			INSERT INTO ticket_counters (year, last) VALUES (?, 1)
			ON CONFLICT (year) DO UPDATE SET last = last + 1
			RETURNING last`, year).Scan(&n)
		if err != nil {
			return fmt.Errorf("next number: %w", err)
		}
		t.Reference = fmt.Sprintf("%d-%06d", year, n)
		res, err := tx.ExecContext(ctx,
			"INSERT INTO tickets (reference, title, customer_name, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
			t.Reference, t.Title, t.CustomerName, t.CreatedBy, now.UnixMilli())
		if err != nil {
			return err
		}
		t.ID, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		return Ticket{}, fmt.Errorf("store: create ticket: %w", err)
	}
	return t, nil
}

const ticketColumns = "id, reference, title, customer_name, created_by, created_at"

func scanTicket(row interface{ Scan(...any) error }) (Ticket, error) {
	var t Ticket
	var created int64
	if err := row.Scan(&t.ID, &t.Reference, &t.Title, &t.CustomerName, &t.CreatedBy, &created); err != nil {
		return Ticket{}, err
	}
	t.CreatedAt = fromMS(created)
	return t, nil
}

// Ticket returns one ticket.
func (s *Store) Ticket(ctx context.Context, id int64) (Ticket, error) {
	t, err := scanTicket(s.db.QueryRowContext(ctx, "SELECT "+ticketColumns+" FROM tickets WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, fmt.Errorf("store: ticket %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("store: ticket %d: %w", id, err)
	}
	return t, nil
}

// Tickets returns the newest tickets first.
func (s *Store) Tickets(ctx context.Context, limit int) ([]Ticket, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+ticketColumns+" FROM tickets ORDER BY id DESC LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("store: tickets: %w", err)
	}
	defer rows.Close()
	var out []Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tickets: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
