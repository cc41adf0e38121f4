-- The meeting lifecycle: body, current agenda item, state reason and the
-- quorum rule on the meeting; agenda items; participants with invitation
-- answers and attendance; the check-in signing secret. Enum values are
-- stored by their proto name. Every change of a meeting is audited in the
-- platform's audit_log (subject "meeting/<id>"), the schema's one
-- hash-chained trail, which the minutes use too.

-- +goose Up
ALTER TABLE meetings
    ADD COLUMN body                   text NOT NULL DEFAULT 'BODY_KIND_ALL_MEMBERS',
    ADD COLUMN state_reason           text NOT NULL DEFAULT '',
    -- The organisation's quorum rule, copied when the meeting is created:
    -- the rule a meeting was called under does not change under it.
    ADD COLUMN quorum_numerator       int  NOT NULL DEFAULT 2,
    ADD COLUMN quorum_denominator     int  NOT NULL DEFAULT 3,
    ADD COLUMN current_agenda_item_id uuid,
    ADD CONSTRAINT meetings_quorum CHECK (quorum_numerator > 0 AND quorum_numerator <= quorum_denominator);

CREATE TABLE agenda_items (
    id               uuid PRIMARY KEY,
    meeting_id       uuid   NOT NULL REFERENCES meetings (id),
    -- 1..n without gaps; writers lock the meeting row first. The constraint
    -- is checked at the end of each statement, so shifting every position
    -- by one in a single UPDATE does not trip over itself.
    position         int    NOT NULL CHECK (position > 0),
    title            text   NOT NULL,
    presenter_id     uuid,
    duration_minutes int    NOT NULL DEFAULT 0 CHECK (duration_minutes >= 0),
    document_ids     uuid[] NOT NULL DEFAULT '{}',
    CONSTRAINT agenda_items_position UNIQUE (meeting_id, position) DEFERRABLE INITIALLY IMMEDIATE
);

ALTER TABLE meetings ADD CONSTRAINT meetings_current_agenda_item
    FOREIGN KEY (current_agenda_item_id) REFERENCES agenda_items (id);

CREATE TABLE participants (
    meeting_id     uuid        NOT NULL REFERENCES meetings (id),
    person_id      uuid        NOT NULL REFERENCES people (id),
    -- Name, standing and excused flag as the directory had them when the
    -- person was added: the meeting's record of who came in what capacity.
    full_name      text        NOT NULL,
    role           text        NOT NULL,
    standing       text        NOT NULL,
    -- A current member of the meeting's body when added; with an official
    -- standing and a member's role this gives the voting right.
    body_member    boolean     NOT NULL,
    excused        boolean     NOT NULL DEFAULT false,
    rsvp           text        NOT NULL DEFAULT 'RSVP_UNSPECIFIED',
    absence_reason text        NOT NULL DEFAULT '',
    attendance     text        NOT NULL DEFAULT 'ATTENDANCE_NOT_PRESENT',
    check_in_time  timestamptz,
    -- Insertion order, for a stable listing within a role.
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (meeting_id, person_id)
);
-- "My meetings".
CREATE INDEX participants_person ON participants (person_id);

-- The HMAC key for check-in QR tokens: one per deployment, made by the
-- service with crypto/rand the first time it needs one (the single row is
-- inserted with ON CONFLICT DO NOTHING, so replicas agree on the first).
CREATE TABLE checkin_secret (
    id     int PRIMARY KEY CHECK (id = 1),
    secret bytea NOT NULL CHECK (length(secret) >= 32)
);

-- +goose Down
DROP TABLE checkin_secret;
DROP TABLE participants;
ALTER TABLE meetings DROP CONSTRAINT meetings_current_agenda_item;
DROP TABLE agenda_items;
ALTER TABLE meetings
    DROP CONSTRAINT meetings_quorum,
    DROP COLUMN current_agenda_item_id,
    DROP COLUMN quorum_denominator,
    DROP COLUMN quorum_numerator,
    DROP COLUMN state_reason,
    DROP COLUMN body;
