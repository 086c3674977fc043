package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Ticket is a helpdesk ticket; every remote session belongs to one.
type Ticket struct {
	ID                int64
	Reference         string // e.g. 2026-000123, unique and never reused
	Title             string
	CustomerID        int64
	CustomerName      string
	ContactID         int64
	ContactName       string
	Kind              string
	CategoryID        int64
	CategoryCode      string
	RequestedPriority string
	Priority          string
	Impact            string
	Status            string
	AppointmentAt     time.Time
	AssignedTo        int64
	AssigneeName      string
	StatusSecret      string // the customer's status page link secret
	CreatedBy         int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// NewTicket is what creating a ticket takes.
type NewTicket struct {
	Title             string
	CustomerID        int64
	ContactID         int64 // 0: nobody in particular
	Kind              string
	CategoryID        int64
	RequestedPriority string
	Priority          string
	Impact            string
	AssignedTo        int64
}

func newSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkTicketRefs makes sure the contact belongs to the customer and the
// assignee is an active user, naming the field that is wrong.
func checkTicketRefs(ctx context.Context, tx *sql.Tx, customerID, contactID, assignedTo int64) error {
	if contactID != 0 {
		var owner int64
		err := tx.QueryRowContext(ctx, "SELECT customer_id FROM contacts WHERE id = ?", contactID).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != customerID) {
			return &FieldError{"contactId", fmt.Errorf("%w: no such contact of this customer", ErrNotFound)}
		}
		if err != nil {
			return err
		}
	}
	if assignedTo != 0 {
		var active bool
		err := tx.QueryRowContext(ctx, "SELECT active FROM users WHERE id = ?", assignedTo).Scan(&active)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !active) {
			return &FieldError{"assignedTo", fmt.Errorf("%w: no such active user", ErrNotFound)}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// CreateTicket gives the ticket the next reference number of the current
// year. The counter row is read and bumped inside the write transaction, so
// concurrent creations never share a number.
func (s *Store) CreateTicket(ctx context.Context, nt NewTicket, createdBy int64) (Ticket, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		id, err = s.createTicketTx(ctx, tx, nt, createdBy)
		return err
	})
	if err != nil {
		return Ticket{}, fmt.Errorf("store: create ticket: %w", err)
	}
	return s.Ticket(ctx, id)
}

// createTicketTx creates the ticket inside tx, so a caller can write what
// belongs to it (the request's note and files) in the same transaction.
func (s *Store) createTicketTx(ctx context.Context, tx *sql.Tx, nt NewTicket, createdBy int64) (int64, error) {
	now := s.now()
	year := now.UTC().Year()
	var customerName string
	err := tx.QueryRowContext(ctx, "SELECT name FROM customers WHERE id = ?", nt.CustomerID).Scan(&customerName)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, &FieldError{"customerId", fmt.Errorf("%w: no such customer", ErrNotFound)}
	}
	if err != nil {
		return 0, err
	}
	if err := checkTicketRefs(ctx, tx, nt.CustomerID, nt.ContactID, nt.AssignedTo); err != nil {
		return 0, err
	}
	var n int64
	err = tx.QueryRowContext(ctx, `
		INSERT INTO ticket_counters (year, last) VALUES (?, 1)
		ON CONFLICT (year) DO UPDATE SET last = ticket_counters.last + 1
		RETURNING last`, year).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("next number: %w", err)
	}
	newID, err := insertID(ctx, tx, `INSERT INTO tickets (reference, title, customer_name, created_by, created_at,
			customer_id, contact_id, kind, category_id, requested_priority, priority, impact, status, assigned_to,
			status_secret, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?)`,
		fmt.Sprintf("%d-%06d", year, n), nt.Title, customerName, createdBy, now.UnixMilli(),
		nt.CustomerID, nullID(nt.ContactID), nt.Kind, nt.CategoryID, nt.RequestedPriority, nt.Priority, nt.Impact,
		nullID(nt.AssignedTo), newSecret(), now.UnixMilli())
	if err != nil {
		if isForeignKey(err) {
			return 0, &FieldError{"categoryId", fmt.Errorf("%w: no such category", ErrNotFound)}
		}
		return 0, err
	}
	return newID, nil
}

const ticketSelect = `
	SELECT t.id, t.reference, t.title, COALESCE(t.customer_id, 0), COALESCE(c.name, t.customer_name),
	       COALESCE(t.contact_id, 0), COALESCE(ct.name, ''), t.kind, COALESCE(t.category_id, 0), COALESCE(w.code, ''),
	       t.requested_priority, t.priority, t.impact, t.status, t.appointment_at, COALESCE(t.assigned_to, 0),
	       COALESCE(u.name, ''), t.status_secret, t.created_by, t.created_at, t.updated_at
	FROM tickets t
	LEFT JOIN customers c ON c.id = t.customer_id
	LEFT JOIN contacts ct ON ct.id = t.contact_id
	LEFT JOIN work_categories w ON w.id = t.category_id
	LEFT JOIN users u ON u.id = t.assigned_to`

