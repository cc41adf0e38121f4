-- +goose Up
-- Join tokens are random; only their SHA-256 is kept, so a database dump
-- does not let anyone join (ADR 0004). A token may be presented again
-- until it expires (a reconnect after a network drop).
CREATE TABLE join_tokens (
    token_hash     bytea PRIMARY KEY,
    meeting_id     uuid        NOT NULL,
    person_id      text        NOT NULL,
    display_name   text        NOT NULL,
    publish_audio  boolean     NOT NULL,
    publish_video  boolean     NOT NULL,
    publish_screen boolean     NOT NULL,
    expire_time    timestamptz NOT NULL
);
CREATE INDEX join_tokens_expire_time ON join_tokens (expire_time);

-- Who is in a room now: one row per signaling session, written with its
-- ParticipantJoined event and deleted with its ParticipantLeft event.
CREATE TABLE room_participants (
    participant_id uuid PRIMARY KEY,
    meeting_id     uuid        NOT NULL REFERENCES rooms (meeting_id),
    person_id      text        NOT NULL,
    join_time      timestamptz NOT NULL
);
CREATE INDEX room_participants_meeting ON room_participants (meeting_id);

-- +goose Down
DROP TABLE room_participants;
DROP TABLE join_tokens;
