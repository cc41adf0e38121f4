-- Vote delegation: the roll also records each participant's delegate as the
-- meetings service has it (SetDelegate), so a delegated ballot is checked
-- by the same one statement that writes it. Like the rest of the roll it
-- says who may vote, never what anyone voted.

-- +goose Up
ALTER TABLE roll ADD COLUMN delegate_person_id text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE roll DROP COLUMN delegate_person_id;
