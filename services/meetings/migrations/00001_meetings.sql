-- +goose Up
CREATE TABLE meetings (
    id              uuid PRIMARY KEY,
    organization_id text        NOT NULL,
    title           text        NOT NULL,
    -- Enum values are stored by their proto name: readable in psql and
    -- independent of the numbers.
    kind            text        NOT NULL,
    place           text        NOT NULL DEFAULT '',
    online          boolean     NOT NULL DEFAULT false,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz,
    state           text        NOT NULL,
    version         bigint      NOT NULL,
    create_time     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT meetings_ends_after_starts CHECK (ends_at IS NULL OR ends_at > starts_at)
);

-- ListMeetings pages through an organisation's meetings, newest first.
CREATE INDEX meetings_org_starts_at ON meetings (organization_id, starts_at DESC, id DESC);

-- +goose Down
DROP TABLE meetings;
