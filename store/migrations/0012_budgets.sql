-- Participatory budgets: a coop opens a round with a pot, coops that
-- follow it propose buckets, members allocate their share (or vote in a
-- funding motion), and the round closes with funded buckets. Amounts are
-- integers in the round's minor units (cents for EUR, 1/10000 for mutual
-- credit units).

-- A round. coop_id is the local coop that holds it, NULL for the copy of
-- a followed coop's round (owner_iri then names that coop). allocator_coops
-- is a JSON array of {coop, members} frozen when the round opens: the
-- coops whose members allocate and how many each has; allocators and share
-- follow from it (share = pot / allocators, rounded down).
CREATE TABLE budget_rounds (
    id              INTEGER PRIMARY KEY,
    iri             TEXT NOT NULL UNIQUE,
    coop_id         INTEGER REFERENCES coops(id) ON DELETE CASCADE,
    owner_iri       TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    pot             INTEGER NOT NULL CHECK (pot > 0),
    currency        TEXT NOT NULL,
    decimals        INTEGER NOT NULL CHECK (decimals BETWEEN 0 AND 4),
    model           TEXT NOT NULL CHECK (model IN ('allocate', 'motion')),
    allocator_coops TEXT NOT NULL DEFAULT '[]',
    allocators      INTEGER NOT NULL DEFAULT 0,
    share           INTEGER NOT NULL DEFAULT 0,
    closes_at       INTEGER NOT NULL,
    voting_closes_at INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL CHECK (state IN ('open', 'voting', 'closed')),
    closed_at       INTEGER NOT NULL DEFAULT 0,
    motion_iri      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX budget_rounds_due ON budget_rounds(state, closes_at);
CREATE INDEX budget_rounds_coop ON budget_rounds(coop_id, created_at);

-- A bucket proposed to a round, by a local or a remote coop; the round's
-- instance and the proposer's keep it. allocated is the sum of the
-- allocations (kept with each allocation, in the same transaction);
-- funded and funded_amount are set when the round closes.
CREATE TABLE budget_buckets (
    id            INTEGER PRIMARY KEY,
    iri           TEXT NOT NULL UNIQUE,
    round_id      INTEGER NOT NULL REFERENCES budget_rounds(id) ON DELETE CASCADE,
    author_iri    TEXT NOT NULL,
    title         TEXT NOT NULL,
    what          TEXT NOT NULL DEFAULT '',
    why           TEXT NOT NULL DEFAULT '',
    asked         INTEGER NOT NULL CHECK (asked > 0),
    needed_by     INTEGER NOT NULL DEFAULT 0,
    payment_links TEXT NOT NULL DEFAULT '',
    allocated     INTEGER NOT NULL DEFAULT 0 CHECK (allocated >= 0 AND allocated <= asked),
    votes         INTEGER NOT NULL DEFAULT 0,
    funded        INTEGER NOT NULL DEFAULT 0 CHECK (funded IN (0, 1)),
    funded_amount INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX budget_buckets_round ON budget_buckets(round_id, id);

-- What each allocator has spent of their share in a round: the row is
-- taken first by every allocation, so two allocations of one member are
-- serialised, and the CHECK keeps the sum within the share.
CREATE TABLE budget_allocators (
    round_id      INTEGER NOT NULL REFERENCES budget_rounds(id) ON DELETE CASCADE,
    allocator_iri TEXT NOT NULL,
    coop_iri      TEXT NOT NULL,
    spent         INTEGER NOT NULL DEFAULT 0 CHECK (spent >= 0),
    PRIMARY KEY (round_id, allocator_iri)
);

-- Each allocation of a member to a bucket. activity_iri is the remote
-- allocation's object id ('' for a local one), unique where set, so a
-- redelivered allocation counts once.
CREATE TABLE budget_allocations (
    id            INTEGER PRIMARY KEY,
    round_id      INTEGER NOT NULL REFERENCES budget_rounds(id) ON DELETE CASCADE,
    bucket_id     INTEGER NOT NULL REFERENCES budget_buckets(id) ON DELETE CASCADE,
    allocator_iri TEXT NOT NULL,
    coop_iri      TEXT NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount > 0),
    activity_iri  TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);
CREATE INDEX budget_allocations_round ON budget_allocations(round_id, bucket_id);
CREATE UNIQUE INDEX budget_allocations_activity ON budget_allocations(activity_iri) WHERE activity_iri <> '';

-- Money spent on a funded bucket: recorded by the round's coop with a
-- reference (a link to the invoice or transfer); the money itself moves
-- outside coopfed.
CREATE TABLE budget_spends (
    id         INTEGER PRIMARY KEY,
    round_id   INTEGER NOT NULL REFERENCES budget_rounds(id) ON DELETE CASCADE,
    bucket_id  INTEGER NOT NULL REFERENCES budget_buckets(id) ON DELETE CASCADE,
    amount     INTEGER NOT NULL CHECK (amount > 0),
    reference  TEXT NOT NULL DEFAULT '',
    note       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX budget_spends_round ON budget_spends(round_id, id);
