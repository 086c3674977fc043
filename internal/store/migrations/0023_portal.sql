-- The customer portal (issue 21): customer people sign in with a one-time
-- link or a password of their own, file requests, add notes and files,
-- approve estimates. Customers are a principal of their own: their logins
-- live here, never in logins, so no portal cookie can pass a console check.

-- A contact who may use the portal beyond the reference persons (who may
-- by their role), or who chose a password. A row without invited_at is a
-- reference person's password only.
CREATE TABLE portal_accounts (
	contact_id    INTEGER PRIMARY KEY REFERENCES contacts (id),
	invited_by    INTEGER REFERENCES users (id),
	invited_at    INTEGER,
	-- auth.HashPassword; '' for none: sign-in by link only.
	password_hash TEXT    NOT NULL DEFAULT '',
	updated_at    INTEGER NOT NULL
) STRICT;

-- One-time sign-in links. Only a keyed hash of the token is kept (the key
-- lives beside the database, as the session codes' does), so a copy of
-- the database signs nobody in. used_at makes a link single-use.
CREATE TABLE portal_links (
	token_hash BLOB    PRIMARY KEY,
	contact_id INTEGER NOT NULL REFERENCES contacts (id),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
) STRICT;
CREATE INDEX portal_links_contact ON portal_links (contact_id);

-- Portal sessions: the keyed hash of the cookie's token and of its CSRF
-- token, as console logins keep them.
CREATE TABLE portal_logins (
	token_hash BLOB    PRIMARY KEY,
	contact_id INTEGER NOT NULL REFERENCES contacts (id),
	csrf_hash  BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

-- A note a customer person wrote in the portal names them; author_id is
-- then the portal's own user below.
ALTER TABLE ticket_notes ADD COLUMN contact_id INTEGER REFERENCES contacts (id);

-- Files a customer attached to a request or a note. The bytes live in the
-- data directory under stored_name; the row is written in the transaction
-- of the ticket or note, so a failed request leaves no file behind.
CREATE TABLE ticket_attachments (
	id          INTEGER PRIMARY KEY,
	ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
	contact_id  INTEGER REFERENCES contacts (id),
	name        TEXT    NOT NULL,
	size        INTEGER NOT NULL CHECK (size >= 0),
	sha256      TEXT    NOT NULL,
	stored_name TEXT    NOT NULL UNIQUE,
	created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX ticket_attachments_ticket ON ticket_attachments (ticket_id, id);

-- The author of what customers file: tickets and notes need a user. It can
-- never sign in: inactive, and no password hash matches '!'.
INSERT INTO users (email, name, role, lang, languages, password_hash, created_at, active)
	VALUES ('portal@meekijk.invalid', 'Klantenportaal', 'technician', 'nl', 'nl', '!', 0, 0);
