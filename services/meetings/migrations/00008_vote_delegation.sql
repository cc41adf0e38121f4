-- Vote delegation (issue 5): an organisation setting, off by default, and a
-- meeting participant's recorded delegate. The organisation gets a version
-- for optimistic concurrency of UpdateOrganization.

-- +goose Up
ALTER TABLE organizations
    ADD COLUMN allow_vote_delegation boolean NOT NULL DEFAULT false,
    ADD COLUMN version               bigint  NOT NULL DEFAULT 1;

ALTER TABLE participants
    -- The participant who may cast this voting member's ballot while they
    -- are absent. The service checks the rules (voting rights, no chains);
    -- the database keeps it another participant of the same meeting and
    -- one delegation per delegate whatever the concurrency.
    ADD COLUMN delegate_person_id uuid,
    ADD CONSTRAINT participants_delegate_not_self CHECK (delegate_person_id <> person_id),
    ADD CONSTRAINT participants_delegate FOREIGN KEY (meeting_id, delegate_person_id)
        REFERENCES participants (meeting_id, person_id);
CREATE UNIQUE INDEX participants_one_delegation_per_delegate
    ON participants (meeting_id, delegate_person_id) WHERE delegate_person_id IS NOT NULL;

-- +goose Down
DROP INDEX participants_one_delegation_per_delegate;
ALTER TABLE participants
    DROP CONSTRAINT participants_delegate,
    DROP CONSTRAINT participants_delegate_not_self,
    DROP COLUMN delegate_person_id;
ALTER TABLE organizations
    DROP COLUMN version,
    DROP COLUMN allow_vote_delegation;
