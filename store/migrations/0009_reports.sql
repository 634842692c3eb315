-- Reports (Mastodon's Flag): received from other instances, or made here by
-- a member about something in the market, a motion's discussion or a coop.
-- coop_id names the coop whose admins handle the report; NULL is the
-- instance's operator (nothing of one coop is concerned).
CREATE TABLE reports (
    id              INTEGER PRIMARY KEY,
    coop_id         INTEGER REFERENCES coops(id) ON DELETE CASCADE,
    origin          TEXT NOT NULL CHECK (origin IN ('remote', 'local')),
    flag_iri        TEXT NOT NULL DEFAULT '', -- the Flag received, or the one we sent when forwarded
    reporter_iri    TEXT NOT NULL DEFAULT '', -- the actor that sent the Flag (remote reports)
    reporter_member TEXT NOT NULL DEFAULT '', -- the member who reported (local reports)
    target_actor    TEXT NOT NULL DEFAULT '', -- the account reported
    objects         TEXT NOT NULL DEFAULT '[]', -- JSON array of the IRIs reported
    comment         TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    resolution      TEXT NOT NULL DEFAULT '',
    forwarded_at    INTEGER,
    created_at      INTEGER NOT NULL,
    resolved_at     INTEGER
);
CREATE INDEX reports_coop ON reports(coop_id, state, id);
