-- Tasks: a meeting's conclusions turned into work someone is accountable
-- for (services/meetings/tasks). No foreign keys to the meeting or directory
-- tables: those belong to other parts of the service and are reached through
-- their Go interfaces, so each part can change its tables on its own.

-- +goose Up
CREATE TABLE tasks (
    id                         uuid        PRIMARY KEY,
    -- The meeting's organisation: who sees the task and its events.
    organization_id            text        NOT NULL,
    meeting_id                 uuid        NOT NULL,
    agenda_item_id             text        NOT NULL,
    title                      text        NOT NULL,
    description                text        NOT NULL DEFAULT '',
    -- Exactly one of a person or an organisation is accountable. The names
    -- are copied when assigned so lists need no directory look-ups.
    assignee_person_id         text        NOT NULL DEFAULT '',
    assignee_person_name       text        NOT NULL DEFAULT '',
    assignee_organization_id   text        NOT NULL DEFAULT '',
    assignee_organization_name text        NOT NULL DEFAULT '',
    -- A calendar day in Vietnam; "overdue" is computed on read against the
    -- caller's clock, never stored, so it cannot go stale.
    deadline                   date        NOT NULL,
    -- Enum values by their proto name, as the meetings table does.
    status                     text        NOT NULL,
    version                    bigint      NOT NULL,
    created_by                 text        NOT NULL,
    create_time                timestamptz NOT NULL,
    update_time                timestamptz NOT NULL,
    -- The Vietnamese day the last TaskOverdue reminder was enqueued; set in
    -- the reminder's transaction so replicas and restarts never announce a
    -- task twice on one day.
    last_reminded_on           date,
    CONSTRAINT tasks_one_assignee CHECK ((assignee_person_id = '') <> (assignee_organization_id = '')),
    CONSTRAINT tasks_status CHECK (status IN
        ('TASK_STATUS_OPEN', 'TASK_STATUS_IN_PROGRESS', 'TASK_STATUS_DONE', 'TASK_STATUS_CANCELLED'))
);

CREATE INDEX tasks_meeting ON tasks (meeting_id, deadline, id);
CREATE INDEX tasks_organization ON tasks (organization_id, deadline, id);
CREATE INDEX tasks_assignee_person ON tasks (assignee_person_id) WHERE assignee_person_id <> '';
CREATE INDEX tasks_assignee_organization ON tasks (assignee_organization_id) WHERE assignee_organization_id <> '';
-- The reminder and overdue lists only ever look at unfinished tasks.
CREATE INDEX tasks_unfinished_deadline ON tasks (deadline, id)
    WHERE status IN ('TASK_STATUS_OPEN', 'TASK_STATUS_IN_PROGRESS');

-- Progress notes are append-only; seq orders them within a task.
CREATE TABLE task_notes (
    task_id      uuid        NOT NULL REFERENCES tasks (id),
    seq          integer     NOT NULL,
    author_id    text        NOT NULL,
    author_name  text        NOT NULL,
    text         text        NOT NULL,
    percent_done integer     NOT NULL CHECK (percent_done BETWEEN 0 AND 100),
    create_time  timestamptz NOT NULL,
    PRIMARY KEY (task_id, seq)
);

-- +goose Down
DROP TABLE task_notes;
DROP TABLE tasks;
