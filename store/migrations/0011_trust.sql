-- Trust between trading coops: the signed form of each agreement.

-- agreement_json is the Agreement as this instance keeps it, with its
-- FEP-8b32 integrity proofs (the accepter's, and the proposer's when it
-- countersigned); '' for agreements made before proofs, or with a peer
-- that sends none.
ALTER TABLE trades ADD COLUMN agreement_json TEXT NOT NULL DEFAULT '';

-- Reviews after a fulfilled trade: each party may rate the other once
-- (UNIQUE trade_id, author_iri), and the coop reviewed may answer once.
-- Both parties' instances keep the review.
CREATE TABLE reviews (
    id          INTEGER PRIMARY KEY,
    iri         TEXT NOT NULL UNIQUE, -- the review Note's id
    trade_id    INTEGER NOT NULL REFERENCES trades(id) ON DELETE CASCADE,
    author_iri  TEXT NOT NULL,
    subject_iri TEXT NOT NULL,
    rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    content     TEXT NOT NULL DEFAULT '',
    reply       TEXT NOT NULL DEFAULT '',
    reply_iri   TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    replied_at  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (trade_id, author_iri)
);
CREATE INDEX reviews_subject ON reviews(subject_iri, created_at);

-- A coop's FEP-0ea0 payment links, a JSON array of {name, href}; '' for
-- none.
ALTER TABLE coops ADD COLUMN payment_links TEXT NOT NULL DEFAULT '';
