// The meeting model as the app uses it, read from the gateway's protojson (camelCase
// names, enums as their names, int64 as strings, timestamps as RFC 3339). Every field is
// read defensively: a field the server leaves out takes its proto default, so a newer or
// older server degrades a page instead of crashing it.

export type MeetingState =
  | 'MEETING_STATE_UNSPECIFIED'
  | 'MEETING_STATE_DRAFT'
  | 'MEETING_STATE_SCHEDULED'
  | 'MEETING_STATE_IN_PROGRESS'
  | 'MEETING_STATE_ENDED'
  | 'MEETING_STATE_CLOSED'
  | 'MEETING_STATE_CANCELLED';

export type ParticipantRole =
  | 'PARTICIPANT_ROLE_UNSPECIFIED'
  | 'PARTICIPANT_ROLE_CHAIR'
  | 'PARTICIPANT_ROLE_MINUTE_TAKER'
  | 'PARTICIPANT_ROLE_MEMBER'
  | 'PARTICIPANT_ROLE_GUEST'
  | 'PARTICIPANT_ROLE_OBSERVER';

export type Rsvp = 'RSVP_UNSPECIFIED' | 'RSVP_IN_PERSON' | 'RSVP_ONLINE' | 'RSVP_ABSENT';

export type Attendance =
  | 'ATTENDANCE_UNSPECIFIED'
  | 'ATTENDANCE_NOT_PRESENT'
  | 'ATTENDANCE_PRESENT'
  | 'ATTENDANCE_PRESENT_ONLINE'
  | 'ATTENDANCE_ABSENT_EXCUSED';

export type Standing = 'STANDING_UNSPECIFIED' | 'STANDING_OFFICIAL' | 'STANDING_PROBATIONARY';

export interface AgendaItem {
  id: string;
  position: number;
  title: string;
  presenterId: string;
  presenterName: string;
  durationMinutes: number;
  documentIds: string[];
}

export interface Participant {
  personId: string;
  fullName: string;
  role: ParticipantRole;
  votingRight: boolean;
  standing: Standing;
  excused: boolean;
  rsvp: Rsvp;
  absenceReason: string;
  attendance: Attendance;
  checkInTime: Date | null;
  /** Who may cast this member's ballot while they are absent (SetDelegate); '' when none. */
  delegatePersonId: string;
}

export type SpeakerState =
  | 'SPEAKER_STATE_UNSPECIFIED'
  | 'SPEAKER_STATE_WAITING'
  | 'SPEAKER_STATE_SPEAKING'
  | 'SPEAKER_STATE_DONE'
  | 'SPEAKER_STATE_WITHDRAWN';

export interface Speaker {
  id: string;
  personId: string;
  fullName: string;
  agendaItemId: string;
  note: string;
  state: SpeakerState;
  /** 1-based place in the queue while waiting; 0 otherwise. */
  position: number;
  requestTime: Date | null;
}

export interface Quorum {
  base: number;
  present: number;
  required: number;
  reached: boolean;
  rule: string;
}

export interface Meeting {
  id: string;
  organizationId: string;
  title: string;
  kind: string;
  place: string;
  online: boolean;
  startsAt: Date | null;
  endsAt: Date | null;
  state: MeetingState;
  /** int64 on the wire (a string); versions stay far below 2^53. */
  version: number;
  body: string;
  agenda: AgendaItem[];
  currentAgendaItemId: string;
  participants: Participant[];
  quorum: Quorum | null;
  stateReason: string;
  myRole: ParticipantRole;
  /** The speakers list as the server orders it: speaking, waiting by position, then the rest. */
  speakers: Speaker[];
  /** The organisation lets members appoint a delegate for votes (off by default). */
  allowVoteDelegation: boolean;
}

export interface Principal {
  personId: string;
  fullName: string;
  username: string;
  roles: string[];
  organizationIds: string[];
  adminOrganizationIds: string[];
}

export type Obj = Record<string, unknown>;

// Defensive readers of protojson values, shared by the minutes and tasks models.
export const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
export const bool = (v: unknown): boolean => v === true;
export const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0;
  return Number.isFinite(n) ? n : 0;
};
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const time = (v: unknown): Date | null => {
  if (typeof v !== 'string' || v === '') return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
};
// Enum names from the server; an unknown one (added later) is kept as sent and shown raw.
export function enumOf<T extends string>(v: unknown, unspecified: T): T {
  return (typeof v === 'string' && v !== '' ? v : unspecified) as T;
}

