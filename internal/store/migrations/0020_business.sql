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
