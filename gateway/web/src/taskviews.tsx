// Task views shared by "my tasks", the meeting page and the minutes page: a list that
// follows the live channel, a task card with its status changes and progress notes, and
// the form that turns a conclusion into a task. Server text (titles, names, notes) is
// always rendered as text.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, request, seg } from './api';
import { Notice, ProblemBox } from './components';
import { formatShortDate, formatTime } from './format';
import { enumLabel, useI18n, type MessageKey } from './i18n';
import { useLiveEvents } from './livectx';
import { arr, obj, str, type Meeting, type Principal } from './model';
import { Link } from './router';
import {
  conclusionLines,
  deadlineDate,
  isAssignee,
  isFinal,
  nextStatuses,
  percentDone,
  replaceTask,
  sortTasks,
  taskFrom,
  taskFromEvent,
  tasksFrom,
  titleFromConclusion,
  todayInVietnam,
  MAX_TITLE,
  type Task,
  type TaskStatus,
} from './tasks';

export interface TaskQuery {
  meetingId?: string;
  mine?: boolean;
  overdueOnly?: boolean;
}

export interface TasksModel {
  tasks: Task[] | null;
  error: unknown;
  reload(): Promise<void>;
  /** Shows a task as a request of this page returned it. */
  put(t: Task): void;
}

// useTasks loads a task list and keeps it current from the live channel: task events
// carry the whole task, so a changed task is replaced in place, and a new one that
// `belongs` to this list is added.
export function useTasks(query: TaskQuery, belongs: (t: Task) => boolean): TasksModel {
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const generation = useRef(0);
  const params = new URLSearchParams();
  if (query.meetingId) params.set('meetingId', query.meetingId);
  if (query.mine) params.set('mine', 'true');
  if (query.overdueOnly) params.set('overdueOnly', 'true');
  const qs = params.toString();
  const accept = useRef(belongs);
  accept.current = belongs;

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const list = tasksFrom(await request('GET', `/api/v1/tasks?${qs}`));
      if (mine !== generation.current) return;
      setTasks(sortTasks(list));
      setError(null);
    } catch (err) {
      if (mine === generation.current) setError(err);
    }
  }, [qs]);

  useEffect(() => {
    setTasks(null);
    setError(null);
    void reload();
    return () => {
      generation.current++;
    };
  }, [reload]);

  const put = useCallback((t: Task) => {
    setTasks((prev) => {
      if (prev === null) return prev;
      if (prev.some((x) => x.id === t.id)) return sortTasks(replaceTask(prev, t));
      return accept.current(t) ? sortTasks([...prev, t]) : prev;
    });
  }, []);

  useLiveEvents((e) => {
    const t = taskFromEvent(e.eventType, e.data);
    if (t) put(t);
  });

  return { tasks, error, reload, put };
}

export function TaskStatusBadge({ status }: { status: TaskStatus }) {
  const { t } = useI18n();
  return (
    <span class={`badge badge--task-${status.replace('TASK_STATUS_', '').toLowerCase()}`} data-testid="task-status" data-status={status}>
      {enumLabel(t, 'task', status)}
    </span>
  );
}

// The overdue marker says it in words, with an icon: never colour alone.
export function OverdueMark() {
  const { t } = useI18n();
  return (
    <span class="overdue" data-testid="task-overdue">
      <svg class="overdue-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
        <path d="M12 3 2 21h20L12 3z" />
        <path d="M12 10v5M12 18v.5" />
      </svg>
      {t('task.overdue')}
    </span>
  );
}

export function deadlineText(lang: 'vi' | 'en', deadline: string): string {
  const d = deadlineDate(deadline);
  return d ? formatShortDate(lang, d) : deadline;
}

export function assigneeText(task: Task): string {
  return task.assigneePersonName || task.assigneeOrganizationName || task.assigneePersonId || task.assigneeOrganizationId;
}

