-- audit_log is the service's append-only, hash-chained audit trail (package
-- audit). Each record's hash covers the previous record's hash and the
-- record's own fields, so changing, deleting or reordering a record breaks
-- the chain where it happened; audit.Verify finds the place.

-- +goose Up
CREATE TABLE audit_log (
    seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- What the record is about, e.g. "meeting/<id>"; Verify filters on a prefix.
    subject     text        NOT NULL CHECK (subject <> ''),
    action      text        NOT NULL CHECK (action <> ''),
    actor_id    text        NOT NULL DEFAULT '',
    reason      text        NOT NULL DEFAULT '',
    payload     jsonb       NOT NULL DEFAULT '{}',
    recorded_at timestamptz NOT NULL,
    -- Empty for the first record of the schema.
    prev_hash   bytea       NOT NULL,
    hash        bytea       NOT NULL CHECK (length(hash) = 32),
    -- A record has one successor at most: two appends that read the same
    -- last record (a fork of the chain) cannot both commit.
    CONSTRAINT audit_log_linear UNIQUE (prev_hash)
);

-- Verify walks one subject's records (LIKE 'meeting/<id>%').
CREATE INDEX audit_log_subject ON audit_log (subject text_pattern_ops, seq);

-- Append-only: the application never changes or removes a record, and a
-- mistaken UPDATE or DELETE in psql must not either.
-- +goose StatementBegin
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_refuse_change();
