-- +goose Up
CREATE TABLE polls (
    id              uuid PRIMARY KEY,
    meeting_id      uuid        NOT NULL,
    organization_id text        NOT NULL,
    agenda_item_id  uuid,
    title           text        NOT NULL,
    -- Enum values are stored by their proto name: readable in psql and
    -- independent of the numbers.
    kind            text        NOT NULL,
    secret          boolean     NOT NULL,
    state           text        NOT NULL,
    version         bigint      NOT NULL,
    create_time     timestamptz NOT NULL DEFAULT now()
);

-- ListPolls: a meeting's polls in the order they were made.
CREATE INDEX polls_meeting ON polls (meeting_id, create_time, id);

CREATE TABLE poll_choices (
    poll_id   uuid    NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    position  integer NOT NULL,
    -- Ballots and results refer to choice_id, never to the label.
    choice_id text    NOT NULL,
    label     text    NOT NULL,
    PRIMARY KEY (poll_id, choice_id),
    UNIQUE (poll_id, position)
);

-- +goose Down
DROP TABLE poll_choices;
DROP TABLE polls;
