-- Notifications beyond market matches: a trade proposal (or counter-offer)
-- for one of the coop's listings, and a follow request waiting for an admin
-- of a locked coop. SQLite cannot change a table's unique key in place, so
-- the table is rebuilt with the new columns in the key.
--
-- activity_iri is the Offer (the trade's IRI) or the Follow; listing_iri the
-- listing a trade is about; actor_iri the remote or local actor who asked.
CREATE TABLE notifications_new (
    id           INTEGER PRIMARY KEY,
    coop_id      INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    need_iri     TEXT NOT NULL DEFAULT '',
    offer_iri    TEXT NOT NULL DEFAULT '',
    activity_iri TEXT NOT NULL DEFAULT '',
    listing_iri  TEXT NOT NULL DEFAULT '',
    actor_iri    TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    read         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (coop_id, kind, need_iri, offer_iri, activity_iri)
);
INSERT INTO notifications_new (id, coop_id, kind, need_iri, offer_iri, created_at, read)
    SELECT id, coop_id, kind, need_iri, offer_iri, created_at, read FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_coop ON notifications(coop_id, id);
