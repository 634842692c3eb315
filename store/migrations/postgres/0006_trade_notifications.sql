-- PostgreSQL form of ../0006_trade_notifications.sql: the same tables, columns and indexes,
-- in PostgreSQL's types (BIGINT for SQLite's INTEGER, identity columns for
-- its rowid aliases). Keep the two in step.

-- Notifications beyond market matches: a trade proposal (or counter-offer)
-- for one of the coop's listings, and a follow request waiting for an admin
-- of a locked coop. PostgreSQL changes the table and its unique key in
-- place (SQLite rebuilds it).
--
-- activity_iri is the Offer (the trade's IRI) or the Follow; listing_iri the
-- listing a trade is about; actor_iri the remote or local actor who asked.
ALTER TABLE notifications
    ALTER COLUMN need_iri SET DEFAULT '',
    ALTER COLUMN offer_iri SET DEFAULT '',
    ADD COLUMN activity_iri TEXT NOT NULL DEFAULT '',
    ADD COLUMN listing_iri  TEXT NOT NULL DEFAULT '',
    ADD COLUMN actor_iri    TEXT NOT NULL DEFAULT '',
    DROP CONSTRAINT notifications_key,
    ADD CONSTRAINT notifications_key UNIQUE (coop_id, kind, need_iri, offer_iri, activity_iri);
