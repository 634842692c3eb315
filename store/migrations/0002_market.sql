-- The federated market: offers and needs (FEP-0837 listings) of local coops
-- and of followed remote actors, their full-text index, and the
-- notifications that tell a coop of a need and an offer that fit.

-- Every listing in this instance's market, stored once. coop_id is set for
-- a local coop's own listing (served at its IRI; a deletion keeps the row as
-- a tombstone) and NULL for a remote one, which is kept only while a local
-- coop follows its actor.
CREATE TABLE listings (
    id                  INTEGER PRIMARY KEY,
    iri                 TEXT NOT NULL UNIQUE,
    coop_id             INTEGER REFERENCES coops(id) ON DELETE CASCADE,
    actor_iri           TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('offer', 'need')),
    title               TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    category            TEXT NOT NULL DEFAULT '',
    conforms_to         TEXT NOT NULL DEFAULT '',
    quantity_value      REAL NOT NULL,
    quantity_unit       TEXT NOT NULL,
    available_value     REAL,
    available_unit      TEXT,
    minimum_value       REAL,
    minimum_unit        TEXT,
    unit_based          INTEGER NOT NULL DEFAULT 0,
    -- what is wanted in return: '' (nothing), 'price', 'credits', 'resource'
    reciprocal_kind     TEXT NOT NULL DEFAULT '' CHECK (reciprocal_kind IN ('', 'price', 'credits', 'resource')),
    reciprocal_amount   TEXT NOT NULL DEFAULT '', -- decimal text, never a float
    reciprocal_currency TEXT NOT NULL DEFAULT '',
    reciprocal_resource TEXT NOT NULL DEFAULT '', -- JSON {conforms_to, name, value, unit}
    place_name          TEXT NOT NULL DEFAULT '',
    lat                 REAL,
    lon                 REAL,
    -- floor(lat * 10): a 0.1 degree band (about 11 km), the first key of
    -- the geo index, so a distance query reads a few short ranges.
    lat_band            INTEGER,
    valid_until         INTEGER,
    state               TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    published           INTEGER NOT NULL,
    updated             INTEGER,
    deleted             INTEGER NOT NULL DEFAULT 0
);
-- The market's indexes cover open listings only: closed and deleted rows
-- are never searched, so they cost the indexes nothing.
CREATE INDEX listings_recent ON listings(published) WHERE state = 'open' AND deleted = 0;
CREATE INDEX listings_kind ON listings(kind, published) WHERE state = 'open' AND deleted = 0;
CREATE INDEX listings_category ON listings(category, published) WHERE state = 'open' AND deleted = 0;
CREATE INDEX listings_conforms ON listings(conforms_to) WHERE state = 'open' AND deleted = 0 AND conforms_to <> '';
-- The geo index also carries what the first step of a search near a point
-- reads and filters on (latitude, end, publication, kind, category), so
-- that step never touches the table.
CREATE INDEX listings_geo ON listings(lat_band, lon, lat, valid_until, published, kind, category) WHERE state = 'open' AND deleted = 0 AND lat IS NOT NULL;
CREATE INDEX listings_actor ON listings(actor_iri, published);
CREATE INDEX listings_coop ON listings(coop_id, state, published) WHERE coop_id IS NOT NULL;
CREATE INDEX listings_expiry ON listings(valid_until) WHERE state = 'open' AND deleted = 0 AND valid_until IS NOT NULL;

-- Full-text index over title, description and category, kept in step with
-- listings by the triggers below (an external-content FTS5 table stores no
-- second copy of the text). detail=column keeps which columns hold a word
-- but not where: searches are for words, never phrases, and the index is
-- smaller and faster to read.
CREATE VIRTUAL TABLE listings_fts USING fts5(
    title, description, category,
    content = 'listings', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    detail = column
);
CREATE TRIGGER listings_fts_insert AFTER INSERT ON listings BEGIN
    INSERT INTO listings_fts(rowid, title, description, category) VALUES (new.id, new.title, new.description, new.category);
END;
CREATE TRIGGER listings_fts_delete AFTER DELETE ON listings BEGIN
    INSERT INTO listings_fts(listings_fts, rowid, title, description, category) VALUES ('delete', old.id, old.title, old.description, old.category);
END;
CREATE TRIGGER listings_fts_update AFTER UPDATE OF title, description, category ON listings BEGIN
    INSERT INTO listings_fts(listings_fts, rowid, title, description, category) VALUES ('delete', old.id, old.title, old.description, old.category);
    INSERT INTO listings_fts(rowid, title, description, category) VALUES (new.id, new.title, new.description, new.category);
END;

-- What a local coop is told. A match names a need and an offer, one of them
-- the coop's own; the unique key makes each pair one notification, however
-- often either listing is updated.
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    coop_id    INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    need_iri   TEXT NOT NULL,
    offer_iri  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (coop_id, kind, need_iri, offer_iri)
);
CREATE INDEX notifications_coop ON notifications(coop_id, id);
