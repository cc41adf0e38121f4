-- +goose Up
CREATE TABLE documents (
    id              uuid PRIMARY KEY,
    organization_id text        NOT NULL,
    meeting_id      uuid        NOT NULL,
    title           text        NOT NULL,
    -- Enum values are stored by their proto name: readable in psql and
    -- independent of the numbers.
    kind            text        NOT NULL,
    classification  text        NOT NULL,
    file_name       text        NOT NULL,
    content_type    text        NOT NULL,
    size_bytes      bigint      NOT NULL CHECK (size_bytes >= 0),
    sha256          text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    create_time     timestamptz NOT NULL DEFAULT now()
);

-- ListDocuments: a meeting's documents in the order they were added.
CREATE INDEX documents_meeting ON documents (meeting_id, create_time, id);

-- +goose Down
DROP TABLE documents;
