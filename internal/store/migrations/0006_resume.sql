-- Sessions survive drops and relay restarts (issue 7): a session can be
-- interrupted and resumed. SQLite cannot change a CHECK constraint in
-- place, so the table is rebuilt with the same rows; foreign keys are
-- checked at commit, when the new table carries the old name and ids.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE remote_sessions_new (
	id              INTEGER PRIMARY KEY,
	ticket_id       INTEGER NOT NULL REFERENCES tickets (id),
	technician_id   INTEGER NOT NULL REFERENCES users (id),
	-- SHA-256 of the one-time code; the code itself is shown once and not kept.
	code_hash       BLOB    NOT NULL,
	code_expires_at INTEGER NOT NULL,
	code_used_at    INTEGER,
	status          TEXT    NOT NULL
		CHECK (status IN ('waiting', 'joined', 'live', 'interrupted', 'declined', 'ended')),
	created_at      INTEGER NOT NULL,
	ended_at        INTEGER,
	ended_by        TEXT,
	end_reason      TEXT,
	outside_hours   INTEGER NOT NULL DEFAULT 0 CHECK (outside_hours IN (0, 1)),
	override_reason TEXT    NOT NULL DEFAULT '',
	-- SHA-256 of the agent's current resume token (the token is not kept).
	resume_hash     BLOB,
	-- The last time (Unix ms) the relay heard from the session's agent: a
	-- relay killed mid-session stops the worked time there.
	seen_at         INTEGER
) STRICT;

INSERT INTO remote_sessions_new (id, ticket_id, technician_id, code_hash, code_expires_at, code_used_at,
	status, created_at, ended_at, ended_by, end_reason, outside_hours, override_reason)
SELECT id, ticket_id, technician_id, code_hash, code_expires_at, code_used_at,
	status, created_at, ended_at, ended_by, end_reason, outside_hours, override_reason
FROM remote_sessions;

DROP TABLE remote_sessions;
ALTER TABLE remote_sessions_new RENAME TO remote_sessions;
CREATE INDEX remote_sessions_code ON remote_sessions (code_hash);
CREATE INDEX remote_sessions_ticket ON remote_sessions (ticket_id);
CREATE INDEX remote_sessions_open ON remote_sessions (status) WHERE status IN ('joined', 'live');
