-- +goose Up
-- Recorded files on the video node that are not yet documents of their
-- meeting: written when a recording stops, deleted when a file has been
-- delivered. A refused upload or a restart of the service leaves its rows,
-- so the meeting's chair can have them delivered again (ADR 0004).
CREATE TABLE undelivered_files (
    file_name    text PRIMARY KEY,
    recording_id uuid        NOT NULL,
    meeting_id   uuid        NOT NULL,
    title        text        NOT NULL,
    bytes        bigint      NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text        NOT NULL DEFAULT '',
    stop_time    timestamptz NOT NULL
);
CREATE INDEX undelivered_files_meeting ON undelivered_files (meeting_id);

-- +goose Down
DROP TABLE undelivered_files;
