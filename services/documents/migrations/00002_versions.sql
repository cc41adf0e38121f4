-- +goose Up
-- Uploads, versions and access records (ADR 0002). The skeleton had no upload
-- path, so no existing row has bytes in object storage; such rows get
-- version 1 without a document_versions row and cannot be downloaded.
ALTER TABLE documents
    ADD COLUMN agenda_item_id  uuid,
    ADD COLUMN uploader_id     text        NOT NULL DEFAULT '',
    -- The current version (the file fields above describe it).
    ADD COLUMN version         int         NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- Every change (new version, withdrawal) bumps it: EventMeta's
    -- aggregate_version, so consumers can order a document's events.
    ADD COLUMN revision        bigint      NOT NULL DEFAULT 1,
    ADD COLUMN page_count      int         NOT NULL DEFAULT 0 CHECK (page_count >= 0),
    ADD COLUMN preview         text        NOT NULL DEFAULT 'PREVIEW_UNSPECIFIED',
    ADD COLUMN update_time     timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN withdraw_time   timestamptz,
    ADD COLUMN withdraw_reason text        NOT NULL DEFAULT '',
    ADD COLUMN withdrawn_by    text        NOT NULL DEFAULT '';

-- Versions are append-only: a replacement is a new row and a new object.
CREATE TABLE document_versions (
    document_id  uuid        NOT NULL REFERENCES documents (id),
    version      int         NOT NULL CHECK (version >= 1),
    -- Full object name in the bucket (blob.Store.Key).
    object_key   text        NOT NULL UNIQUE,
    file_name    text        NOT NULL,
    content_type text        NOT NULL,
    size_bytes   bigint      NOT NULL CHECK (size_bytes > 0),
    sha256       text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    page_count   int         NOT NULL DEFAULT 0 CHECK (page_count >= 0),
    preview      text        NOT NULL,
    uploader_id  text        NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, version)
);

-- An object being written. The row is made before the object and removed
-- in the transaction that records the version, so every object in the
-- bucket is named either by a version or by a row here; rows left by a
-- failure or a crash are swept (object removed, then the row).
CREATE TABLE pending_uploads (
    object_key  text        PRIMARY KEY,
    document_id uuid        NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);

-- Who read which version, when and how (ACCESS_KIND_*): every view,
-- download and ranged read the gateway serves.
CREATE TABLE document_access (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id uuid        NOT NULL,
    version     int         NOT NULL,
    person_id   text        NOT NULL,
    how         text        NOT NULL,
    access_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX document_access_document ON document_access (document_id, access_time);
CREATE INDEX document_access_person ON document_access (person_id, access_time);

-- +goose Down
DROP TABLE document_access;
DROP TABLE pending_uploads;
DROP TABLE document_versions;
ALTER TABLE documents
    DROP COLUMN agenda_item_id,
    DROP COLUMN uploader_id,
    DROP COLUMN version,
    DROP COLUMN revision,
    DROP COLUMN page_count,
    DROP COLUMN preview,
    DROP COLUMN update_time,
    DROP COLUMN withdraw_time,
    DROP COLUMN withdraw_reason,
    DROP COLUMN withdrawn_by;
