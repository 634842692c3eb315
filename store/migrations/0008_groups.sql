-- The shared market: market groups hosted here (FEP-1b12 Group actors),
-- the groups and relays through which remote listings reach this market,
-- listings a moderator took out of the market, and regions for the
-- directory.

-- A local actor is a coop or a group. A group is a row of coops too, so that
-- it has a key pair, followers (its members), an outbox and deliveries like
-- any local actor; what only a group has is in the tables below. Names are
-- one namespace, so a handle name@host is never ambiguous.
ALTER TABLE coops ADD COLUMN kind TEXT NOT NULL DEFAULT 'coop' CHECK (kind IN ('coop', 'group'));
-- A coop's or group's region (a place name), shown in directories.
ALTER TABLE coops ADD COLUMN region TEXT NOT NULL DEFAULT '';

-- Who runs a group: the local coop that created it (its admins moderate).
CREATE TABLE groups (
    actor_id INTEGER PRIMARY KEY REFERENCES coops(id) ON DELETE CASCADE,
    owner_id INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE
);
CREATE INDEX groups_owner ON groups(owner_id);

-- Further moderators of a group: actors, local or remote, listed in the
-- group's moderators collection (FEP-1b12 attributedTo).
CREATE TABLE group_moderators (
    group_id   INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    actor_iri  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, actor_iri)
);

-- Actors banned from a group: their follows are refused and nothing of
-- theirs is relayed.
CREATE TABLE group_bans (
    group_id   INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    actor_iri  TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, actor_iri)
);

-- What a local group relayed: one row per object, so that its updates and
-- deletion are relayed too, a moderator can take it out, and the group's
-- statistics count offers and needs by category.
CREATE TABLE group_posts (
    id           INTEGER PRIMARY KEY,
    group_id     INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    object_iri   TEXT NOT NULL,
    actor_iri    TEXT NOT NULL, -- the member whose object it is
    announce_iri TEXT NOT NULL, -- the group's latest Announce of it
    kind         TEXT NOT NULL DEFAULT '',
    category     TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed', 'deleted', 'removed')),
    updated      INTEGER, -- the object's own updated time, in milliseconds
    created_at   INTEGER NOT NULL,
    changed_at   INTEGER NOT NULL,
    UNIQUE (group_id, object_iri)
);
CREATE INDEX group_posts_actor ON group_posts(group_id, actor_iri);

-- How a listing reached this market through groups and relays, or (for a
-- local listing) which groups it was addressed to. A listing reached
-- through two groups is one listings row with two rows here.
CREATE TABLE listing_groups (
    listing_id   INTEGER NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
    group_iri    TEXT NOT NULL,
    announce_iri TEXT NOT NULL DEFAULT '',
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (listing_id, group_iri)
);
CREATE INDEX listing_groups_group ON listing_groups(group_iri);
CREATE INDEX listing_groups_announce ON listing_groups(announce_iri) WHERE announce_iri <> '';

-- Remote listings taken out of this instance's market (a report resolved
-- by removal): they are not stored again, whichever way they come back.
CREATE TABLE market_removals (
    iri        TEXT PRIMARY KEY,
    reason     TEXT NOT NULL DEFAULT '',
    removed_at INTEGER NOT NULL
);

-- A remote coop's region, read from its actor (coopfed:region or a
-- "Region" profile field), for the directory.
ALTER TABLE remote_actors ADD COLUMN region TEXT NOT NULL DEFAULT '';
