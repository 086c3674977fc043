package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	// PasswordHash is the password the person chose (auth.HashPassword);
	// "" for none: sign-in by link only.
	PasswordHash string
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
	err = s.db.QueryRowContext(ctx, "SELECT invited_at IS NOT NULL, password_hash FROM portal_accounts WHERE contact_id = ?",
		contactID).Scan(&a.Invited, &a.PasswordHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("store: portal access of contact %d: %w", contactID, err)
	}
	return a, nil
}

// PortalInvited returns which of a customer's contacts an admin invited
// to the portal.
func (s *Store) PortalInvited(ctx context.Context, customerID int64) (map[int64]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT p.contact_id FROM portal_accounts p JOIN contacts c ON c.id = p.contact_id
		WHERE c.customer_id = ? AND p.invited_at IS NOT NULL`, customerID)
	if err != nil {
		return nil, fmt.Errorf("store: invited contacts of customer %d: %w", customerID, err)
	}
	ids, err := collect(rows, scanID)
	if err != nil {
		return nil, fmt.Errorf("store: invited contacts of customer %d: %w", customerID, err)
	}
	out := map[int64]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
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
// Links a day past their expiry are dropped as new ones are made: until
// then a late click still hears "expired", not "unknown".
func (s *Store) CreatePortalLink(ctx context.Context, contactID int64, tokenHash []byte, expires time.Time) error {
	now := s.nowMS()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM portal_links WHERE expires_at <= ?", now-24*time.Hour.Milliseconds()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO portal_links (token_hash, contact_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
			tokenHash, contactID, now, expires.UnixMilli())
		return err
	})
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
// Expired sessions are dropped as new ones start, as console logins are.
func (s *Store) CreatePortalLogin(ctx context.Context, contactID int64, tokenHash, csrfHash []byte, expires time.Time) error {
	now := s.nowMS()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM portal_logins WHERE expires_at <= ?", now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO portal_logins (token_hash, contact_id, csrf_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
			tokenHash, contactID, csrfHash, now, expires.UnixMilli())
		return err
	})
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

// AddCustomerFiles adds a customer person's files to a ticket, with their
// note when body is not empty, in one transaction.
func (s *Store) AddCustomerFiles(ctx context.Context, ticketID, contactID int64, body string, files []Attachment) error {
	if body != "" {
		return s.AddCustomerNote(ctx, Note{TicketID: ticketID, ContactID: contactID, Body: body}, files)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error { return s.addAttachmentsTx(ctx, tx, ticketID, contactID, files) })
	if err != nil {
		return fmt.Errorf("store: files on ticket %d: %w", ticketID, err)
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

// PortalAccessByEmail returns the portal access of every contact with the
// address (one person may be the contact of several customers, a
// bookkeeper's say), at most limit, oldest first.
func (s *Store) PortalAccessByEmail(ctx context.Context, email string, limit int) ([]PortalAccess, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id FROM contacts WHERE lower(email) = ? ORDER BY id LIMIT ?",
		strings.ToLower(strings.TrimSpace(email)), limit)
	if err != nil {
		return nil, fmt.Errorf("store: contacts by address: %w", err)
	}
	ids, err := collect(rows, scanID)
	if err != nil {
		return nil, fmt.Errorf("store: contacts by address: %w", err)
	}
	var out []PortalAccess
	for _, id := range ids {
		a, err := s.PortalAccessOf(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// SetPortalPassword sets (hash "" removes) the person's own password and
// ends their other portal sessions; the one whose token hash is keep
// stays, audited in the same transaction.
func (s *Store) SetPortalPassword(ctx context.Context, contactID int64, hash string, keep []byte) error {
	now := s.nowMS()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO portal_accounts (contact_id, password_hash, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (contact_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at`,
			contactID, hash, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM portal_logins WHERE contact_id = ? AND token_hash <> ?", contactID, keep); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, "contact:"+strconv.FormatInt(contactID, 10), "portal.password_set",
			map[string]any{"contactId": contactID, "removed": hash == ""})
	})
	if err != nil {
		return fmt.Errorf("store: portal password of contact %d: %w", contactID, err)
	}
	return nil
}

// SetContactLang stores the language a person chose in the portal.
func (s *Store) SetContactLang(ctx context.Context, contactID int64, lang string) error {
	res, err := s.db.ExecContext(ctx, "UPDATE contacts SET lang = ? WHERE id = ?", lang, contactID)
	if err != nil {
		return fmt.Errorf("store: language of contact %d: %w", contactID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: language of contact %d: %w", contactID, ErrNotFound)
	}
	return nil
}

// TicketFile is an attachment as a ticket lists it: who added it.
type TicketFile struct {
	Attachment
	By string // the contact's name
}

const attachmentColumns = `a.id, a.ticket_id, COALESCE(a.contact_id, 0), a.name, a.size, a.sha256, a.stored_name, a.created_at,
	COALESCE(c.name, '')`

func scanTicketFile(row interface{ Scan(...any) error }) (TicketFile, error) {
	var f TicketFile
	var created int64
	err := row.Scan(&f.ID, &f.TicketID, &f.ContactID, &f.Name, &f.Size, &f.SHA256, &f.StoredName, &created, &f.By)
	f.CreatedAt = fromMS(created)
	return f, err
}

// TicketFiles lists a ticket's attachments, oldest first.
func (s *Store) TicketFiles(ctx context.Context, ticketID int64) ([]TicketFile, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+attachmentColumns+
		" FROM ticket_attachments a LEFT JOIN contacts c ON c.id = a.contact_id WHERE a.ticket_id = ? ORDER BY a.id", ticketID)
	if err != nil {
		return nil, fmt.Errorf("store: files of ticket %d: %w", ticketID, err)
	}
	return collect(rows, scanTicketFile)
}

// TicketFileOf returns one attachment of a ticket; ErrNotFound for one of
// another ticket, as for one that does not exist.
func (s *Store) TicketFileOf(ctx context.Context, ticketID, id int64) (TicketFile, error) {
	return one(s.db.QueryRowContext(ctx, "SELECT "+attachmentColumns+
		" FROM ticket_attachments a LEFT JOIN contacts c ON c.id = a.contact_id WHERE a.ticket_id = ? AND a.id = ?", ticketID, id),
		scanTicketFile, fmt.Sprintf("file %d of ticket %d", id, ticketID))
}
