-- The cycle of a motion: discussion (threaded replies, amendments of the
-- proposal), voting, outcome, implementation (tasks with owners and due
-- dates), review (what members say of the result) and follow-up motions.

-- phase is where the motion is in its cycle; state keeps what the voting
-- machinery needs (scheduled, open, closed). discussed is 1 for a motion
-- published for discussion before voting opens. review_at is the review
-- date set on the motion; reminded_at when the governance job moved it to
-- review, review_iri the Note that reminded the coop's followers.
ALTER TABLE motions ADD COLUMN phase TEXT NOT NULL DEFAULT 'voting' CHECK (phase IN ('discussion', 'voting', 'outcome', 'implementation', 'review'));
ALTER TABLE motions ADD COLUMN discussed INTEGER NOT NULL DEFAULT 0 CHECK (discussed IN (0, 1));
ALTER TABLE motions ADD COLUMN review_at INTEGER;
ALTER TABLE motions ADD COLUMN reminded_at INTEGER;
ALTER TABLE motions ADD COLUMN review_iri TEXT NOT NULL DEFAULT '';
UPDATE motions SET phase = CASE state WHEN 'scheduled' THEN 'discussion' WHEN 'open' THEN 'voting' ELSE 'outcome' END;
-- What the governance job polls for reviews that fall due.
CREATE INDEX motions_review_due ON motions(review_at) WHERE reminded_at IS NULL AND review_at IS NOT NULL;

-- A discussion reply's place in the thread: the IRI it replies to (the
-- motion or another reply). member_id is set on a reply a local member
-- wrote, published by the coop as a Note.
ALTER TABLE motion_replies ADD COLUMN in_reply_to TEXT NOT NULL DEFAULT '';
ALTER TABLE motion_replies ADD COLUMN member_id INTEGER REFERENCES members(id);

-- Each amendment of a proposal during discussion: the text before and
-- after, who amended it and the Update that published it.
CREATE TABLE motion_amendments (
    id           INTEGER PRIMARY KEY,
    motion_id    INTEGER NOT NULL REFERENCES motions(id) ON DELETE CASCADE,
    number       INTEGER NOT NULL CHECK (number >= 1),
    previous     TEXT NOT NULL,
    text         TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    member_id    INTEGER REFERENCES members(id),
    activity_iri TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    UNIQUE (motion_id, number)
);

-- The outcome as tasks: an owner among the members, a due date, and when
-- and by whom it was marked done.
CREATE TABLE motion_tasks (
    id         INTEGER PRIMARY KEY,
    motion_id  INTEGER NOT NULL REFERENCES motions(id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    owner_id   INTEGER NOT NULL REFERENCES members(id),
    due_at     INTEGER NOT NULL,
    done_at    INTEGER,
    done_by    INTEGER REFERENCES members(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX motion_tasks_motion ON motion_tasks(motion_id, id);

-- What each member says at review: did it work (yes, partly, no) and why.
-- A member's later record replaces the earlier one.
CREATE TABLE motion_reviews (
    motion_id  INTEGER NOT NULL REFERENCES motions(id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES members(id),
    verdict    TEXT NOT NULL CHECK (verdict IN ('yes', 'partly', 'no')),
    text       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (motion_id, member_id)
) WITHOUT ROWID;

-- A follow-up motion opened from a review, linked to the motion reviewed.
CREATE TABLE motion_follow_ups (
    follow_up_id INTEGER PRIMARY KEY REFERENCES motions(id) ON DELETE CASCADE,
    motion_id    INTEGER NOT NULL REFERENCES motions(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL
);
CREATE INDEX motion_follow_ups_motion ON motion_follow_ups(motion_id);
