-- Commons projects a coop opens for crowdmatched pledges, and the pledges.
-- Amounts are integers in the project's minor unit: digits decimal places
-- of its currency (unit 1 with digits 3 is 0.001 of the currency).
CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    coop_id     INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    iri         TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    currency    TEXT NOT NULL,
    digits      INTEGER NOT NULL CHECK (digits BETWEEN 0 AND 6),
    unit        INTEGER NOT NULL CHECK (unit > 0),
    created_at  INTEGER NOT NULL
);
CREATE INDEX projects_coop ON projects(coop_id, created_at);

-- One pledge per pledger and project. project_iri is a local project's, or
-- a remote one a local coop pledged to. pledger is the actor's IRI, or
-- 'member:<id>' for a member of the project's coop (member_id set).
-- activity_iri is the Join that made or last changed a remote pledge.
CREATE TABLE pledges (
    id           INTEGER PRIMARY KEY,
    project_iri  TEXT NOT NULL,
    pledger      TEXT NOT NULL,
    member_id    INTEGER REFERENCES members(id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    monthly_cap  INTEGER NOT NULL CHECK (monthly_cap > 0),
    activity_iri TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (project_iri, pledger)
);

-- The delivery date a trade's parties agreed (0 for none) and when both
-- confirmed it (0 before), for the track record's "on time".
ALTER TABLE trades ADD COLUMN due_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trades ADD COLUMN fulfilled_at INTEGER NOT NULL DEFAULT 0;

-- Disputes a party opens on an accepted trade; either party resolves it.
-- At most one is open per trade (the partial unique index).
CREATE TABLE disputes (
    id           INTEGER PRIMARY KEY,
    iri          TEXT NOT NULL UNIQUE, -- the dispute Note's id
    trade_id     INTEGER NOT NULL REFERENCES trades(id) ON DELETE CASCADE,
    opener_iri   TEXT NOT NULL,
    reason       TEXT NOT NULL,
    resolved_by  TEXT NOT NULL DEFAULT '',
    resolution   TEXT NOT NULL DEFAULT '',
    resolve_iri  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    resolved_at  INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX disputes_open ON disputes(trade_id) WHERE resolved_by = '';

-- FEP-0ea0 payment links (JSON [{name, href}], '' for none) of a listing,
-- and of a remote actor as its document gave them.
ALTER TABLE listings ADD COLUMN payment_links TEXT NOT NULL DEFAULT '';
ALTER TABLE remote_actors ADD COLUMN payment_links TEXT NOT NULL DEFAULT '';