func scanTicket(row interface{ Scan(...any) error }) (Ticket, error) {
	var t Ticket
	var appointment sql.NullInt64
	var created, updated int64
	err := row.Scan(&t.ID, &t.Reference, &t.Title, &t.CustomerID, &t.CustomerName, &t.ContactID, &t.ContactName,
		&t.Kind, &t.CategoryID, &t.CategoryCode, &t.RequestedPriority, &t.Priority, &t.Impact, &t.Status,
		&appointment, &t.AssignedTo, &t.AssigneeName, &t.StatusSecret, &t.CreatedBy, &created, &updated)
	if err != nil {
		return Ticket{}, err
	}
	t.AppointmentAt, t.CreatedAt, t.UpdatedAt = fromNullMS(appointment), fromMS(created), fromMS(updated)
	return t, nil
}

// Ticket returns one ticket.
func (s *Store) Ticket(ctx context.Context, id int64) (Ticket, error) {
	return one(s.db.QueryRowContext(ctx, ticketSelect+" WHERE t.id = ?", id), scanTicket, fmt.Sprintf("ticket %d", id))
}

// TicketByReference returns the ticket with this reference number.
func (s *Store) TicketByReference(ctx context.Context, ref string) (Ticket, error) {
	return one(s.db.QueryRowContext(ctx, ticketSelect+" WHERE t.reference = ?", ref), scanTicket, "ticket "+ref)
}

// TicketFilter selects tickets; zero fields select everything.
type TicketFilter struct {
	Query      string // in the reference, title or customer name
	CustomerID int64
	Status     string
	Kind       string
	AssignedTo int64
	Limit      int
}

// Tickets returns the tickets matching f, newest first.
func (s *Store) Tickets(ctx context.Context, f TicketFilter) ([]Ticket, error) {
	p := likePattern(f.Query)
	clause, args := where(
		when(strings.TrimSpace(f.Query) != "", `(t.reference LIKE ? ESCAPE '\' OR t.title LIKE ? ESCAPE '\' OR c.name LIKE ? ESCAPE '\')`, p, p, p),
		when(f.CustomerID != 0, "t.customer_id = ?", f.CustomerID),
		when(f.Status != "", "t.status = ?", f.Status),
		when(f.Kind != "", "t.kind = ?", f.Kind),
		when(f.AssignedTo != 0, "t.assigned_to = ?", f.AssignedTo))
	q := ticketSelect + clause
	if f.Limit <= 0 {
		f.Limit = 200
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY t.id DESC LIMIT ?", append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: tickets: %w", err)
	}
	return collect(rows, scanTicket)
}

// TicketChanges are the fields staff change on a ticket; nil leaves a field
// as it is.
type TicketChanges struct {
	Title         *string
	ContactID     *int64
	Kind          *string
	CategoryID    *int64
	Priority      *string
	Impact        *string
	Status        *string
	AppointmentAt *time.Time // zero time clears it
	AssignedTo    *int64     // 0 unassigns
}

