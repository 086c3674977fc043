package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The customer portal's accounts, one-time sign-in links and sessions
// (migration 0023). Tokens arrive here already hashed under the relay's
// key: the store never sees one in clear.

// PortalUserEmail names the user every ticket and note filed in the
// portal is created by; the person is on the note (Note.ContactID).
const PortalUserEmail = "portal@meekijk.invalid"

// Link and login failures, told apart so the page can say what to do.
var (
	ErrLinkExpired = errors.New("the sign-in link has expired")
	ErrLinkUsed    = errors.New("the sign-in link was used already")
)

// PortalAccess is what the portal knows of a contact.
type PortalAccess struct {
	Contact Contact
	// Invited: an admin invited this contact, who is no reference person.
	Invited bool
}

// Allowed: the contact may sign in, as a reference person or invited.
func (a PortalAccess) Allowed() bool { return a.Contact.ReferenceRole != "" || a.Invited }

// PortalAccessOf returns the contact's portal access.
func (s *Store) PortalAccessOf(ctx context.Context, contactID int64) (PortalAccess, error) {
	ct, err := s.Contact(ctx, contactID)
	if err != nil {
		return PortalAccess{}, err
	}
	a := PortalAccess{Contact: ct}
	err = s.db.QueryRowContext(ctx, "SELECT invited_at IS NOT NULL FROM portal_accounts WHERE contact_id = ?",
		contactID).Scan(&a.Invited)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("store: portal access of contact %d: %w", contactID, err)
	}
	return a, nil
}

// InviteToPortal lets a contact who is no reference person sign in.
func (s *Store) InviteToPortal(ctx context.Context, contactID, by int64) error {
	now := s.nowMS()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO portal_accounts (contact_id, invited_by, invited_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (contact_id) DO UPDATE SET invited_by = excluded.invited_by, invited_at = excluded.invited_at,
			updated_at = excluded.updated_at`, contactID, by, now, now)
		if err != nil && isForeignKey(err) {
			return fmt.Errorf("contact %d: %w", contactID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, "", "portal.invited", map[string]any{"contactId": contactID, "by": by})
	})
	if err != nil {
		return fmt.Errorf("store: invite contact %d: %w", contactID, err)
	}
	return nil
}

// CreatePortalLink stores a sign-in link's hashed token.
func (s *Store) CreatePortalLink(ctx context.Context, contactID int64, tokenHash []byte, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, "INSERT INTO portal_links (token_hash, contact_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
		tokenHash, contactID, s.nowMS(), expires.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: sign-in link for contact %d: %w", contactID, err)
	}
	return nil
}

// UsePortalLink spends a sign-in link and returns its contact: once, and
// only before it expires. ErrNotFound for a token never issued.
func (s *Store) UsePortalLink(ctx context.Context, tokenHash []byte) (int64, error) {
	var contactID int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var expires int64
		var used sql.NullInt64
		err := tx.QueryRowContext(ctx, "SELECT contact_id, expires_at, used_at FROM portal_links WHERE token_hash = ?", tokenHash).
			Scan(&contactID, &expires, &used)
		now := s.nowMS()
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case used.Valid:
			return ErrLinkUsed
		case expires <= now:
			return ErrLinkExpired
		}
		res, err := tx.ExecContext(ctx, "UPDATE portal_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL", now, tokenHash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLinkUsed
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: use sign-in link: %w", err)
	}
	return contactID, nil
}

// CreatePortalLogin stores a portal session by its hashed tokens.
func (s *Store) CreatePortalLogin(ctx context.Context, contactID int64, tokenHash, csrfHash []byte, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, "INSERT INTO portal_logins (token_hash, contact_id, csrf_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		tokenHash, contactID, csrfHash, s.nowMS(), expires.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: portal login of contact %d: %w", contactID, err)
	}
	return nil
}

// PortalLogin returns the contact and hashed CSRF token of a live portal
// session; ErrNotFound when there is none.
func (s *Store) PortalLogin(ctx context.Context, tokenHash []byte) (contactID int64, csrfHash []byte, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT contact_id, csrf_hash FROM portal_logins WHERE token_hash = ? AND expires_at > ?",
		tokenHash, s.nowMS()).Scan(&contactID, &csrfHash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, ErrNotFound
	}
	if err != nil {
		return 0, nil, fmt.Errorf("store: portal login: %w", err)
	}
	return contactID, csrfHash, nil
}

// DeletePortalLogin ends a portal session.
func (s *Store) DeletePortalLogin(ctx context.Context, tokenHash []byte) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM portal_logins WHERE token_hash = ?", tokenHash); err != nil {
		return fmt.Errorf("store: portal logout: %w", err)
	}
	return nil
}

// Attachment is a file a customer attached to a ticket.
type Attachment struct {
	ID         int64
	TicketID   int64
	ContactID  int64
	Name       string
	Size       int64
	SHA256     string
	StoredName string // under the attachments directory
	CreatedAt  time.Time
}

// FileRequest creates a ticket with its description note and files in one
// transaction: a request is registered whole or not at all.
func (s *Store) FileRequest(ctx context.Context, nt NewTicket, note Note, files []Attachment) (Ticket, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		by, err := portalUser(ctx, tx)
		if err != nil {
			return err
		}
		if id, err = s.createTicketTx(ctx, tx, nt, by); err != nil {
			return err
		}
		note.TicketID, note.AuthorID = id, by
		if _, err := s.addNoteTx(ctx, tx, note); err != nil {
			return err
		}
		return s.addAttachmentsTx(ctx, tx, id, note.ContactID, files)
	})
	if err != nil {
		return Ticket{}, fmt.Errorf("store: file request: %w", err)
	}
	return s.Ticket(ctx, id)
}

// AddCustomerNote adds a customer person's note and files to a ticket in
// one transaction.
func (s *Store) AddCustomerNote(ctx context.Context, note Note, files []Attachment) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		by, err := portalUser(ctx, tx)
		if err != nil {
			return err
		}
		note.AuthorID, note.VisibleToCustomer = by, true
		if _, err := s.addNoteTx(ctx, tx, note); err != nil {
			return err
		}
		return s.addAttachmentsTx(ctx, tx, note.TicketID, note.ContactID, files)
	})
	if err != nil {
		return fmt.Errorf("store: customer note on ticket %d: %w", note.TicketID, err)
	}
	return nil
}

func portalUser(ctx context.Context, tx *sql.Tx) (int64, error) {
	var id int64
	if err := tx.QueryRowContext(ctx, "SELECT id FROM users WHERE email = ?", PortalUserEmail).Scan(&id); err != nil {
		return 0, fmt.Errorf("the portal's user: %w", err)
	}
	return id, nil
}

func (s *Store) addAttachmentsTx(ctx context.Context, tx *sql.Tx, ticketID, contactID int64, files []Attachment) error {
	for _, f := range files {
		_, err := tx.ExecContext(ctx, `INSERT INTO ticket_attachments (ticket_id, contact_id, name, size, sha256, stored_name, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, ticketID, nullID(contactID), f.Name, f.Size, f.SHA256, f.StoredName, s.nowMS())
		if err != nil {
			return fmt.Errorf("attachment %q: %w", f.Name, err)
		}
	}
	return nil
}