export function TaskList(props: {
  model: TasksModel;
  principal: Principal | null;
  /** The meeting's chair or minute-taker (or an admin): may cancel and change deadlines. */
  runner: boolean;
  showMeeting?: boolean;
  empty: string;
  testid?: string;
}) {
  const { model } = props;
  const { t } = useI18n();
  if (model.tasks === null) {
    return model.error ? (
      <ProblemBox error={model.error} onRetry={() => void model.reload()} />
    ) : (
      <p class="loading" role="status">
        {t('common.loading')}
      </p>
    );
  }
  return (
    <>
      <ProblemBox error={model.error} onRetry={() => void model.reload()} />
      {model.tasks.length === 0 ? (
        <p class="empty" data-testid={`${props.testid ?? 'tasks'}-empty`}>
          {props.empty}
        </p>
      ) : (
        <ul class="tasks" data-testid={props.testid ?? 'tasks'}>
          {model.tasks.map((task) => (
            <TaskCard
              key={task.id}
              task={task}
              runner={props.runner}
              worker={props.runner || isAssignee(task, props.principal)}
              showMeeting={props.showMeeting}
              onChanged={model.put}
            />
          ))}
        </ul>
      )}
    </>
  );
}

const STATUS_ACTION: Record<TaskStatus, MessageKey> = {
  TASK_STATUS_UNSPECIFIED: 'task.TASK_STATUS_UNSPECIFIED',
  TASK_STATUS_OPEN: 'task.action.open',
  TASK_STATUS_IN_PROGRESS: 'task.action.start',
  TASK_STATUS_DONE: 'task.action.done',
  TASK_STATUS_CANCELLED: 'task.action.cancel',
};

