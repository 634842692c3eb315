-- Trades between coops (FEP-0837 negotiation): each Offer(Agreement) about
-- a listing and what became of it, each coop's ledger of accepted trades,
-- and the credit limits a coop grants its partners.

-- One row per Offer, local or remote. Both sides of a trade keep the same
-- record: proposer_coop_id and owner_coop_id are set for the sides that are
-- coops of this instance. The answer's activity id is unique, so a
-- replayed Accept or Reject cannot answer a second Offer.
CREATE TABLE trades (
    id                 INTEGER PRIMARY KEY,
    iri                TEXT NOT NULL UNIQUE, -- the Offer's id
    listing_iri        TEXT NOT NULL,
    listing_kind       TEXT NOT NULL CHECK (listing_kind IN ('offer', 'need')),
    listing_title      TEXT NOT NULL DEFAULT '',
    proposer_iri       TEXT NOT NULL,
    proposer_coop_id   INTEGER REFERENCES coops(id) ON DELETE CASCADE,
    owner_iri          TEXT NOT NULL,
    owner_coop_id      INTEGER REFERENCES coops(id) ON DELETE CASCADE,
    from_owner         INTEGER NOT NULL DEFAULT 0, -- a counter-offer by the listing's owner
    in_reply_to        TEXT NOT NULL DEFAULT '',
    quantity_value     REAL NOT NULL CHECK (quantity_value > 0),
    quantity_unit      TEXT NOT NULL,
    reciprocal         TEXT NOT NULL DEFAULT '', -- JSON, '' for nothing in return
    message            TEXT NOT NULL DEFAULT '',
    state              TEXT NOT NULL CHECK (state IN ('proposed', 'countered', 'accepted', 'rejected', 'withdrawn', 'fulfilled')),
    reason             TEXT NOT NULL DEFAULT '',
    agreement_iri      TEXT UNIQUE,
    answer_iri         TEXT UNIQUE,
    owner_confirmed    INTEGER NOT NULL DEFAULT 0,
    proposer_confirmed INTEGER NOT NULL DEFAULT 0,
    receipt_iri        TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX trades_listing ON trades(listing_iri, state);
CREATE INDEX trades_proposer ON trades(proposer_coop_id, created_at) WHERE proposer_coop_id IS NOT NULL;
CREATE INDEX trades_owner ON trades(owner_coop_id, created_at) WHERE owner_coop_id IS NOT NULL;

-- A coop's record of each accepted trade. credits is the signed change of
-- its mutual-credit balance with the counterpart, in ten-thousandths of a
-- credit (exact integers); the two sides' entries of a trade sum to zero.
CREATE TABLE ledger_entries (
    id              INTEGER PRIMARY KEY,
    coop_id         INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    trade_id        INTEGER NOT NULL REFERENCES trades(id) ON DELETE CASCADE,
    counterpart_iri TEXT NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('gave', 'received')),
    credits         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    UNIQUE (coop_id, trade_id)
);
CREATE INDEX ledger_partner ON ledger_entries(coop_id, counterpart_iri);

-- How far the balance with a partner may go either way, in ten-thousandths
-- of a credit. partner_iri '' is the coop's default for every partner.
CREATE TABLE credit_limits (
    coop_id     INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    partner_iri TEXT NOT NULL,
    credit_limit INTEGER NOT NULL CHECK (credit_limit >= 0),
    PRIMARY KEY (coop_id, partner_iri)
);
