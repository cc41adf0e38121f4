-- The speakers list of a meeting in progress: participants ask to speak
-- from their tablets, the chair or minute-taker gives the floor in order.
-- States are stored by their proto name. Writers hold the meeting's row
-- lock (every change goes through change.go), which serialises positions.

-- +goose Up
CREATE TABLE speakers (
    id             uuid        PRIMARY KEY,
    meeting_id     uuid        NOT NULL REFERENCES meetings (id),
    -- No foreign key to participants: removing a participant must not be
    -- blocked by, nor erase, the record that they spoke.
    person_id      uuid        NOT NULL,
    -- The name as the meeting had it when they asked, like participants'.
    full_name      text        NOT NULL,
    agenda_item_id uuid        REFERENCES agenda_items (id) ON DELETE SET NULL,
    note           text        NOT NULL DEFAULT '',
    state          text        NOT NULL,
    -- 1..n among the waiting requests of the meeting; 0 for the others.
    position       int         NOT NULL DEFAULT 0 CHECK (position >= 0),
    request_time   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX speakers_meeting ON speakers (meeting_id);
-- One open (waiting or speaking) request per person and meeting.
CREATE UNIQUE INDEX speakers_one_open ON speakers (meeting_id, person_id)
    WHERE state IN ('SPEAKER_STATE_WAITING', 'SPEAKER_STATE_SPEAKING');
-- At most one person has the floor.
CREATE UNIQUE INDEX speakers_one_speaking ON speakers (meeting_id)
    WHERE state = 'SPEAKER_STATE_SPEAKING';

-- +goose Down
DROP TABLE speakers;
