-- +goose Up
-- One room per meeting: opening it again returns the same room.
CREATE TABLE rooms (
    meeting_id      uuid PRIMARY KEY,
    organization_id text        NOT NULL,
    -- Enum values are stored by their proto name: readable in psql and
    -- independent of the numbers.
    mode            text        NOT NULL,
    state           text        NOT NULL,
    -- Incremented on every change; the version of the room's events.
    version         bigint      NOT NULL,
    open_time       timestamptz NOT NULL
);

-- +goose Down
DROP TABLE rooms;
