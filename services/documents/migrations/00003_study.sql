-- +goose Up
-- What each person has read of each document (study tracking): one row per
-- person and document, merged on every report from the viewer.
CREATE TABLE study (
    document_id     uuid        NOT NULL REFERENCES documents (id),
    person_id       text        NOT NULL,
    -- Pages seen (1-based), ascending, each once.
    pages_seen      int[]       NOT NULL DEFAULT '{}',
    read_to_end     boolean     NOT NULL DEFAULT false,
    first_open_time timestamptz NOT NULL DEFAULT now(),
    last_time       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, person_id)
);

-- +goose Down
DROP TABLE study;
