-- Times are Unix milliseconds (UTC), taken from the relay's clock.

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
	name          TEXT    NOT NULL,
	role          TEXT    NOT NULL CHECK (role IN ('admin', 'technician')),
	lang          TEXT    NOT NULL DEFAULT 'nl' CHECK (lang IN ('nl', 'fr', 'en')),
	password_hash TEXT    NOT NULL,
	created_at    INTEGER NOT NULL
) STRICT;

-- Console logins. Only a hash of the cookie's token is kept, so a copy of the
-- database does not let anyone log in.
CREATE TABLE logins (
	token_hash BLOB    PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf_token TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE ticket_counters (
	year INTEGER PRIMARY KEY,
	last INTEGER NOT NULL
) STRICT;

CREATE TABLE tickets (
	id            INTEGER PRIMARY KEY,
	reference     TEXT    NOT NULL UNIQUE,
	title         TEXT    NOT NULL,
	customer_name TEXT    NOT NULL,
	created_by    INTEGER NOT NULL REFERENCES users (id),
	created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE remote_sessions (
	id              INTEGER PRIMARY KEY,
	ticket_id       INTEGER NOT NULL REFERENCES tickets (id),
	technician_id   INTEGER NOT NULL REFERENCES users (id),
	-- SHA-256 of the one-time code; the code itself is shown once and not kept.
	code_hash       BLOB    NOT NULL,
	code_expires_at INTEGER NOT NULL,
	code_used_at    INTEGER,
	status          TEXT    NOT NULL CHECK (status IN ('waiting', 'joined', 'live', 'declined', 'ended')),
	created_at      INTEGER NOT NULL,
	ended_at        INTEGER,
	ended_by        TEXT,
	end_reason      TEXT
) STRICT;

CREATE INDEX remote_sessions_code ON remote_sessions (code_hash);
CREATE INDEX remote_sessions_ticket ON remote_sessions (ticket_id);

CREATE TABLE session_events (
	id         INTEGER PRIMARY KEY,
	session_id INTEGER NOT NULL REFERENCES remote_sessions (id),
	at         INTEGER NOT NULL,
	kind       TEXT    NOT NULL,
	actor      TEXT    NOT NULL,
	detail     TEXT    NOT NULL DEFAULT '{}'
) STRICT;

CREATE INDEX session_events_session ON session_events (session_id, id);
