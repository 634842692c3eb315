-- Core federation schema: coops and their keys, remote actors, follows,
-- local objects and activities, the durable delivery queue, the inbox
-- timeline and moderation.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE coops (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL DEFAULT '',
    summary         TEXT NOT NULL DEFAULT '',
    locked          INTEGER NOT NULL DEFAULT 0,
    public_key_pem  TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    coop_id    INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE, -- SHA-256 of the token; the token itself is never stored
    label      TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE remote_actors (
    iri                TEXT PRIMARY KEY,
    type               TEXT NOT NULL,
    preferred_username TEXT NOT NULL DEFAULT '',
    host               TEXT NOT NULL,
    name               TEXT NOT NULL DEFAULT '',
    summary            TEXT NOT NULL DEFAULT '',
    url                TEXT NOT NULL DEFAULT '',
    inbox              TEXT NOT NULL,
    shared_inbox       TEXT NOT NULL DEFAULT '',
    outbox             TEXT NOT NULL DEFAULT '',
    followers          TEXT NOT NULL DEFAULT '',
    public_key_id      TEXT NOT NULL DEFAULT '',
    public_key_pem     TEXT NOT NULL DEFAULT '',
    fetched_at         INTEGER NOT NULL
);
CREATE INDEX remote_actors_key ON remote_actors(public_key_id);
CREATE INDEX remote_actors_handle ON remote_actors(preferred_username, host);

CREATE TABLE followers (
    coop_id    INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    actor_iri  TEXT NOT NULL,
    follow_iri TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (coop_id, actor_iri)
);
CREATE INDEX followers_state ON followers(coop_id, state, created_at);

CREATE TABLE following (
    coop_id    INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    actor_iri  TEXT NOT NULL,
    follow_iri TEXT NOT NULL UNIQUE,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (coop_id, actor_iri)
);
CREATE INDEX following_actor ON following(actor_iri);

-- Local objects (announcements, and later listings, motions, trades). A
-- deleted object keeps its row as a tombstone so its IRI answers 410.
CREATE TABLE objects (
    id         INTEGER PRIMARY KEY,
    iri        TEXT NOT NULL UNIQUE,
    coop_id    INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    content    TEXT NOT NULL DEFAULT '',
    json       TEXT NOT NULL,
    published  INTEGER NOT NULL,
    updated    INTEGER,
    deleted_at INTEGER
);
CREATE INDEX objects_coop ON objects(coop_id, type, published);

-- Activities our coops (or the instance actor, coop_id NULL) sent: the
-- outbox, and the bodies that deliveries point at.
CREATE TABLE activities (
    id         INTEGER PRIMARY KEY,
    iri        TEXT NOT NULL UNIQUE,
    coop_id    INTEGER REFERENCES coops(id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    object_iri TEXT NOT NULL DEFAULT '',
    public     INTEGER NOT NULL DEFAULT 0, -- listed in the public outbox
    json       TEXT NOT NULL,
    published  INTEGER NOT NULL
);
CREATE INDEX activities_outbox ON activities(coop_id, public, id);

-- The durable delivery queue: one row per (activity, inbox).
CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY,
    activity_id  INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    inbox        TEXT NOT NULL,
    host         TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    lease_until  INTEGER NOT NULL DEFAULT 0, -- a worker owns the row until then; a crash lets it lapse
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    done_at      INTEGER,
    UNIQUE (activity_id, inbox)
);
CREATE INDEX deliveries_due ON deliveries(state, next_attempt) WHERE state = 'pending';

-- Incoming activities already applied, for duplicate detection. Keyed by
-- activity id and the object's updated time: GoToSocial reuses one Update id
-- for every edit of a status, so a later edit must not count as a duplicate.
CREATE TABLE inbox_seen (
    activity_iri TEXT NOT NULL,
    version      TEXT NOT NULL DEFAULT '',
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (activity_iri, version)
) WITHOUT ROWID; -- the key is the row: one B-tree instead of a table plus an index

-- What followed actors sent to a local coop.
CREATE TABLE timeline (
    id           INTEGER PRIMARY KEY,
    coop_id      INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    activity_iri TEXT NOT NULL,
    object_iri   TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    actor_iri    TEXT NOT NULL,
    content      TEXT NOT NULL DEFAULT '',
    summary      TEXT NOT NULL DEFAULT '',
    url          TEXT NOT NULL DEFAULT '',
    in_reply_to  TEXT NOT NULL DEFAULT '',
    published    INTEGER NOT NULL,
    updated      INTEGER,
    deleted      INTEGER NOT NULL DEFAULT 0,
    -- object first: edits and deletions look objects up by IRI alone
    UNIQUE (object_iri, coop_id)
);
CREATE INDEX timeline_coop ON timeline(coop_id, id);

CREATE TABLE domain_blocks (
    domain     TEXT PRIMARY KEY,
    reason     TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE actor_blocks (
    actor_iri  TEXT PRIMARY KEY,
    reason     TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
