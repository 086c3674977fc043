-- Prepaid hours, Peppol invoices and e-mail (issue 20). Numbered 20 so
-- that migrations other branches add meanwhile (0007...) run before it.

-- A block of hours a customer bought in advance ("strippenkaart").
-- Deductions are not stored: every statement computes them from the
-- work since the block was bought (billing.DeductPrepaid), so a
-- recategorised ticket can never leave a balance that disagrees with the
-- statements. A block is never deleted: its purchase is part of the books.
CREATE TABLE prepaid_blocks (
	id           INTEGER PRIMARY KEY,
	customer_id  INTEGER NOT NULL REFERENCES customers (id),
	purchased_on TEXT    NOT NULL CHECK (purchased_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	minutes      INTEGER NOT NULL CHECK (minutes > 0),
	price_cents  INTEGER NOT NULL CHECK (price_cents >= 0),
	-- Last day the block may be used; NULL: it never expires.
	expires_on   TEXT    CHECK (expires_on IS NULL OR expires_on >= purchased_on),
	note         TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX prepaid_blocks_customer ON prepaid_blocks (customer_id, purchased_on);

CREATE TRIGGER prepaid_blocks_kept BEFORE DELETE ON prepaid_blocks
BEGIN
	SELECT RAISE(ABORT, 'prepaid blocks are never deleted');
END;

-- What an invoice needs of a customer beyond its record (docs/invoices.md).
CREATE TABLE customer_invoicing (
	customer_id      INTEGER PRIMARY KEY REFERENCES customers (id),
	street           TEXT    NOT NULL DEFAULT '',
	postcode         TEXT    NOT NULL DEFAULT '',
	city             TEXT    NOT NULL DEFAULT '',
	country          TEXT    NOT NULL DEFAULT 'BE',
	-- KBO/BCE enterprise number, ten digits: the Peppol address (0208).
	company_id       TEXT    NOT NULL DEFAULT '',
	email            TEXT    NOT NULL DEFAULT '',
	buyer_reference  TEXT    NOT NULL DEFAULT '',
	-- EN 16931 VAT exemption reason (VATEX-EU-...); '' pays VAT.
	exemption_code   TEXT    NOT NULL DEFAULT '',
	exemption_reason TEXT    NOT NULL DEFAULT '',
	updated_at       INTEGER NOT NULL
) STRICT;

-- A customer's statement for a period, as an admin approved it: the
-- statement an invoice is made from, frozen with its SHA-256.
CREATE TABLE statement_approvals (
	id           INTEGER PRIMARY KEY,
	customer_id  INTEGER NOT NULL REFERENCES customers (id),
	period_start TEXT    NOT NULL, -- first day
	period_end   TEXT    NOT NULL, -- last day
	statement    TEXT    NOT NULL, -- JSON of billing.Statement
	sha256       BLOB    NOT NULL,
	approved_by  TEXT    NOT NULL,
	approved_at  INTEGER NOT NULL,
	-- Set when a credit note cancelled its invoice: the period may then
	-- be approved again, corrected.
	withdrawn_at INTEGER
) STRICT;
CREATE UNIQUE INDEX statement_approvals_current ON statement_approvals (customer_id, period_start)
	WHERE withdrawn_at IS NULL;

CREATE TRIGGER statement_approvals_frozen BEFORE UPDATE OF customer_id, period_start, period_end, statement, sha256,
	approved_by, approved_at ON statement_approvals
BEGIN
	SELECT RAISE(ABORT, 'an approved statement is never altered');
END;
CREATE TRIGGER statement_approvals_kept BEFORE DELETE ON statement_approvals
BEGIN
	SELECT RAISE(ABORT, 'an approved statement is never deleted');
END;

-- Exported invoices and credit notes. seq is the number: taken as the
-- last plus one in the exporting transaction, and rows are never deleted,
-- so a number is never reused nor skipped.
CREATE TABLE invoices (
	seq          INTEGER PRIMARY KEY,
	number       TEXT    NOT NULL UNIQUE,
	kind         TEXT    NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
	customer_id  INTEGER NOT NULL REFERENCES customers (id),
	approval_id  INTEGER NOT NULL REFERENCES statement_approvals (id),
	credits      INTEGER REFERENCES invoices (seq),
	issue_date   TEXT    NOT NULL,
	xml          TEXT    NOT NULL,
	sha256       BLOB    NOT NULL,
	amount_cents INTEGER NOT NULL,
	vat_cents    INTEGER NOT NULL,
	total_cents  INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	UNIQUE (approval_id, kind)
) STRICT;

CREATE TRIGGER invoices_never_altered BEFORE UPDATE ON invoices
BEGIN
	SELECT RAISE(ABORT, 'an exported invoice is never altered: correct it with a credit note');
END;
CREATE TRIGGER invoices_never_deleted BEFORE DELETE ON invoices
BEGIN
	SELECT RAISE(ABORT, 'an exported invoice is never deleted');
END;

-- Mail waiting to be sent, and sent (internal/mail). A row is written in
-- the transaction of what it tells about, so nothing is announced that
-- did not happen, and kept after sending as the record of it.
CREATE TABLE mail_queue (
	id              INTEGER PRIMARY KEY,
	-- ticket_confirmation, estimate_approval, receipt
	kind            TEXT    NOT NULL,
	-- What it is about (ticket reference, estimate or session id): one
	-- mail of a kind per subject, so a repeated enqueue sends nothing twice.
	ref             TEXT    NOT NULL,
	to_addr         TEXT    NOT NULL,
	lang            TEXT    NOT NULL,
	subject         TEXT    NOT NULL,
	body            TEXT    NOT NULL,
	message_id      TEXT    NOT NULL UNIQUE,
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	last_error      TEXT    NOT NULL DEFAULT '',
	sent_at         INTEGER,
	UNIQUE (kind, ref)
) STRICT;
CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at) WHERE sent_at IS NULL;

-- An estimate a technician gives on a ticket before the appointment; over
-- an hour of billable work it waits for the customer's approval, given
-- through the link mailed to the contact (the token's SHA-256 is kept,
-- not the token), recorded as the in-session approval is: text, version,
-- SHA-256, who, when.
CREATE TABLE ticket_estimates (
	id               INTEGER PRIMARY KEY,
	ticket_id        INTEGER NOT NULL REFERENCES tickets (id),
	minutes          INTEGER NOT NULL CHECK (minutes > 0),
	description      TEXT    NOT NULL,
	billed_minutes   INTEGER NOT NULL,
	cents_per_hour   INTEGER NOT NULL,
	amount_cents     INTEGER NOT NULL,
	vat_cents        INTEGER NOT NULL,
	token_hash       BLOB    NOT NULL UNIQUE,
	created_by       INTEGER NOT NULL REFERENCES users (id),
	created_at       INTEGER NOT NULL,
	approved_at      INTEGER,
	approved_by      TEXT,
	approval_text    TEXT,
	approval_lang    TEXT,
	approval_version TEXT,
	approval_sha256  BLOB
) STRICT;
