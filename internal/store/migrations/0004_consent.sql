-- Acceptances of data interventions: the proof DOMAIN.md asks for (who
-- accepted, when, which text and version, for which ticket and session).
-- Like the audit log they are never changed: a new acceptance is a new row.
CREATE TABLE intervention_acceptances (
	id               INTEGER PRIMARY KEY,
	session_id       INTEGER NOT NULL REFERENCES remote_sessions (id),
	ticket_id        INTEGER NOT NULL REFERENCES tickets (id),
	technician_id    INTEGER NOT NULL REFERENCES users (id),
	accepted_at      INTEGER NOT NULL,
	version          TEXT    NOT NULL,
	lang             TEXT    NOT NULL,
	-- The text exactly as shown, and its SHA-256 (hex).
	text             TEXT    NOT NULL,
	text_sha256      TEXT    NOT NULL,
	-- JSON: [{"statement": "...", "confirmed": true}, ...] in the order shown.
	answers          TEXT    NOT NULL,
	typed_name       TEXT    NOT NULL,
	os_user          TEXT    NOT NULL,
	description      TEXT    NOT NULL,
	category         TEXT    NOT NULL,
	estimate_minutes INTEGER NOT NULL
) STRICT;

CREATE INDEX intervention_acceptances_session ON intervention_acceptances (session_id);

CREATE TRIGGER intervention_acceptances_no_update BEFORE UPDATE ON intervention_acceptances
BEGIN SELECT RAISE(ABORT, 'acceptances are never changed'); END;

CREATE TRIGGER intervention_acceptances_no_delete BEFORE DELETE ON intervention_acceptances
BEGIN SELECT RAISE(ABORT, 'acceptances are never deleted'); END;
