-- +goose Up
-- Bound meeting books (OpenMeetingBook). A book's object name is derived
-- from the papers in it, so a changed paper means a new book; older books
-- of the meeting are removed once a newer one exists.
CREATE TABLE meeting_books (
    object_key  text        PRIMARY KEY,
    meeting_id  uuid        NOT NULL,
    size_bytes  bigint      NOT NULL CHECK (size_bytes > 0),
    sha256      text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    page_count  int         NOT NULL CHECK (page_count > 0),
    create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meeting_books_meeting ON meeting_books (meeting_id, create_time);

-- +goose Down
DROP TABLE meeting_books;