export function parseMeeting(v: unknown): Meeting {
  const m = obj(v);
  const q = m.quorum === undefined || m.quorum === null ? null : obj(m.quorum);
  return {
    id: str(m.id),
    organizationId: str(m.organizationId),
    title: str(m.title),
    kind: enumOf(m.kind, 'MEETING_KIND_UNSPECIFIED'),
    place: str(m.place),
    online: bool(m.online),
    startsAt: time(m.startsAt),
    endsAt: time(m.endsAt),
    state: enumOf<MeetingState>(m.state, 'MEETING_STATE_UNSPECIFIED'),
    version: num(m.version),
    body: enumOf(m.body, 'BODY_KIND_UNSPECIFIED'),
    agenda: arr(m.agenda)
      .map(parseAgendaItem)
      .sort((a, b) => a.position - b.position),
    currentAgendaItemId: str(m.currentAgendaItemId),
    participants: arr(m.participants).map(parseParticipant),
    quorum: q && {
      base: num(q.base),
      present: num(q.present),
      required: num(q.required),
      reached: bool(q.reached),
      rule: str(q.rule),
    },
    stateReason: str(m.stateReason),
    myRole: enumOf<ParticipantRole>(m.myRole, 'PARTICIPANT_ROLE_UNSPECIFIED'),
    speakers: arr(m.speakers).map(parseSpeaker),
    allowVoteDelegation: bool(m.allowVoteDelegation),
  };
}

function parseSpeaker(v: unknown): Speaker {
  const s = obj(v);
  return {
    id: str(s.id),
    personId: str(s.personId),
    fullName: str(s.fullName),
    agendaItemId: str(s.agendaItemId),
    note: str(s.note),
    state: enumOf<SpeakerState>(s.state, 'SPEAKER_STATE_UNSPECIFIED'),
    position: num(s.position),
    requestTime: time(s.requestTime),
  };
}

/** The person's open (waiting or speaking) request to speak, if any. */
export function openSpeakRequest(m: Meeting, personId: string | undefined): Speaker | null {
  if (!personId) return null;
  return (
    m.speakers.find((s) => s.personId === personId && (s.state === 'SPEAKER_STATE_WAITING' || s.state === 'SPEAKER_STATE_SPEAKING')) ?? null
  );
}

/** The waiting requests in queue order. */
export function waitingSpeakers(m: Meeting): Speaker[] {
  return m.speakers.filter((s) => s.state === 'SPEAKER_STATE_WAITING').sort((a, b) => a.position - b.position);
}

function parseAgendaItem(v: unknown): AgendaItem {
  const a = obj(v);
  return {
    id: str(a.id),
    position: num(a.position),
    title: str(a.title),
    presenterId: str(a.presenterId),
    presenterName: str(a.presenterName),
    durationMinutes: num(a.durationMinutes),
    documentIds: arr(a.documentIds).map(str),
  };
}

function parseParticipant(v: unknown): Participant {
  const p = obj(v);
  return {
    personId: str(p.personId),
    fullName: str(p.fullName),
    role: enumOf<ParticipantRole>(p.role, 'PARTICIPANT_ROLE_UNSPECIFIED'),
    votingRight: bool(p.votingRight),
    standing: enumOf<Standing>(p.standing, 'STANDING_UNSPECIFIED'),
    excused: bool(p.excused),
    rsvp: enumOf<Rsvp>(p.rsvp, 'RSVP_UNSPECIFIED'),
    absenceReason: str(p.absenceReason),
    attendance: enumOf<Attendance>(p.attendance, 'ATTENDANCE_UNSPECIFIED'),
    checkInTime: time(p.checkInTime),
    delegatePersonId: str(p.delegatePersonId),
  };
}

export function parsePrincipal(v: unknown): Principal | null {
  const p = obj(v);
  if (str(p.personId) === '') return null;
  return {
    personId: str(p.personId),
    fullName: str(p.fullName),
    username: str(p.username),
    roles: arr(p.roles).map(str),
    organizationIds: arr(p.organizationIds).map(str),
    adminOrganizationIds: arr(p.adminOrganizationIds).map(str),
  };
}

/** The meeting inside a response such as {"meeting": {...}}. */
export function meetingFrom(res: unknown): Meeting {
  return parseMeeting(obj(res).meeting);
}

