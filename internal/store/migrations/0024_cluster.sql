-- Several relays, one desk (issue 17, relay/cluster, docs/deploy.md). Used
-- only on PostgreSQL, where relays share the database; on SQLite the
-- tables stay empty. Times are Unix milliseconds by the database's clock
-- (relay/cluster computes them in SQL, unlike the store): relays on
-- machines whose clocks differ still agree on who is alive.

-- The relays running now and lately: one row per process run (a relay
-- started again is a new node, since its rooms died with the old one).
CREATE TABLE relay_nodes (
	id         TEXT    NOT NULL PRIMARY KEY,
	started_at INTEGER NOT NULL,
	-- Renewed every few seconds; a relay silent for the lease is dead.
	beat_at    INTEGER NOT NULL
) STRICT;

-- Which relay is the home of a session's room: the one holding its
-- agent. state is what that relay last saved of the room (consent level,
-- technician, link down since), JSON, so another relay can take the room
-- over when the agent resumes there.
CREATE TABLE room_claims (
	session_id INTEGER NOT NULL PRIMARY KEY,
	relay_id   TEXT    NOT NULL,
	state      TEXT    NOT NULL DEFAULT '{}',
	claimed_at INTEGER NOT NULL
) STRICT;
CREATE INDEX room_claims_relay ON room_claims (relay_id);

-- Signals between relays: a console's messages to its room's home and
-- back. Rows are the truth, NOTIFY only the wake-up; the receiver deletes
-- the rows it delivered. id orders the rows of one sender, which inserts
-- them one transaction after another.
CREATE TABLE relay_signals (
	id         INTEGER PRIMARY KEY,
	to_relay   TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX relay_signals_to ON relay_signals (to_relay, id);
