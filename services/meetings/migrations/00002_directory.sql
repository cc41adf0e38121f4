-- The directory: organisations, people, memberships, accounts and sessions.
-- Enum values are stored by their proto name, as in the meetings table.

-- +goose Up
CREATE TABLE organizations (
    id                 uuid PRIMARY KEY,
    parent_id          uuid REFERENCES organizations (id),
    name               text        NOT NULL,
    kind               text        NOT NULL,
    quorum_numerator   int         NOT NULL DEFAULT 2,
    quorum_denominator int         NOT NULL DEFAULT 3,
    create_time        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_quorum CHECK (quorum_numerator > 0 AND quorum_numerator <= quorum_denominator)
);
CREATE INDEX organizations_parent ON organizations (parent_id);

CREATE TABLE people (
    id                uuid PRIMARY KEY,
    -- NFC, as typed.
    full_name         text        NOT NULL,
    -- Search key: lower case, diacritics removed, đ -> d ("nguyen van an").
    name_folded       text        NOT NULL,
    email             text        NOT NULL DEFAULT '',
    phone             text        NOT NULL DEFAULT '',
    -- NULL when unknown, never '' (the unique index must not see '' twice).
    party_card_number text CHECK (party_card_number <> ''),
    create_time       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX people_party_card ON people (party_card_number) WHERE party_card_number IS NOT NULL;
CREATE INDEX people_name_folded ON people (name_folded);

CREATE TABLE memberships (
    id              uuid PRIMARY KEY,
    person_id       uuid    NOT NULL REFERENCES people (id),
    organization_id uuid    NOT NULL REFERENCES organizations (id),
    body            text    NOT NULL,
    role            text    NOT NULL,
    standing        text    NOT NULL,
    excused         boolean NOT NULL DEFAULT false,
    start_date      date    NOT NULL DEFAULT current_date,
    end_date        date,
    CONSTRAINT memberships_dates CHECK (end_date IS NULL OR end_date >= start_date)
);
-- One current membership per person, organisation and body.
CREATE UNIQUE INDEX memberships_current ON memberships (person_id, organization_id, body) WHERE end_date IS NULL;
CREATE INDEX memberships_org ON memberships (organization_id, body) WHERE end_date IS NULL;

CREATE TABLE accounts (
    person_id           uuid PRIMARY KEY REFERENCES people (id),
    -- Lower case; unique. The service checks the same pattern.
    username            text        NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9._-]{3,64}$'),
    -- argon2id in PHC string format.
    password_hash       text        NOT NULL,
    -- System-wide roles, e.g. system_admin.
    roles               text[]      NOT NULL DEFAULT '{}',
    create_time         timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);

-- Organisations an account administers (and, implicitly, those below them).
CREATE TABLE account_admin_orgs (
    person_id       uuid NOT NULL REFERENCES accounts (person_id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    PRIMARY KEY (person_id, organization_id)
);

CREATE TABLE sessions (
    -- SHA-256 of the token; the token itself is never stored.
    token_hash     bytea PRIMARY KEY,
    person_id      uuid        NOT NULL REFERENCES accounts (person_id) ON DELETE CASCADE,
    create_time    timestamptz NOT NULL DEFAULT now(),
    last_seen      timestamptz NOT NULL DEFAULT now(),
    expire_time    timestamptz NOT NULL,
    client_address text        NOT NULL DEFAULT '',
    user_agent     text        NOT NULL DEFAULT ''
);
CREATE INDEX sessions_person ON sessions (person_id);

-- Failed and successful logins, for rate limiting per account and per address.
CREATE TABLE login_attempts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username       text        NOT NULL,
    client_address text        NOT NULL,
    attempt_time   timestamptz NOT NULL DEFAULT now(),
    succeeded      boolean     NOT NULL
);
CREATE INDEX login_attempts_username ON login_attempts (username, attempt_time);
CREATE INDEX login_attempts_address ON login_attempts (client_address, attempt_time);

-- +goose Down
DROP TABLE login_attempts;
DROP TABLE sessions;
DROP TABLE account_admin_orgs;
DROP TABLE accounts;
DROP TABLE memberships;
DROP TABLE people;
DROP TABLE organizations;
