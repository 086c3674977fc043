-- The tamper-evident audit log (docs/audit.md). hash = SHA-256(previous
-- hash || canonical bytes of the entry). The triggers keep the product
-- itself from changing history; the hash chain shows anyone else who did.
CREATE TABLE audit_log (
	seq     INTEGER PRIMARY KEY,
	at      INTEGER NOT NULL,
	actor   TEXT    NOT NULL,
	ip      TEXT    NOT NULL,
	event   TEXT    NOT NULL,
	payload TEXT    NOT NULL,
	hash    BLOB    NOT NULL
) STRICT;

CREATE INDEX audit_log_event ON audit_log (event, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
