-- +goose Up
-- Whether a paper may be saved as a file (DOWNLOAD_POLICY_*). Papers
-- uploaded before the policy existed stay downloadable, as they were.
ALTER TABLE documents ADD COLUMN download_policy text NOT NULL DEFAULT 'DOWNLOAD_POLICY_ALLOWED';

-- +goose Down
ALTER TABLE documents DROP COLUMN download_policy;