export function TaskCard(props: { task: Task; runner: boolean; worker: boolean; showMeeting?: boolean; onChanged: (t: Task) => void }) {
  const { task, runner, worker, onChanged } = props;
  const { t, lang } = useI18n();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<{ target: string; error: unknown } | null>(null);
  const [notice, setNotice] = useState('');
  const [form, setForm] = useState<'none' | 'note' | 'deadline' | 'cancel'>('none');
  const [noteText, setNoteText] = useState('');
  const [percent, setPercent] = useState('');
  const [deadline, setDeadline] = useState('');
  const path = `/api/v1/tasks/${seg(task.id)}`;
  const done = percentDone(task);
  const last = task.notes.length === 0 ? 0 : task.notes[task.notes.length - 1].percentDone;

  async function run(target: string, fn: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setFailure(null);
    setNotice('');
    try {
      const next = taskFrom(await fn());
      if (next.id !== '') onChanged(next);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.stale) {
        // Someone changed the task first: show it as it is now, and say so.
        try {
          onChanged(taskFrom(await request('GET', path)));
        } catch (reloadErr) {
          setFailure({ target, error: reloadErr });
          return false;
        }
        setNotice(t('task.stale'));
      } else {
        setFailure({ target, error: err });
      }
      return false;
    } finally {
      setBusy(false);
    }
  }

  const patch = (target: string, body: Record<string, unknown>) =>
    run(target, () => request('PATCH', path, { expectedVersion: String(task.version), ...body }));

  const moves = worker ? nextStatuses(task.status, runner).filter((s) => s !== 'TASK_STATUS_CANCELLED') : [];
  const mayCancel = runner && nextStatuses(task.status, true).includes('TASK_STATUS_CANCELLED');
  const errorAt = (target: string) => (failure && failure.target === target ? failure.error : null);

  return (
    <li
      class={`task ${task.overdue ? 'task--overdue' : ''} ${isFinal(task.status) ? 'task--final' : ''}`}
      data-task-id={task.id}
      data-status={task.status}
      data-overdue={String(task.overdue)}
      data-version={task.version}
    >
      <div class="task-head">
        <span class="task-title" data-testid="task-title">
          {task.title}
        </span>
        <span class="task-badges">
          <TaskStatusBadge status={task.status} />
          {task.overdue && <OverdueMark />}
        </span>
      </div>
      <dl class="task-facts">
        <div>
          <dt>{t('task.assignee')}</dt>
          <dd data-testid="task-assignee">{assigneeText(task)}</dd>
        </div>
        <div>
          <dt>{t('task.deadline')}</dt>
          <dd data-testid="task-deadline" data-deadline={task.deadline}>
            {deadlineText(lang, task.deadline)}
          </dd>
        </div>
        <div>
          <dt>{t('task.progress')}</dt>
          <dd>
            <span class="progress" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={done} aria-label={t('task.progress')}>
              <span class="progress-fill" style={{ width: `${done}%` }} />
            </span>
            <span data-testid="task-percent" data-percent={done}>
              {t('task.percent', { n: done })}
            </span>
          </dd>
        </div>
      </dl>
      {task.description && <p class="task-description">{task.description}</p>}
      {props.showMeeting && task.meetingId && (
        <p class="task-from">
          <Link href={`/meetings/${encodeURIComponent(task.meetingId)}`} class="text-link" data-testid="task-meeting-link">
            {t('task.fromMeeting')}
          </Link>
        </p>
      )}
      {(moves.length > 0 || mayCancel || (worker && !isFinal(task.status))) && (
        <div class="actions task-actions">
          {moves.map((s) => (
            <button
              type="button"
              key={s}
              class={`button ${s === 'TASK_STATUS_IN_PROGRESS' || (s === 'TASK_STATUS_DONE' && task.status === 'TASK_STATUS_IN_PROGRESS') ? 'button--primary' : ''}`}
              data-action={`status-${s}`}
              disabled={busy}
              onClick={() => void patch('status', { status: s })}
            >
              {t(STATUS_ACTION[s])}
            </button>
          ))}
          {worker && !isFinal(task.status) && (
            <button
              type="button"
              class="button"
              data-action="note"
              aria-expanded={form === 'note'}
              disabled={busy}
              onClick={() => {
                setForm(form === 'note' ? 'none' : 'note');
                setPercent(String(last));
              }}
            >
              {t('task.addNote')}
            </button>
          )}
          {mayCancel && (
            <button
              type="button"
              class="button"
              data-action="deadline"
              aria-expanded={form === 'deadline'}
              disabled={busy}
              onClick={() => {
                setForm(form === 'deadline' ? 'none' : 'deadline');
                setDeadline(task.deadline);
              }}
            >
              {t('task.changeDeadline')}
            </button>
          )}
          {mayCancel && (
            <button type="button" class="button" data-action="cancel" aria-expanded={form === 'cancel'} disabled={busy} onClick={() => setForm('cancel')}>
              {t('task.action.cancel')}
            </button>
          )}
        </div>
      )}
      <ProblemBox error={errorAt('status')} testid="task-problem" />
      <Notice text={notice} testid="task-notice" />
      {form === 'cancel' && (
        <div class="inline-form" data-testid="task-cancel-confirm">
          <p class="confirm-question">{t('task.cancelQuestion', { title: task.title })}</p>
          <div class="actions">
            <button
              type="button"
              class="button button--danger"
              data-action="cancel-confirm"
              disabled={busy}
              onClick={() => void patch('status', { status: 'TASK_STATUS_CANCELLED' }).then((ok) => ok && setForm('none'))}
            >
              {t('task.cancelConfirm')}
            </button>
            <button type="button" class="button" onClick={() => setForm('none')}>
              {t('common.cancel')}
            </button>
          </div>
        </div>
      )}
      {form === 'deadline' && (
        <form
          class="form inline-form"
          data-testid="task-deadline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void patch('deadline', { deadline }).then((ok) => ok && setForm('none'));
          }}
        >
          <label class="field">
            <span class="field-label">{t('task.newDeadline')}</span>
            <input type="date" name="deadline" min={todayInVietnam()} value={deadline} onInput={(e) => setDeadline(e.currentTarget.value)} />
          </label>
          <ProblemBox error={errorAt('deadline')} />
          <div class="actions">
            <button type="submit" class="button button--primary" disabled={busy}>
              {t('common.save')}
            </button>
            <button type="button" class="button" onClick={() => setForm('none')}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      )}
      {form === 'note' && (
        <form
          class="form inline-form"
          data-testid="task-note-form"
          onSubmit={(e) => {
            e.preventDefault();
            const n = Number(percent);
            void run('note', () =>
              request('POST', `${path}/notes`, {
                text: noteText.trim(),
                // Not a whole number: sent rounded; out of range: sent as is, for the server to name.
                percentDone: percent.trim() === '' ? last : Number.isFinite(n) ? Math.round(n) : -1,
              }),
            ).then((ok) => {
              if (!ok) return;
              setNoteText('');
              setForm('none');
            });
          }}
        >
          <label class="field">
            <span class="field-label">{t('task.noteText')}</span>
            <textarea name="text" rows={3} maxLength={2000} value={noteText} onInput={(e) => setNoteText(e.currentTarget.value)} />
          </label>
          <label class="field field--narrow">
            <span class="field-label">{t('task.notePercent', { last })}</span>
            <input
              type="number"
              name="percent_done"
              inputMode="numeric"
              min={last}
              max={100}
              step={5}
              value={percent}
              onInput={(e) => setPercent(e.currentTarget.value)}
            />
          </label>
          <ProblemBox error={errorAt('note')} testid="task-note-problem" />
          <div class="actions">
            <button type="submit" class="button button--primary" disabled={busy}>
              {t('task.saveNote')}
            </button>
            <button type="button" class="button" onClick={() => setForm('none')}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      )}
      {task.notes.length > 0 && (
        <details class="task-notes" open={task.notes.length <= 3}>
          <summary>{t('task.notes', { n: task.notes.length })}</summary>
          <ol class="notes" data-testid="task-notes">
            {[...task.notes].reverse().map((n, i) => (
              <li key={i} class="note" data-percent={n.percentDone}>
                <span class="note-meta">
                  <strong>{n.authorName}</strong>
                  {n.createTime && ` · ${formatShortDate(lang, n.createTime)} ${formatTime(lang, n.createTime)}`}
                  {` · ${t('task.percent', { n: n.percentDone })}`}
                </span>
                <span class="note-text">{n.text}</span>
              </li>
            ))}
          </ol>
        </details>
      )}
    </li>
  );
}

