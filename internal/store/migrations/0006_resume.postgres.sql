-- PostgreSQL's version of 0006_resume.sql: PostgreSQL changes a CHECK
-- constraint and adds columns in place, where SQLite rebuilds the table.
ALTER TABLE remote_sessions DROP CONSTRAINT remote_sessions_status_check;
ALTER TABLE remote_sessions ADD CONSTRAINT remote_sessions_status_check
	CHECK (status IN ('waiting', 'joined', 'live', 'interrupted', 'declined', 'ended'));
-- SHA-256 of the agent's current resume token (the token is not kept).
ALTER TABLE remote_sessions ADD COLUMN resume_hash BLOB;
-- The last time (Unix ms) the relay heard from the session's agent.
ALTER TABLE remote_sessions ADD COLUMN seen_at INTEGER;
CREATE INDEX remote_sessions_open ON remote_sessions (status) WHERE status IN ('joined', 'live');
