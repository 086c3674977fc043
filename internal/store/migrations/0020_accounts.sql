-- Accounts (issues 15 and 19): forced password changes and a TOTP second
-- factor. The TOTP secret is sealed with a key kept in the data directory,
-- never in this database, and recovery codes are kept only as keyed hashes,
-- so a copy of the database alone gives neither.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1));
-- totp_secret: the sealed secret; totp_enabled_at is NULL while the user has
-- not yet confirmed it with a first code (enrolment in progress).
ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_enabled_at INTEGER;
-- The last 30-second step a code was accepted for: a code (or an earlier
-- one) cannot be used twice within its window.
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
	user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash BLOB    NOT NULL,
	used_at   INTEGER,
	PRIMARY KEY (user_id, code_hash)
) STRICT;
