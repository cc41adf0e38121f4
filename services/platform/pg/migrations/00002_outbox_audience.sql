-- Events may name people outside their organisation who may see them
-- (EventMeta.audience); the relay sends them as the Ecabinet-Audience header.

-- +goose Up
ALTER TABLE outbox ADD COLUMN audience text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE outbox DROP COLUMN audience;
