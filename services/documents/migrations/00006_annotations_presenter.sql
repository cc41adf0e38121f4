-- +goose Up
-- Private annotations: each row is one person's, seen by no one else.
CREATE TABLE annotations (
    id               uuid        PRIMARY KEY,
    document_id      uuid        NOT NULL REFERENCES documents (id),
    person_id        text        NOT NULL,
    document_version int         NOT NULL CHECK (document_version >= 1),
    page             int         NOT NULL CHECK (page >= 1),
    kind             text        NOT NULL,
    area_x           double precision NOT NULL,
    area_y           double precision NOT NULL,
    area_width       double precision NOT NULL,
    area_height      double precision NOT NULL,
    text             text        NOT NULL DEFAULT '',
    color            text        NOT NULL DEFAULT '',
    version          bigint      NOT NULL DEFAULT 1,
    create_time      timestamptz NOT NULL DEFAULT now(),
    update_time      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX annotations_owner ON annotations (document_id, person_id, page, create_time);

-- The page each meeting's presenter shows now.
CREATE TABLE presenter_pages (
    meeting_id   uuid        PRIMARY KEY,
    document_id  uuid        NOT NULL REFERENCES documents (id),
    page         int         NOT NULL CHECK (page >= 1),
    presenter_id text        NOT NULL,
    update_time  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE presenter_pages;
DROP TABLE annotations;
