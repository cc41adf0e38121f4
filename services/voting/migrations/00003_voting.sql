-- Voting (issue 5): the skeleton's polls and poll_choices (00001, as the
-- previous release shipped them) brought to the voting service's shape,
-- and the roll, who voted and the ballot box.
--
-- Three kinds of database arrive here and all leave in the same shape
-- (ADR 0005, "Migrations"): a new one and one migrated by the released
-- skeleton have 00001's skeleton tables; one migrated by an unreleased
-- build of this service, whose 00001 created everything below, already
-- has it all. So every step is "if not there yet". The skeleton could
-- only create drafts; its polls get the rules a draft of their kind gets
-- by default and an unknown creator ('').

-- +goose Up
ALTER TABLE polls ALTER COLUMN meeting_id DROP NOT NULL;
ALTER TABLE polls
    ADD COLUMN IF NOT EXISTS created_by         text    NOT NULL DEFAULT '',
    -- The effective rules (the kind's defaults filled in at creation).
    ADD COLUMN IF NOT EXISTS quorum_numerator   integer NOT NULL DEFAULT 2,
    ADD COLUMN IF NOT EXISTS quorum_denominator integer NOT NULL DEFAULT 3,
    ADD COLUMN IF NOT EXISTS majority           text    NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS majority_base      text    NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS min_choices        integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS max_choices        integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS seats              integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS deadline           timestamptz,
    ADD COLUMN IF NOT EXISTS body               text    NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS allow_delegation   boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS open_time          timestamptz,
    ADD COLUMN IF NOT EXISTS close_time         timestamptz,
    ADD COLUMN IF NOT EXISTS publish_time       timestamptz,
    -- The result (protojson of ecabinet.voting.v1.Result), set at close.
    -- The poll row is never touched per ballot: ballots_cast is counted
    -- from voters, so casting has no hot row.
    ADD COLUMN IF NOT EXISTS result             jsonb;

-- The skeleton's drafts: the rules their kind defaults to (domain
-- EffectiveRules with nothing asked): a written opinion poll has no
-- quorum; single and multiple choice are plurality; an election is
-- measured against the election base; the rest more than half of all
-- members.
UPDATE polls SET
    quorum_numerator   = CASE WHEN kind = 'POLL_KIND_WRITTEN_OPINION' THEN 0 ELSE quorum_numerator END,
    quorum_denominator = CASE WHEN kind = 'POLL_KIND_WRITTEN_OPINION' THEN 1 ELSE quorum_denominator END,
    majority = CASE WHEN kind IN ('POLL_KIND_SINGLE_CHOICE', 'POLL_KIND_MULTIPLE_CHOICE') THEN 'MAJORITY_UNSPECIFIED'
                    ELSE 'MAJORITY_MORE_THAN_HALF' END,
    majority_base = CASE WHEN kind = 'POLL_KIND_ELECTION' THEN 'MAJORITY_BASE_ELECTION'
                         WHEN kind IN ('POLL_KIND_SINGLE_CHOICE', 'POLL_KIND_MULTIPLE_CHOICE') THEN 'MAJORITY_BASE_UNSPECIFIED'
                         ELSE 'MAJORITY_BASE_ALL_MEMBERS' END
WHERE majority = '';

-- New polls always say their creator and rules.
ALTER TABLE polls
    ALTER COLUMN created_by DROP DEFAULT,
    ALTER COLUMN quorum_numerator DROP DEFAULT,
    ALTER COLUMN quorum_denominator DROP DEFAULT,
    ALTER COLUMN majority DROP DEFAULT,
    ALTER COLUMN majority_base DROP DEFAULT;

-- The deadline loop: open polls with a deadline.
CREATE INDEX IF NOT EXISTS polls_deadline ON polls (deadline) WHERE state = 'POLL_STATE_OPEN' AND deadline IS NOT NULL;

-- The roll: a snapshot of the participants' facts (or, for a written
-- opinion poll, the body's official members) taken at open and refreshed
-- when someone not entitled on it tries to vote and at a manual close, so
-- casting does not ask the meetings service per ballot and a close at the
-- deadline (with nobody's identity to ask with) can still decide. It says
-- who may vote (and who may vote for whom: delegate_person_id), never
-- what anyone voted.
CREATE TABLE IF NOT EXISTS roll (
    poll_id            uuid    NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    person_id          text    NOT NULL,
    full_name          text    NOT NULL,
    role               text    NOT NULL,
    voting_right       boolean NOT NULL,
    standing           text    NOT NULL,
    excused            boolean NOT NULL,
    attendance         text    NOT NULL,
    -- Empty when entitled; else a stable code (NOT_CHECKED_IN, ...).
    reason             text    NOT NULL,
    delegate_person_id text    NOT NULL DEFAULT '',
    PRIMARY KEY (poll_id, person_id)
);
ALTER TABLE roll ADD COLUMN IF NOT EXISTS delegate_person_id text NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS roll_person ON roll (person_id);

-- Who voted. The primary key is "one person, one vote". The table shares
-- nothing with ballot_box but poll_id: no time, no serial, no sequence.
CREATE TABLE IF NOT EXISTS voters (
    poll_id   uuid NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    person_id text NOT NULL,
    PRIMARY KEY (poll_id, person_id)
);

-- What was voted. While the poll is open a row is sealed: tag (keyed
-- HMAC of the receipt, so a retry finds it) and seal (AES-256-GCM of the
-- receipt's hash and the choices, padded to one size per poll). At close
-- the sealed rows are opened, counted, deleted and rewritten in the clear
-- in a random order by the closing transaction: then every row has the
-- same xmin and the physical order says nothing about the order of
-- casting. No key, no time, no sequence.
CREATE TABLE IF NOT EXISTS ballot_box (
    poll_id      uuid    NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    tag          bytea,
    seal         bytea,
    receipt_hash text,
    choice_ids   text[],
    valid        boolean,
    -- A named (open) poll only: who cast it.
    person_id    text,
    CHECK ((seal IS NOT NULL AND tag IS NOT NULL AND receipt_hash IS NULL AND choice_ids IS NULL AND valid IS NULL)
        OR (seal IS NULL AND tag IS NULL AND receipt_hash IS NOT NULL AND choice_ids IS NOT NULL AND valid IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS ballot_box_tag ON ballot_box (poll_id, tag) WHERE tag IS NOT NULL;
CREATE INDEX IF NOT EXISTS ballot_box_poll ON ballot_box (poll_id);

-- +goose Down
DROP TABLE ballot_box;
DROP TABLE voters;
DROP TABLE roll;
DROP INDEX IF EXISTS polls_deadline;
ALTER TABLE polls
    DROP COLUMN created_by, DROP COLUMN quorum_numerator, DROP COLUMN quorum_denominator,
    DROP COLUMN majority, DROP COLUMN majority_base, DROP COLUMN min_choices, DROP COLUMN max_choices,
    DROP COLUMN seats, DROP COLUMN deadline, DROP COLUMN body, DROP COLUMN allow_delegation,
    DROP COLUMN open_time, DROP COLUMN close_time, DROP COLUMN publish_time, DROP COLUMN result;
-- meeting_id stays nullable: written opinion polls may exist by now.