// UpdateTicket applies the changes and records each one in the ticket's
// history, in one transaction: a kind converted from question to problem
// is kept as such, with who and when.
func (s *Store) UpdateTicket(ctx context.Context, id int64, ch TicketChanges, by int64) (Ticket, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := scanTicket(tx.QueryRowContext(ctx, ticketSelect+" WHERE t.id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		contact, assignee := old.ContactID, old.AssignedTo
		if ch.ContactID != nil {
			contact = *ch.ContactID
		}
		if ch.AssignedTo != nil {
			assignee = *ch.AssignedTo
		}
		if err := checkTicketRefs(ctx, tx, old.CustomerID, contact, assignee); err != nil {
			return err
		}
		now := s.nowMS()
		type change struct {
			column, field, oldV, newV string
			value                     any
		}
		var changes []change
		str := func(p *string, column, field, oldV string) {
			if p != nil && *p != oldV {
				changes = append(changes, change{column, field, oldV, *p, *p})
			}
		}
		ref := func(p *int64, column, field string, oldV int64) {
			if p != nil && *p != oldV {
				changes = append(changes, change{column, field, strconv.FormatInt(oldV, 10), strconv.FormatInt(*p, 10), nullID(*p)})
			}
		}
		str(ch.Title, "title", "title", old.Title)
		str(ch.Kind, "kind", "kind", old.Kind)
		str(ch.Priority, "priority", "priority", old.Priority)
		str(ch.Impact, "impact", "impact", old.Impact)
		str(ch.Status, "status", "status", old.Status)
		ref(ch.ContactID, "contact_id", "contactId", old.ContactID)
		ref(ch.CategoryID, "category_id", "categoryId", old.CategoryID)
		ref(ch.AssignedTo, "assigned_to", "assignedTo", old.AssignedTo)
		if ch.AppointmentAt != nil && !ch.AppointmentAt.Equal(old.AppointmentAt) {
			var v any
			if !ch.AppointmentAt.IsZero() {
				v = ch.AppointmentAt.UnixMilli()
			}
			changes = append(changes, change{"appointment_at", "appointmentAt", formatTime(old.AppointmentAt), formatTime(*ch.AppointmentAt), v})
		}
		for _, c := range changes {
			// Column names come from the fixed list above, never from input.
			if _, err := tx.ExecContext(ctx, "UPDATE tickets SET "+c.column+" = ?, updated_at = ? WHERE id = ?", c.value, now, id); err != nil {
				if isForeignKey(err) {
					return &FieldError{c.field, fmt.Errorf("%w: no such %s", ErrNotFound, c.field)}
				}
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_history (ticket_id, at, actor_id, field, old_value, new_value)
				VALUES (?, ?, ?, ?, ?, ?)`, id, now, nullID(by), c.field, c.oldV, c.newV); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Ticket{}, fmt.Errorf("store: update ticket %d: %w", id, err)
	}
	return s.Ticket(ctx, id)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// HistoryEntry is one recorded change of a ticket.
type HistoryEntry struct {
	At        time.Time
	ActorID   int64
	ActorName string
	Field     string
	OldValue  string
	NewValue  string
}

// TicketHistory returns a ticket's changes, oldest first.
func (s *Store) TicketHistory(ctx context.Context, ticketID int64) ([]HistoryEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT h.at, COALESCE(h.actor_id, 0), COALESCE(u.name, ''), h.field, h.old_value, h.new_value
		FROM ticket_history h LEFT JOIN users u ON u.id = h.actor_id WHERE h.ticket_id = ? ORDER BY h.id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("store: ticket history: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (HistoryEntry, error) {
		var h HistoryEntry
		var at int64
		err := r.Scan(&at, &h.ActorID, &h.ActorName, &h.Field, &h.OldValue, &h.NewValue)
		h.At = fromMS(at)
		return h, err
	})
}

// Note is one entry of a ticket's notes thread.
type Note struct {
	ID       int64
	TicketID int64
	AuthorID int64
	// ContactID is the customer person who wrote it in the portal; 0 for
	// staff. AuthorName is then theirs.
	ContactID         int64
	AuthorName        string
	VisibleToCustomer bool
	Body              string
	CreatedAt         time.Time
}

// AddNote adds a note to a ticket.
func (s *Store) AddNote(ctx context.Context, n Note) (Note, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		n, err = s.addNoteTx(ctx, tx, n)
		return err
	})
	if err != nil {
		return Note{}, fmt.Errorf("store: add note: %w", err)
	}
	return n, nil
}

func (s *Store) addNoteTx(ctx context.Context, tx *sql.Tx, n Note) (Note, error) {
	now := s.nowMS()
	newID, err := insertID(ctx, tx, `INSERT INTO ticket_notes (ticket_id, author_id, contact_id, visible_to_customer, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, n.TicketID, n.AuthorID, nullID(n.ContactID), n.VisibleToCustomer, n.Body, now)
	if err != nil {
		if isForeignKey(err) {
			return n, fmt.Errorf("ticket %d: %w", n.TicketID, ErrNotFound)
		}
		return n, err
	}
	n.ID = newID
	n.CreatedAt = fromMS(now)
	_, err = tx.ExecContext(ctx, "UPDATE tickets SET updated_at = ? WHERE id = ?", now, n.TicketID)
	return n, err
}

// Notes returns a ticket's notes, oldest first; only those the customer may
// see when customerView is set.
func (s *Store) Notes(ctx context.Context, ticketID int64, customerView bool) ([]Note, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT n.id, n.ticket_id, n.author_id, COALESCE(n.contact_id, 0),
		       COALESCE(ct.name, u.name), n.visible_to_customer, n.body, n.created_at
		FROM ticket_notes n JOIN users u ON u.id = n.author_id LEFT JOIN contacts ct ON ct.id = n.contact_id
		WHERE n.ticket_id = ? AND (? = 0 OR n.visible_to_customer = 1) ORDER BY n.id`, ticketID, customerView)
	if err != nil {
		return nil, fmt.Errorf("store: notes: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (Note, error) {
		var n Note
		var at int64
		err := r.Scan(&n.ID, &n.TicketID, &n.AuthorID, &n.ContactID, &n.AuthorName, &n.VisibleToCustomer, &n.Body, &at)
		n.CreatedAt = fromMS(at)
		return n, err
	})
}
