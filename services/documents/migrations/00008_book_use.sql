-- +goose Up
-- When a book was last served: a superseded book is removed only once it
-- has gone unused for a while, so a download in progress, or the book of
-- readers who see other papers, is not pulled away.
ALTER TABLE meeting_books ADD COLUMN last_used_time timestamptz NOT NULL DEFAULT now();

-- +goose Down
ALTER TABLE meeting_books DROP COLUMN last_used_time;
