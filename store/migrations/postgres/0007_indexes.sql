-- PostgreSQL form of ../0007_indexes.sql: the same tables, columns and indexes,
-- in PostgreSQL's types (BIGINT for SQLite's INTEGER, identity columns for
-- its rowid aliases). Keep the two in step.

-- Indexes for statements that otherwise scan whole tables while holding
-- the only write connection: an actor's Delete blanks its timeline rows and
-- follows, and the maintenance job purges old rows.
CREATE INDEX timeline_actor ON timeline(actor_iri);
CREATE INDEX followers_actor ON followers(actor_iri);
CREATE INDEX deliveries_finished ON deliveries(done_at) WHERE state != 'pending';
CREATE INDEX inbox_seen_age ON inbox_seen(received_at);
