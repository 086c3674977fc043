-- Session recordings the customer agreed to (issue 16). The video itself
-- lives in files under the data directory; this table holds where each
-- recording stands. Every chunk's SHA-256 is in the audit chain
-- (session.recording_chunk), and so is the whole file's once it is sealed
-- (session.recording_sealed): the chain, not this table, is the proof.
CREATE TABLE recordings (
	session_id   INTEGER PRIMARY KEY REFERENCES remote_sessions (id),
	-- SHA-256 of the upload token the agent was given; the token itself
	-- is never stored.
	token_sha256 BLOB    NOT NULL UNIQUE,
	chunks       INTEGER NOT NULL DEFAULT 0 CHECK (chunks >= 0),
	bytes        INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
	started_at   INTEGER NOT NULL,
	-- Set when the session ended and the file was sealed.
	sealed_at    INTEGER,
	sha256       BLOB,
	-- Set when retention (or an admin) deleted the file; the row and its
	-- audit entries stay.
	deleted_at   INTEGER
) STRICT;
CREATE INDEX recordings_sealed ON recordings (sealed_at);
