-- The customer portal's second part (issue 21): out-of-contract work the
-- desk announces on a ticket is a question the customer answers before
-- the work, recorded exactly as an estimate's approval is (text, version,
-- SHA-256, who, when). It is an estimate row of its own kind, so the one
-- approval path and the one record serve both.

-- 'estimate': a technician's estimate (over an hour it needs approval);
-- 'out_of_contract': work outside the contract, billed whatever its
-- length, which always needs approval.
ALTER TABLE ticket_estimates ADD COLUMN kind TEXT NOT NULL DEFAULT 'estimate';
-- Why out-of-contract work is not covered, in the desk's words ('' for an
-- estimate).
ALTER TABLE ticket_estimates ADD COLUMN reason TEXT NOT NULL DEFAULT '';
-- The customer's answer may be a refusal: the answer columns (approved_at,
-- approved_by, approval_text, ...) then record what was refused, exactly
-- as an approval, and this is 1.
ALTER TABLE ticket_estimates ADD COLUMN approval_refused INTEGER NOT NULL DEFAULT 0;

-- Portal sign-in by e-mail address looks contacts up by it.
CREATE INDEX contacts_email ON contacts (lower(email));
