-- Member classes (multi-stakeholder coops) and coops of coops.

-- A coop's classes of members: workers, consumers, supporters... Motions
-- and members name a class by name, unique in the coop.
CREATE TABLE member_classes (
    id         INTEGER PRIMARY KEY,
    coop_id    INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (coop_id, name)
);

-- A member's class ('' for none) and kind: a person, or a coop that is a
-- member of this coop (a federation) and votes through its own actor.
ALTER TABLE members ADD COLUMN class TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN kind TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'coop'));

-- The member's class when the motion opened: a later change of class does
-- not move a vote from one class's count to another's.
ALTER TABLE motion_eligible ADD COLUMN class TEXT NOT NULL DEFAULT '';

-- How classes count on a motion ('' one member one vote, 'weighted',
-- 'separate'), the weights (JSON array of {class, weight}), the classes
-- whose members vote (JSON array, '' or [] for all) and the eligible
-- members by class fixed at opening (JSON array of {class, eligible}).
ALTER TABLE motions ADD COLUMN class_count TEXT NOT NULL DEFAULT '' CHECK (class_count IN ('', 'weighted', 'separate'));
ALTER TABLE motions ADD COLUMN class_weights TEXT NOT NULL DEFAULT '';
ALTER TABLE motions ADD COLUMN eligible_classes TEXT NOT NULL DEFAULT '';
ALTER TABLE motions ADD COLUMN class_eligible TEXT NOT NULL DEFAULT '';

-- A motion that puts a federation's Question to this coop's members: the
-- Question, the federation's actor, and the id of the vote its outcome
-- was cast as ('' until cast). One internal motion per coop and Question.
ALTER TABLE motions ADD COLUMN mirror_of TEXT NOT NULL DEFAULT '';
ALTER TABLE motions ADD COLUMN mirror_actor TEXT NOT NULL DEFAULT '';
ALTER TABLE motions ADD COLUMN cast_iri TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX motions_mirror ON motions(coop_id, mirror_of) WHERE mirror_of != '';

-- The federations (coops of coops, on any instance) a local coop is a
-- member of: their motions open an internal motion here.
CREATE TABLE coop_federations (
    coop_id    INTEGER NOT NULL REFERENCES coops(id) ON DELETE CASCADE,
    actor_iri  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (coop_id, actor_iri)
);
CREATE INDEX coop_federations_actor ON coop_federations(actor_iri);