export function meetingsFrom(res: unknown): { meetings: Meeting[]; nextPageToken: string } {
  const r = obj(res);
  return { meetings: arr(r.meetings).map(parseMeeting), nextPageToken: str(r.nextPageToken) };
}

export interface CheckInToken {
  token: string;
  expireTime: Date | null;
  checkInPath: string;
}

export function parseCheckInToken(v: unknown): CheckInToken {
  const r = obj(v);
  return { token: str(r.token), expireTime: time(r.expireTime), checkInPath: str(r.checkInPath) };
}

// Minute-taker powers come from the caller's role in the meeting. An organisation admin who
// is not a participant also has them on the server; the meeting's my_role says which role
// the server grants this caller, so the app shows exactly the controls that will work.
export function canRun(m: Meeting): boolean {
  return m.myRole === 'PARTICIPANT_ROLE_CHAIR' || m.myRole === 'PARTICIPANT_ROLE_MINUTE_TAKER';
}

export function currentItem(m: Meeting): AgendaItem | null {
  return m.agenda.find((a) => a.id === m.currentAgendaItemId) ?? null;
}

/** The item after the current one (the first item when none is current yet). */
export function nextItem(m: Meeting): AgendaItem | null {
  if (m.agenda.length === 0) return null;
  const i = m.agenda.findIndex((a) => a.id === m.currentAgendaItemId);
  return i === -1 ? m.agenda[0] : (m.agenda[i + 1] ?? null);
}

export function me(m: Meeting, personId: string | undefined): Participant | null {
  if (!personId) return null;
  return m.participants.find((p) => p.personId === personId) ?? null;
}

export function isPresent(a: Attendance): boolean {
  return a === 'ATTENDANCE_PRESENT' || a === 'ATTENDANCE_PRESENT_ONLINE';
}

// What each state allows, as the meetings service rules it (services/meetings/domain); the
// app offers only what will work, and the server still decides.

/** The agenda and the participants can be edited. */
export function isOpen(s: MeetingState): boolean {
  return s === 'MEETING_STATE_DRAFT' || s === 'MEETING_STATE_SCHEDULED' || s === 'MEETING_STATE_IN_PROGRESS';
}

/** Invitations are out and can be answered; check-in codes can be issued and used. */
export function isInvited(s: MeetingState): boolean {
  return s === 'MEETING_STATE_SCHEDULED' || s === 'MEETING_STATE_IN_PROGRESS';
}

/** Attendance can be marked (and corrected after the end, for the minutes). */
export function canMarkAttendance(s: MeetingState): boolean {
  return isInvited(s) || s === 'MEETING_STATE_ENDED';
}

// Live events that carry the whole meeting after the change (events.proto).
const MEETING_EVENTS = new Set([
  'ecabinet.meetings.v1.MeetingCreated',
  'ecabinet.meetings.v1.MeetingUpdated',
  'ecabinet.meetings.v1.MeetingStateChanged',
  'ecabinet.meetings.v1.AgendaChanged',
  'ecabinet.meetings.v1.AgendaAdvanced',
  'ecabinet.meetings.v1.ParticipantsChanged',
  'ecabinet.meetings.v1.AttendanceChanged',
  'ecabinet.meetings.v1.SpeakersChanged',
]);

/** The meeting a live event carries, or null when the event is not a meeting event. */
export function meetingFromEvent(eventType: string, data: unknown): Meeting | null {
  if (!MEETING_EVENTS.has(eventType)) return null;
  const d = obj(data);
  if (d.meeting === undefined || d.meeting === null) return null;
  const m = parseMeeting(d.meeting);
  return m.id === '' ? null : m;
}

/**
 * Merges a meeting received from a live event or a response into the one shown: an older
 * version (a replayed event after a fresher REST answer) is ignored. The caller's own role
 * is per caller: an event is the same for everyone and must not change it (it may carry
 * nothing there, or the actor's role), so only a response to this caller's own request
 * may set it.
 */
export function mergeMeeting(shown: Meeting | null, incoming: Meeting, from: 'event' | 'response'): Meeting | null {
  if (shown === null) return from === 'event' ? null : incoming;
  if (incoming.id !== shown.id) return shown;
  if (incoming.version < shown.version) return shown;
  if (from === 'event' || incoming.myRole === 'PARTICIPANT_ROLE_UNSPECIFIED') {
    return { ...incoming, myRole: shown.myRole };
  }
  return incoming;
}
