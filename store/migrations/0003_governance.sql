-- Governance: a coop's members (with the fediverse accounts they vote
-- from), its motions (published as polls), the members eligible for each,
-- their votes and the discussion that replies to a motion.

-- A removed member keeps its row (removed_at set), so eligibility
-- snapshots and votes keep pointing at someone; the username is free again.
CREATE TABLE members (
    id         INTEGER PRIMARY KEY,
    coop_id    INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    username   TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at INTEGER NOT NULL,
    removed_at INTEGER
);
CREATE UNIQUE INDEX members_username ON members(coop_id, username) WHERE removed_at IS NULL;

-- Fediverse actors a member votes from. One actor speaks for one member of
-- a coop, or a vote could be counted for two people.
CREATE TABLE member_actors (
    coop_id   INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    actor_iri TEXT NOT NULL,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    PRIMARY KEY (coop_id, actor_iri)
) WITHOUT ROWID;
CREATE INDEX member_actors_member ON member_actors(member_id);

CREATE TABLE motions (
    id                INTEGER PRIMARY KEY,
    iri               TEXT NOT NULL UNIQUE,
    coop_id           INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    title             TEXT NOT NULL,
    text              TEXT NOT NULL DEFAULT '',
    kind              TEXT NOT NULL CHECK (kind IN ('consent', 'choice', 'multiple')),
    options           TEXT NOT NULL, -- JSON array of option names, in order
    quorum            REAL NOT NULL CHECK (quorum >= 0 AND quorum <= 1),
    threshold         REAL NOT NULL CHECK (threshold > 0 AND threshold <= 1),
    opens_at          INTEGER NOT NULL,
    closes_at         INTEGER NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('scheduled', 'open', 'closed')),
    eligible          INTEGER NOT NULL DEFAULT 0, -- size of the snapshot taken at opening
    outcome           TEXT NOT NULL DEFAULT '' CHECK (outcome IN ('', 'carried', 'not_carried', 'blocked', 'no_quorum')),
    outcome_text      TEXT NOT NULL DEFAULT '',
    outcome_iri       TEXT NOT NULL DEFAULT '',
    closed_at         INTEGER,
    -- Tally Updates are debounced: a vote sets next_tally_update (if unset)
    -- to no earlier than last_tally_update plus the debounce interval; the
    -- governance job sends one Update when it is due and clears it.
    last_tally_update INTEGER,
    next_tally_update INTEGER,
    created_at        INTEGER NOT NULL
);
CREATE INDEX motions_coop ON motions(coop_id, id);
-- What the governance job polls: motions to open, to close, to re-tally.
CREATE INDEX motions_opening ON motions(opens_at) WHERE state = 'scheduled';
CREATE INDEX motions_closing ON motions(closes_at) WHERE state = 'open';
CREATE INDEX motions_tally_due ON motions(next_tally_update) WHERE next_tally_update IS NOT NULL;

-- The members eligible to vote, fixed when the motion opens.
CREATE TABLE motion_eligible (
    motion_id INTEGER NOT NULL REFERENCES motions(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id),
    PRIMARY KEY (motion_id, member_id)
) WITHOUT ROWID;

-- One row per chosen option. single is 1 on consent and choice motions:
-- the partial unique index then allows one row per member, which is what
-- decides between concurrent votes of one member. A multiple choice allows
-- one row per member and option. activity_iri is the vote's id (the Note a
-- peer sent), NULL for votes cast through our own API.
CREATE TABLE votes (
    id           INTEGER PRIMARY KEY,
    motion_id    INTEGER NOT NULL REFERENCES motions(id) ON DELETE CASCADE,
    member_id    INTEGER NOT NULL REFERENCES members(id),
    option       TEXT NOT NULL,
    single       INTEGER NOT NULL CHECK (single IN (0, 1)),
    activity_iri TEXT UNIQUE,
    actor_iri    TEXT NOT NULL DEFAULT '', -- the account that voted, told of tallies
    created_at   INTEGER NOT NULL,
    UNIQUE (motion_id, member_id, option)
);
CREATE UNIQUE INDEX votes_one_per_member ON votes(motion_id, member_id) WHERE single = 1;

-- The database refuses, whatever the caller checked: a vote whose single
-- flag disagrees with the motion's kind, a vote by a member not eligible at
-- opening, and a vote on a motion that is not open.
CREATE TRIGGER votes_check BEFORE INSERT ON votes
BEGIN
    SELECT RAISE(ABORT, 'vote: single flag does not match the motion kind')
        WHERE NEW.single != (SELECT kind != 'multiple' FROM motions WHERE id = NEW.motion_id);
    SELECT RAISE(ABORT, 'vote: member not eligible')
        WHERE NOT EXISTS (SELECT 1 FROM motion_eligible WHERE motion_id = NEW.motion_id AND member_id = NEW.member_id);
    SELECT RAISE(ABORT, 'vote: motion not open')
        WHERE (SELECT state FROM motions WHERE id = NEW.motion_id) != 'open';
END;

-- Replies to a motion that are not votes: its discussion.
CREATE TABLE motion_replies (
    id         INTEGER PRIMARY KEY,
    motion_id  INTEGER NOT NULL REFERENCES motions(id) ON DELETE CASCADE,
    object_iri TEXT NOT NULL UNIQUE,
    actor_iri  TEXT NOT NULL,
    content    TEXT NOT NULL, -- sanitised HTML
    url        TEXT NOT NULL DEFAULT '',
    published  INTEGER NOT NULL,
    updated    INTEGER
);
CREATE INDEX motion_replies_motion ON motion_replies(motion_id, published);
CREATE INDEX motion_replies_actor ON motion_replies(actor_iri);
