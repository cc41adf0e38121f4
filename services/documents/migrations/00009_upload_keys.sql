-- +goose Up
-- Idempotency keys of new-document uploads: a retried upload whose answer
-- was lost finds the document its first attempt made instead of making a
-- second one. A key belongs to where the document goes (scope: the
-- meeting's id, or "library:" and the publishing organisation's), so that
-- whoever runs the meeting may retry it (a recording is delivered again by
-- the chair or the minute-taker, whoever asks). request is what the key
-- was used for (meeting or library period, and file name): a key reused
-- for another upload is refused rather than answered with the wrong
-- document.
CREATE TABLE upload_keys (
    scope       text NOT NULL,
    key         text NOT NULL,
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    request     text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- +goose Down
DROP TABLE upload_keys;
