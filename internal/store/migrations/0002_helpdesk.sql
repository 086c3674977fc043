-- The helpdesk domain: customers, their sites and contacts, contracts with
-- status and rate history, the catalogue of work categories, and tickets
-- with kinds, priorities, status, notes and history.

ALTER TABLE users ADD COLUMN languages TEXT NOT NULL DEFAULT 'nl';
ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1));

CREATE TABLE customers (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	-- Normalised (BE0123456789); NULL for a customer without one.
	vat_number TEXT    UNIQUE,
	lang       TEXT    NOT NULL DEFAULT 'nl' CHECK (lang IN ('nl', 'fr', 'en')),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sites (
	id          INTEGER PRIMARY KEY,
	customer_id INTEGER NOT NULL REFERENCES customers (id),
	name        TEXT    NOT NULL,
	address     TEXT    NOT NULL DEFAULT '',
	UNIQUE (customer_id, name)
) STRICT;

CREATE TABLE contacts (
	id             INTEGER PRIMARY KEY,
	customer_id    INTEGER NOT NULL REFERENCES customers (id),
	name           TEXT    NOT NULL,
	email          TEXT    NOT NULL DEFAULT '',
	phone          TEXT    NOT NULL DEFAULT '',
	lang           TEXT    NOT NULL DEFAULT 'nl' CHECK (lang IN ('nl', 'fr', 'en')),
	-- '' when the contact is not a designated reference person.
	reference_role TEXT    NOT NULL DEFAULT '' CHECK (reference_role IN ('', 'general', 'technical', 'site')),
	site_id        INTEGER REFERENCES sites (id),
	created_at     INTEGER NOT NULL,
	CHECK ((reference_role = 'site') = (site_id IS NOT NULL))
) STRICT;

CREATE INDEX contacts_customer ON contacts (customer_id);

-- A customer without a contract row has no contract. Dates are local
-- calendar dates (YYYY-MM-DD) in the desk's time zone.
CREATE TABLE contracts (
	id          INTEGER PRIMARY KEY,
	customer_id INTEGER NOT NULL REFERENCES customers (id),
	starts_on   TEXT    NOT NULL,
	ends_on     TEXT,
	fee_cents   INTEGER NOT NULL CHECK (fee_cents >= 0),
	fee_period  TEXT    NOT NULL CHECK (fee_period IN ('month', 'quarter', 'year')),
	created_at  INTEGER NOT NULL,
	CHECK (ends_on IS NULL OR ends_on >= starts_on)
) STRICT;

CREATE INDEX contracts_customer ON contracts (customer_id);

-- Status changes are kept, not overwritten: billing asks what the status
-- was on the day of the work (a contract suspended mid-month).
CREATE TABLE contract_status_changes (
	id           INTEGER PRIMARY KEY,
	contract_id  INTEGER NOT NULL REFERENCES contracts (id),
	status       TEXT    NOT NULL CHECK (status IN ('active', 'suspended', 'cancelled')),
	effective_on TEXT    NOT NULL,
	reason       TEXT    NOT NULL DEFAULT '',
	changed_by   INTEGER NOT NULL REFERENCES users (id),
	changed_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX contract_status_changes_contract ON contract_status_changes (contract_id, effective_on, id);

-- Hourly rates in force from a date: per contract, or the desk's default
-- (contract_id NULL) for customers without one. Never updated in place.
CREATE TABLE hourly_rates (
	id             INTEGER PRIMARY KEY,
	contract_id    INTEGER REFERENCES contracts (id),
	cents_per_hour INTEGER NOT NULL CHECK (cents_per_hour >= 0),
	effective_from TEXT    NOT NULL,
	created_by     INTEGER REFERENCES users (id),
	created_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX hourly_rates_contract ON hourly_rates (contract_id, effective_from, id);

CREATE TABLE work_categories (
	id      INTEGER PRIMARY KEY,
	code    TEXT    NOT NULL UNIQUE,
	name_nl TEXT    NOT NULL,
	name_fr TEXT    NOT NULL,
	name_en TEXT    NOT NULL,
	covered INTEGER NOT NULL CHECK (covered IN (0, 1)),
	sort    INTEGER NOT NULL
) STRICT;

INSERT INTO work_categories (code, name_nl, name_fr, name_en, covered, sort) VALUES
	('user_question', 'Gebruikersvraag', 'Question d''utilisation', 'User question', 1, 10),
	('bug_report', 'Melding van een fout', 'Signalement d''un bug', 'Bug report', 1, 20),
	('change_request', 'Wijzigingsaanvraag', 'Demande de modification', 'Change request', 1, 30),
	('database_change', 'Databasescript of rechtstreekse gegevenswijziging', 'Script ou modification directe des données', 'Database script or direct data change', 0, 40),
	('install_upgrade', '(Her)installatie of upgrade', '(Ré)installation ou mise à jour', '(Re)install or upgrade', 0, 50),
	('reports_layouts', 'Rapporten en lay-outs', 'Rapports et mises en page', 'Reports and layouts', 0, 60),
	('custom_work', 'Maatwerk', 'Développement sur mesure', 'Custom work', 0, 70),
	('infrastructure', 'Hardware, besturingssysteem, netwerk of virus', 'Matériel, système, réseau ou virus', 'Hardware, OS, network or virus', 0, 80),
	('new_staff_training', 'Opleiding van nieuwe medewerkers', 'Formation de nouveaux collaborateurs', 'Training of new staff', 0, 90),
	('user_error', 'Gebruikersfout', 'Erreur d''utilisation', 'User error', 0, 100);

-- A contract may cover a category differently from the catalogue default.
CREATE TABLE contract_coverage (
	contract_id INTEGER NOT NULL REFERENCES contracts (id),
	category_id INTEGER NOT NULL REFERENCES work_categories (id),
	covered     INTEGER NOT NULL CHECK (covered IN (0, 1)),
	PRIMARY KEY (contract_id, category_id)
) STRICT;

-- Tickets gain the domain. The skeleton's free-text customer names become
-- customers below.
ALTER TABLE tickets ADD COLUMN customer_id INTEGER REFERENCES customers (id);
ALTER TABLE tickets ADD COLUMN contact_id INTEGER REFERENCES contacts (id);
ALTER TABLE tickets ADD COLUMN kind TEXT NOT NULL DEFAULT 'question'
	CHECK (kind IN ('question', 'problem', 'change_request', 'complaint'));
ALTER TABLE tickets ADD COLUMN category_id INTEGER REFERENCES work_categories (id);
ALTER TABLE tickets ADD COLUMN requested_priority TEXT NOT NULL DEFAULT ''
	CHECK (requested_priority IN ('', 'low', 'normal', 'high', 'urgent'));
ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal'
	CHECK (priority IN ('low', 'normal', 'high', 'urgent'));
ALTER TABLE tickets ADD COLUMN impact TEXT NOT NULL DEFAULT 'medium'
	CHECK (impact IN ('low', 'medium', 'high'));
ALTER TABLE tickets ADD COLUMN status TEXT NOT NULL DEFAULT 'new'
	CHECK (status IN ('new', 'planned', 'in_progress', 'waiting_customer', 'resolved', 'closed'));
ALTER TABLE tickets ADD COLUMN appointment_at INTEGER;
ALTER TABLE tickets ADD COLUMN assigned_to INTEGER REFERENCES users (id);
-- The secret of the customer's status page link.
ALTER TABLE tickets ADD COLUMN status_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;

INSERT INTO customers (name, lang, created_at, updated_at)
	SELECT DISTINCT customer_name, 'nl', min(created_at), min(created_at) FROM tickets GROUP BY customer_name;
UPDATE tickets SET
	customer_id = (SELECT id FROM customers c WHERE c.name = tickets.customer_name),
	category_id = (SELECT id FROM work_categories WHERE code = 'user_question'),
	status_secret = lower(hex(randomblob(16))),
	updated_at = created_at;

CREATE INDEX tickets_customer ON tickets (customer_id);
CREATE INDEX tickets_status ON tickets (status);

CREATE TABLE ticket_notes (
	id                  INTEGER PRIMARY KEY,
	ticket_id           INTEGER NOT NULL REFERENCES tickets (id),
	author_id           INTEGER NOT NULL REFERENCES users (id),
	visible_to_customer INTEGER NOT NULL CHECK (visible_to_customer IN (0, 1)),
	body                TEXT    NOT NULL,
	created_at          INTEGER NOT NULL
) STRICT;

CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id, id);

-- Every change of kind, status, priority, assignment... with who and when.
CREATE TABLE ticket_history (
	id        INTEGER PRIMARY KEY,
	ticket_id INTEGER NOT NULL REFERENCES tickets (id),
	at        INTEGER NOT NULL,
	actor_id  INTEGER REFERENCES users (id),
	field     TEXT    NOT NULL,
	old_value TEXT    NOT NULL,
	new_value TEXT    NOT NULL
) STRICT;

CREATE INDEX ticket_history_ticket ON ticket_history (ticket_id, id);

-- A remote session started outside support hours carries the override.
ALTER TABLE remote_sessions ADD COLUMN outside_hours INTEGER NOT NULL DEFAULT 0 CHECK (outside_hours IN (0, 1));
ALTER TABLE remote_sessions ADD COLUMN override_reason TEXT NOT NULL DEFAULT '';
