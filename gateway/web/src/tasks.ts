// Tasks (nhiệm vụ) as the app uses them, read from the gateway's protojson, and the rules
// the task views follow (services/meetings/tasks decides; the app offers only what will work).
import { TIME_ZONE } from './format';
import { arr, bool, enumOf, num, obj, str, time, type Principal } from './model';

export type TaskStatus =
  | 'TASK_STATUS_UNSPECIFIED'
  | 'TASK_STATUS_OPEN'
  | 'TASK_STATUS_IN_PROGRESS'
  | 'TASK_STATUS_DONE'
  | 'TASK_STATUS_CANCELLED';

export interface ProgressNote {
  authorId: string;
  authorName: string;
  text: string;
  percentDone: number;
  createTime: Date | null;
}

export interface Task {
  id: string;
  organizationId: string;
  meetingId: string;
  agendaItemId: string;
  title: string;
  description: string;
  assigneePersonId: string;
  assigneePersonName: string;
  assigneeOrganizationId: string;
  assigneeOrganizationName: string;
  /** YYYY-MM-DD, a day in Vietnam. */
  deadline: string;
  status: TaskStatus;
  overdue: boolean;
  notes: ProgressNote[];
  version: number;
  createTime: Date | null;
}

export function parseTask(v: unknown): Task {
  const t = obj(v);
  return {
    id: str(t.id),
    organizationId: str(t.organizationId),
    meetingId: str(t.meetingId),
    agendaItemId: str(t.agendaItemId),
    title: str(t.title),
    description: str(t.description),
    assigneePersonId: str(t.assigneePersonId),
    assigneePersonName: str(t.assigneePersonName),
    assigneeOrganizationId: str(t.assigneeOrganizationId),
    assigneeOrganizationName: str(t.assigneeOrganizationName),
    deadline: str(t.deadline),
    status: enumOf<TaskStatus>(t.status, 'TASK_STATUS_UNSPECIFIED'),
    overdue: bool(t.overdue),
    notes: arr(t.notes).map((x) => {
      const n = obj(x);
      return {
        authorId: str(n.authorId),
        authorName: str(n.authorName),
        text: str(n.text),
        percentDone: num(n.percentDone),
        createTime: time(n.createTime),
      };
    }),
    version: num(t.version),
    createTime: time(t.createTime),
  };
}

export function taskFrom(res: unknown): Task {
  return parseTask(obj(res).task);
}

export function tasksFrom(res: unknown): Task[] {
  return arr(obj(res).tasks).map(parseTask);
}

const TASK_EVENTS = new Set([
  'ecabinet.meetings.v1.TaskCreated',
  'ecabinet.meetings.v1.TaskUpdated',
  'ecabinet.meetings.v1.TaskOverdue',
]);

/** The task a live event carries, or null when the event is not a task event. */
export function taskFromEvent(eventType: string, data: unknown): Task | null {
  if (!TASK_EVENTS.has(eventType)) return null;
  const d = obj(data);
  if (d.task === undefined || d.task === null) return null;
  const t = parseTask(d.task);
  return t.id === '' ? null : t;
}

/** Replaces the task in list by a newer version of it (an older one is ignored). */
export function replaceTask(list: Task[], t: Task): Task[] {
  let changed = false;
  const next = list.map((x) => {
    if (x.id !== t.id || t.version < x.version) return x;
    changed = true;
    return t;
  });
  return changed ? next : list;
}

export function isFinal(s: TaskStatus): boolean {
  return s === 'TASK_STATUS_DONE' || s === 'TASK_STATUS_CANCELLED';
}

/** The furthest a task has got: the latest note's percentage (notes only go forward). */
export function percentDone(t: Task): number {
  if (t.status === 'TASK_STATUS_DONE') return 100;
  return t.notes.length === 0 ? 0 : t.notes[t.notes.length - 1].percentDone;
}

/** Whether person p is on the assignee side: the person, or a member or admin of the organisation. */
export function isAssignee(t: Task, p: Principal | null): boolean {
  if (!p) return false;
  if (t.assigneePersonId !== '' && t.assigneePersonId === p.personId) return true;
  const org = t.assigneeOrganizationId;
  return org !== '' && (p.organizationIds.includes(org) || p.adminOrganizationIds.includes(org));
}

/**
 * The statuses a task may move to (services/meetings/tasks): open → in progress → done,
 * open → done; cancelling is for the meeting's chair or minute-taker (`runner`).
 */
export function nextStatuses(s: TaskStatus, runner: boolean): TaskStatus[] {
  const out: TaskStatus[] = [];
  if (s === 'TASK_STATUS_OPEN') out.push('TASK_STATUS_IN_PROGRESS', 'TASK_STATUS_DONE');
  if (s === 'TASK_STATUS_IN_PROGRESS') out.push('TASK_STATUS_DONE');
  if (runner && (s === 'TASK_STATUS_OPEN' || s === 'TASK_STATUS_IN_PROGRESS')) out.push('TASK_STATUS_CANCELLED');
  return out;
}

/** Today in Vietnam as YYYY-MM-DD (deadlines are days there, whatever the tablet's zone). */
export function todayInVietnam(now: Date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** Noon of a YYYY-MM-DD day in Vietnam, for formatting it as a date; null if malformed. */
export function deadlineDate(deadline: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(deadline)) return null;
  const d = new Date(`${deadline}T12:00:00+07:00`);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Open tasks first, overdue ones first among them, then by deadline. */
export function sortTasks(list: Task[]): Task[] {
  const rank = (t: Task) => (isFinal(t.status) ? 2 : t.overdue ? 0 : 1);
  return [...list].sort((a, b) => rank(a) - rank(b) || a.deadline.localeCompare(b.deadline) || a.title.localeCompare(b.title));
}

/**
 * A task title from a conclusion: its first line, cut at a word near the server's limit.
 * Conclusions often run on; the title is what lists show, the rest goes into the description.
 */
export const MAX_TITLE = 500;
export function titleFromConclusion(line: string): string {
  const first = line.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  // A list marker ("- ", "• ", "2. ", "a) ") is not part of the task's name.
  const clean = first.replace(/^(?:[-–•*+]|\d{1,2}[.)]|[a-zđ][.)])\s+/u, '').trim() || first;
  if (clean.length <= MAX_TITLE) return clean;
  const cut = clean.slice(0, MAX_TITLE - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > MAX_TITLE / 2 ? cut.slice(0, space) : cut}…`;
}

/** The separate conclusions of an item: one per non-empty line. */
export function conclusionLines(conclusions: string): string[] {
  return conclusions
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
