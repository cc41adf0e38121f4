-- Platform tables, created inside each service's schema and tracked in
-- platform_goose_version, apart from the service's own migrations.

-- +goose Up

-- outbox holds events written in the same transaction as the state change
-- they describe; outbox.Relay publishes them to JetStream in seq order.
CREATE TABLE outbox (
    seq          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     text        NOT NULL UNIQUE,
    subject      text        NOT NULL,
    event_type   text        NOT NULL,
    org_id       text        NOT NULL DEFAULT '',
    payload      bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);

-- The relay only ever scans pending rows; the purge only published ones.
CREATE INDEX outbox_pending_idx ON outbox (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Wake the relay at commit instead of waiting for its next poll. The channel
-- is per schema so that services sharing a database don't wake each other.
-- +goose StatementBegin
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- inbox remembers which messages each durable consumer has applied, so a
-- redelivered message is acknowledged without running its handler again.
CREATE TABLE inbox (
    consumer   text        NOT NULL,
    msg_id     text        NOT NULL,
    subject    text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, msg_id)
);

-- +goose Down
DROP TABLE inbox;
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();
DROP TABLE outbox;