export interface OrgChoice {
  id: string;
  name: string;
  depth: number;
}

// useOrgChoices: the organisations a task from this meeting may be given to — the
// meeting's organisation and those below it (the tasks service refuses others), as far
// as the caller may see them, indented by depth.
function useOrgChoices(orgId: string): { orgs: OrgChoice[] | null; error: unknown } {
  const [orgs, setOrgs] = useState<OrgChoice[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    request('GET', '/api/v1/organizations')
      .then((res) => {
        if (!live) return;
        const all = arr(obj(res).organizations).map((o) => ({ id: str(obj(o).id), parentId: str(obj(o).parentId), name: str(obj(o).name) }));
        const children = new Map<string, typeof all>();
        for (const o of all) children.set(o.parentId, [...(children.get(o.parentId) ?? []), o]);
        const out: OrgChoice[] = [];
        const root = all.find((o) => o.id === orgId);
        const walk = (id: string, depth: number) => {
          if (depth > 32) return; // a cycle in bad data must not hang the page
          for (const c of (children.get(id) ?? []).sort((a, b) => a.name.localeCompare(b.name, 'vi'))) {
            out.push({ id: c.id, name: c.name, depth });
            walk(c.id, depth + 1);
          }
        };
        if (root) out.push({ id: root.id, name: root.name, depth: 0 });
        walk(orgId, root ? 1 : 0);
        setOrgs(out);
      })
      .catch((err: unknown) => {
        if (!live) return;
        setError(err);
        setOrgs([]);
      });
    return () => {
      live = false;
    };
  }, [orgId]);
  return { orgs, error };
}

/**
 * The form that turns an item's conclusion into a task: the title is prefilled from the
 * conclusion (the first, or the one picked when there are several), the assignee is one
 * of the meeting's participants or an organisation, and the deadline a day in Vietnam.
 */
