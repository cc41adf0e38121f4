-- Minutes (biên bản) of meetings, by revision (package minutes). Meetings are
-- referred to by id only: the meetings table belongs to the meeting side.
-- States are stored by their proto name (MINUTES_STATE_DRAFT, ...).

-- +goose Up
CREATE TABLE minutes (
    meeting_id       uuid        NOT NULL,
    -- 1 for the first version; each amendment adds one.
    revision         int         NOT NULL CHECK (revision > 0),
    -- The meeting's organisation, so an administrator's audit check can
    -- find the meetings they administer.
    organization_id  text        NOT NULL,
    state            text        NOT NULL,
    -- Incremented on every change, and never reused across revisions of a
    -- meeting: a client holding an old revision's version cannot save over
    -- a newer one.
    version          bigint      NOT NULL CHECK (version > 0),
    amendment_reason text        NOT NULL DEFAULT '',
    return_reason    text        NOT NULL DEFAULT '',
    -- Set on approval: the header as approved (JSON, see header.go); while
    -- NULL the header is filled from the meeting on every read.
    header           jsonb,
    approved_by      text,
    approved_by_name text,
    approve_time     timestamptz,
    -- Hex SHA-256 of the approved content, also in the audit trail.
    content_hash     text,
    create_time      timestamptz NOT NULL DEFAULT now(),
    update_time      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, revision),
    CONSTRAINT minutes_approved_complete CHECK (state <> 'MINUTES_STATE_APPROVED' OR
        (header IS NOT NULL AND approve_time IS NOT NULL AND content_hash IS NOT NULL))
);
CREATE INDEX minutes_org ON minutes (organization_id);

-- The text of one agenda item in one revision. Title and position are
-- those of the agenda when last saved (and when approved), so text stays
-- readable even if the item later leaves the agenda.
CREATE TABLE minutes_items (
    meeting_id        uuid        NOT NULL,
    revision          int         NOT NULL,
    agenda_item_id    uuid        NOT NULL,
    agenda_item_title text        NOT NULL DEFAULT '',
    position          int         NOT NULL DEFAULT 0,
    discussion        text        NOT NULL DEFAULT '',
    opinions          text        NOT NULL DEFAULT '',
    conclusions       text        NOT NULL DEFAULT '',
    -- Set on approval: the vote results as approved (JSON array).
    votes             jsonb,
    update_time       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, revision, agenda_item_id),
    FOREIGN KEY (meeting_id, revision) REFERENCES minutes (meeting_id, revision)
);

-- Vote results reported by the voting service; they belong to the meeting,
-- not to a revision, and are frozen into a revision when it is approved.
CREATE TABLE minutes_votes (
    meeting_id     uuid        NOT NULL,
    poll_id        text        NOT NULL,
    agenda_item_id uuid        NOT NULL,
    title          text        NOT NULL DEFAULT '',
    summary        text        NOT NULL DEFAULT '',
    record_time    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, poll_id)
);

-- Approved minutes are immutable, whatever the application does.
-- +goose StatementBegin
CREATE FUNCTION minutes_refuse_approved_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_TABLE_NAME = 'minutes' THEN
        IF OLD.state = 'MINUTES_STATE_APPROVED' THEN
            RAISE EXCEPTION 'minutes of meeting % revision % are approved and immutable', OLD.meeting_id, OLD.revision
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    -- minutes_items: refuse any change to an approved revision's items.
    IF TG_OP = 'INSERT' THEN
        r := NEW;
    ELSE
        r := OLD;
    END IF;
    IF EXISTS (SELECT 1 FROM minutes m WHERE m.meeting_id = r.meeting_id AND m.revision = r.revision
               AND m.state = 'MINUTES_STATE_APPROVED') THEN
        RAISE EXCEPTION 'minutes of meeting % revision % are approved and immutable', r.meeting_id, r.revision
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER minutes_immutable BEFORE UPDATE OR DELETE ON minutes
    FOR EACH ROW EXECUTE FUNCTION minutes_refuse_approved_change();
CREATE TRIGGER minutes_items_immutable BEFORE INSERT OR UPDATE OR DELETE ON minutes_items
    FOR EACH ROW EXECUTE FUNCTION minutes_refuse_approved_change();

-- +goose Down
DROP TABLE minutes_votes;
DROP TABLE minutes_items;
DROP TABLE minutes;
DROP FUNCTION minutes_refuse_approved_change();
