-- Decision types beyond consent and choice (ranked choice, dot vote, time
-- poll, advice), the reason a member gives with a vote, and votes changed
-- before the deadline.

-- motions.kind keeps the shape of a ballot, one row per member ('consent',
-- 'choice') or several ('multiple'), on which the votes trigger and the
-- one-vote-per-member index rest. decision names the finer type where it
-- differs: ranked, score and poll ballots hold several rows, advice one.
ALTER TABLE motions ADD COLUMN decision TEXT NOT NULL DEFAULT '' CHECK (decision IN ('', 'ranked', 'score', 'poll', 'advice'));
ALTER TABLE motions ADD COLUMN method TEXT NOT NULL DEFAULT '' CHECK (method IN ('', 'irv', 'borda'));
ALTER TABLE motions ADD COLUMN dots INTEGER NOT NULL DEFAULT 0 CHECK (dots >= 0 AND dots <= 100);

-- A ranked ballot's rank for the option (1 is the first preference), a
-- score ballot's dots; 0 on other motions.
ALTER TABLE votes ADD COLUMN points INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0);

-- One row per member who voted on a motion: the reason given with the
-- ballot in force, when it was cast and how often it replaced an earlier
-- one. A new ballot first takes this row (insert or update), which
-- serialises two ballots of one member: the second waits, then replaces
-- what the first wrote.
CREATE TABLE ballots (
    motion_id INTEGER NOT NULL REFERENCES motions(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id),
    reason    TEXT NOT NULL DEFAULT '',
    cast_at   INTEGER NOT NULL,
    changes   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (motion_id, member_id)
) WITHOUT ROWID;
INSERT INTO ballots (motion_id, member_id, cast_at)
    SELECT motion_id, member_id, MIN(created_at) FROM votes GROUP BY motion_id, member_id;

-- Ballots a later vote of the same member replaced: what they chose (JSON
-- array of {"option", "points"}), the reason, when cast and when replaced.
CREATE TABLE vote_changes (
    id          INTEGER PRIMARY KEY,
    motion_id   INTEGER NOT NULL REFERENCES motions(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members(id),
    choices     TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    cast_at     INTEGER NOT NULL,
    replaced_at INTEGER NOT NULL
);
CREATE INDEX vote_changes_motion ON vote_changes(motion_id, id);

-- The database refuses dots beyond a member's allowance, whatever the
-- caller checked.
CREATE TRIGGER votes_points_check BEFORE INSERT ON votes
BEGIN
    SELECT RAISE(ABORT, 'vote: dots beyond the allowance')
        WHERE (SELECT decision FROM motions WHERE id = NEW.motion_id) = 'score'
          AND NEW.points + (SELECT COALESCE(SUM(points), 0) FROM votes WHERE motion_id = NEW.motion_id AND member_id = NEW.member_id)
              > (SELECT dots FROM motions WHERE id = NEW.motion_id);
END;