export function CreateTaskForm(props: {
  meeting: Meeting;
  agendaItemId: string;
  conclusions: string;
  onCreated: (t: Task) => void;
  onCancel: () => void;
}) {
  const { meeting } = props;
  const { t } = useI18n();
  const lines = conclusionLines(props.conclusions);
  const [from, setFrom] = useState(0);
  const [title, setTitle] = useState(titleFromConclusion(lines[0] ?? ''));
  const [description, setDescription] = useState('');
  const [kind, setKind] = useState<'person' | 'org'>('person');
  const [personId, setPersonId] = useState('');
  const [orgId, setOrgId] = useState('');
  const [deadline, setDeadline] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const { orgs, error: orgError } = useOrgChoices(meeting.organizationId);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await request('POST', '/api/v1/tasks', {
        meetingId: meeting.id,
        agendaItemId: props.agendaItemId,
        title: title.trim(),
        description: description.trim(),
        assigneePersonId: kind === 'person' ? personId : '',
        assigneeOrganizationId: kind === 'org' ? orgId : '',
        deadline,
      });
      props.onCreated(taskFrom(res));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="form inline-form task-form" data-testid="task-form" onSubmit={(e) => void submit(e)}>
      <h3 class="subsection-title">{t('task.create')}</h3>
      {lines.length > 1 && (
        <label class="field">
          <span class="field-label">{t('task.fromConclusion')}</span>
          <select
            name="conclusion"
            value={String(from)}
            onChange={(e) => {
              const i = Number(e.currentTarget.value);
              setFrom(i);
              setTitle(titleFromConclusion(lines[i] ?? ''));
            }}
          >
            {lines.map((l, i) => (
              <option key={i} value={String(i)}>
                {l.length > 120 ? `${l.slice(0, 119)}…` : l}
              </option>
            ))}
          </select>
        </label>
      )}
      <label class="field">
        <span class="field-label">{t('task.title')}</span>
        <textarea name="title" rows={2} maxLength={MAX_TITLE} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <label class="field">
        <span class="field-label">{t('task.description')}</span>
        <textarea name="description" rows={2} maxLength={5000} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <fieldset class="field fieldset">
        <legend class="field-label">{t('task.assignee')}</legend>
        <div class="choices" role="group" aria-label={t('task.assigneeKind')}>
          <button type="button" class="choice" data-kind="person" aria-pressed={kind === 'person'} onClick={() => setKind('person')}>
            {t('task.assigneePerson')}
          </button>
          <button type="button" class="choice" data-kind="org" aria-pressed={kind === 'org'} onClick={() => setKind('org')}>
            {t('task.assigneeOrg')}
          </button>
        </div>
        {kind === 'person' ? (
          <label class="field">
            <span class="visually-hidden">{t('task.assigneePerson')}</span>
            <select name="assignee_person_id" value={personId} onChange={(e) => setPersonId(e.currentTarget.value)}>
              <option value="">{t('task.pickPerson')}</option>
              {meeting.participants.map((p) => (
                <option key={p.personId} value={p.personId}>
                  {p.fullName}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label class="field">
            <span class="visually-hidden">{t('task.assigneeOrg')}</span>
            <select name="assignee_organization_id" value={orgId} onChange={(e) => setOrgId(e.currentTarget.value)} disabled={orgs === null}>
              <option value="">{orgs === null ? t('common.loading') : t('task.pickOrg')}</option>
              {(orgs ?? []).map((o) => (
                <option key={o.id} value={o.id}>
                  {`${'\u00a0\u00a0'.repeat(o.depth)}${o.name}`}
                </option>
              ))}
            </select>
            <ProblemBox error={orgError} />
          </label>
        )}
      </fieldset>
      <label class="field field--narrow">
        <span class="field-label">{t('task.deadline')}</span>
        <input type="date" name="deadline" min={todayInVietnam()} value={deadline} onInput={(e) => setDeadline(e.currentTarget.value)} />
      </label>
      <ProblemBox error={error} testid="task-form-problem" />
      <div class="actions">
        <button type="submit" class="button button--primary" data-action="create-task" disabled={busy}>
          {t('task.createSubmit')}
        </button>
        <button type="button" class="button" onClick={props.onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}
