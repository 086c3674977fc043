-- Session codes and CSRF tokens are now kept as HMAC-SHA256 under a key in
-- the data directory (docs/security.md, "Secrets at rest"). Rows written
-- before cannot be re-keyed, since only their plain hash is known:
-- codes not yet used expire now (the technician starts a new session; an
-- old plain hash can never match a keyed one anyway), and every console
-- login ends (its CSRF token is in clear), so everyone logs in once more.
UPDATE remote_sessions SET code_expires_at = MIN(code_expires_at, CAST(strftime('%s', 'now') AS INTEGER) * 1000)
	WHERE code_used_at IS NULL;
DELETE FROM logins;
