-- +goose Up
CREATE TABLE polls (
    id                 uuid PRIMARY KEY,
    -- NULL for a written opinion poll, which belongs to no meeting.
    meeting_id         uuid,
    organization_id    text        NOT NULL,
    agenda_item_id     uuid,
    title              text        NOT NULL,
    -- Enum values are stored by their proto name: readable in psql and
    -- independent of the numbers.
    kind               text        NOT NULL,
    secret             boolean     NOT NULL,
    state              text        NOT NULL,
    version            bigint      NOT NULL,
    create_time        timestamptz NOT NULL DEFAULT now(),
    created_by         text        NOT NULL,
    -- The effective rules (the kind's defaults filled in at creation).
    quorum_numerator   integer     NOT NULL,
    quorum_denominator integer     NOT NULL,
    majority           text        NOT NULL,
    majority_base      text        NOT NULL,
    min_choices        integer     NOT NULL DEFAULT 0,
    max_choices        integer     NOT NULL DEFAULT 0,
    seats              integer     NOT NULL DEFAULT 0,
    deadline           timestamptz,
    body               text        NOT NULL DEFAULT '',
    allow_delegation   boolean     NOT NULL DEFAULT false,
    open_time          timestamptz,
    close_time         timestamptz,
    publish_time       timestamptz,
    -- The result (protojson of ecabinet.voting.v1.Result), set at close.
    -- The poll row is never touched per ballot: ballots_cast is counted
    -- from voters, so casting has no hot row.
    result             jsonb
);

-- ListPolls: a meeting's polls in the order they were made.
CREATE INDEX polls_meeting ON polls (meeting_id, create_time, id);
-- The deadline loop: open polls with a deadline.
CREATE INDEX polls_deadline ON polls (deadline) WHERE state = 'POLL_STATE_OPEN' AND deadline IS NOT NULL;

CREATE TABLE poll_choices (
    poll_id   uuid    NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    position  integer NOT NULL,
    -- Ballots and results refer to choice_id, never to the label.
    choice_id text    NOT NULL,
    label     text    NOT NULL,
    PRIMARY KEY (poll_id, choice_id),
    UNIQUE (poll_id, position)
);

-- The roll: a snapshot of the participants' facts (or, for a written
-- opinion poll, the body's official members) taken at open and refreshed
-- when someone not entitled on it tries to vote and at a manual close, so
-- casting does not ask the meetings service per ballot and a close at the
-- deadline (with nobody's identity to ask with) can still decide. It says
-- who may vote, never what anyone voted.
CREATE TABLE roll (
    poll_id      uuid    NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    person_id    text    NOT NULL,
    full_name    text    NOT NULL,
    role         text    NOT NULL,
    voting_right boolean NOT NULL,
    standing     text    NOT NULL,
    excused      boolean NOT NULL,
    attendance   text    NOT NULL,
    -- Empty when entitled; else a stable code (NOT_CHECKED_IN, ...).
    reason       text    NOT NULL,
    PRIMARY KEY (poll_id, person_id)
);
CREATE INDEX roll_person ON roll (person_id);

-- Who voted. The primary key is "one person, one vote". The table shares
-- nothing with ballot_box but poll_id: no time, no serial, no sequence.
CREATE TABLE voters (
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
CREATE TABLE ballot_box (
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
CREATE UNIQUE INDEX ballot_box_tag ON ballot_box (poll_id, tag) WHERE tag IS NOT NULL;
CREATE INDEX ballot_box_poll ON ballot_box (poll_id);

-- +goose Down
DROP TABLE ballot_box;
DROP TABLE voters;
DROP TABLE roll;
DROP TABLE poll_choices;
DROP TABLE polls;
