-- +goose Up
-- The library of monthly cell-meeting materials: documents of an
-- organisation rather than of a meeting, read by the organisations below it.
ALTER TABLE documents
    ALTER COLUMN meeting_id DROP NOT NULL,
    ADD COLUMN library_period text CHECK (library_period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    ADD CONSTRAINT documents_meeting_or_library CHECK ((meeting_id IS NULL) <> (library_period IS NULL));

-- The organisations a library document was published to, fixed when it
-- was published (the publishing organisation and every one below it then),
-- with their names then, for the study report.
CREATE TABLE library_audience (
    document_id       uuid NOT NULL REFERENCES documents (id),
    organization_id   text NOT NULL,
    organization_name text NOT NULL,
    -- Depth below the publishing organisation (0 for itself): a reader
    -- belonging to several is counted in the deepest (their cell).
    depth             int  NOT NULL CHECK (depth >= 0),
    PRIMARY KEY (document_id, organization_id)
);
CREATE INDEX library_audience_org ON library_audience (organization_id);
CREATE INDEX documents_library ON documents (library_period DESC, create_time) WHERE meeting_id IS NULL;

-- +goose Down
DROP TABLE library_audience;
ALTER TABLE documents DROP CONSTRAINT documents_meeting_or_library, DROP COLUMN library_period;
ALTER TABLE documents ALTER COLUMN meeting_id SET NOT NULL;
