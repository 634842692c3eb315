-- PostgreSQL form of ../0005_accounts.sql: the same tables, columns and indexes,
-- in PostgreSQL's types (BIGINT for SQLite's INTEGER, identity columns for
-- its rowid aliases). Keep the two in step.

-- Accounts: members log in to the web interface with a password, and a
-- login is a session row.

-- A bcrypt hash; '' means the member has no password yet and cannot log in.
ALTER TABLE members ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';

-- id is the SHA-256 (hex) of the cookie's random token, so a leaked
-- database holds no usable session. csrf is the session's secret that every
-- form must echo back.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    member_id  BIGINT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    coop_id    BIGINT NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_member ON sessions(member_id);
CREATE INDEX sessions_expires ON sessions(expires_at);
