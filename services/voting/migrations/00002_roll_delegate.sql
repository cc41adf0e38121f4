-- Vote delegation: the roll also records each participant's delegate as the
-- meetings service has it (SetDelegate), so a delegated ballot is checked
-- by the same one statement that writes it. Like the rest of the roll it
-- says who may vote, never what anyone voted.
--
-- A database that ran the released skeleton's 00001 has no roll yet: this
-- does nothing there and 00003 creates the roll with this column. (Written
-- so it is a no-op where the column already exists, too.)

-- +goose Up
ALTER TABLE IF EXISTS roll ADD COLUMN IF NOT EXISTS delegate_person_id text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE IF EXISTS roll DROP COLUMN IF EXISTS delegate_person_id;
