-- PostgreSQL's version of 0010_keyed_secrets.sql (LEAST and now() where
-- SQLite has two-argument MIN and strftime).
UPDATE remote_sessions SET code_expires_at = LEAST(code_expires_at, CAST(extract(epoch FROM now()) * 1000 AS INTEGER))
	WHERE code_used_at IS NULL;
DELETE FROM logins;
