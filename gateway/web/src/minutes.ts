// The minutes (biên bản) as the app uses them, read from the gateway's protojson, and the
// rules of the minute-taker's editor: what a text the user has typed is based on, when a
// newer text from the server is a conflict, and how a reload merges into the editor
// without ever replacing what the user typed.
import { arr, enumOf, num, obj, str, time, type MeetingState, type ParticipantRole } from './model';

export type MinutesState =
  | 'MINUTES_STATE_UNSPECIFIED'
  | 'MINUTES_STATE_DRAFT'
  | 'MINUTES_STATE_SUBMITTED'
  | 'MINUTES_STATE_APPROVED';

export interface AbsentPerson {
  fullName: string;
  reason: string;
}

export interface MinutesHeader {
  organizationName: string;
  meetingTitle: string;
  place: string;
  startsAt: Date | null;
  endsAt: Date | null;
  chairName: string;
  minuteTakerName: string;
  present: string[];
  presentOnline: string[];
  absent: AbsentPerson[];
  membersTotal: number;
}

/** The three texts of one agenda item's minutes. */
export interface ItemText {
  discussion: string;
  opinions: string;
  conclusions: string;
}

export const TEXT_FIELDS: readonly (keyof ItemText)[] = ['discussion', 'opinions', 'conclusions'];

export interface VoteResult {
  pollId: string;
  title: string;
  summary: string;
}

export interface ItemMinutes extends ItemText {
  agendaItemId: string;
  agendaItemTitle: string;
  position: number;
  votes: VoteResult[];
}

export interface Minutes {
  meetingId: string;
  revision: number;
  state: MinutesState;
  /** int64 on the wire; the version the next change must be based on. */
  version: number;
  header: MinutesHeader;
  items: ItemMinutes[];
  amendmentReason: string;
  returnReason: string;
  approvedByName: string;
  approveTime: Date | null;
  contentHash: string;
}

export function parseMinutes(v: unknown): Minutes {
  const m = obj(v);
  const h = obj(m.header);
  return {
    meetingId: str(m.meetingId),
    revision: num(m.revision),
    state: enumOf<MinutesState>(m.state, 'MINUTES_STATE_UNSPECIFIED'),
    version: num(m.version),
    header: {
      organizationName: str(h.organizationName),
      meetingTitle: str(h.meetingTitle),
      place: str(h.place),
      startsAt: time(h.startsAt),
      endsAt: time(h.endsAt),
      chairName: str(h.chairName),
      minuteTakerName: str(h.minuteTakerName),
      present: arr(h.present).map(str),
      presentOnline: arr(h.presentOnline).map(str),
      absent: arr(h.absent).map((a) => ({ fullName: str(obj(a).fullName), reason: str(obj(a).reason) })),
      membersTotal: num(h.membersTotal),
    },
    items: arr(m.items)
      .map((x) => {
        const i = obj(x);
        return {
          agendaItemId: str(i.agendaItemId),
          agendaItemTitle: str(i.agendaItemTitle),
          position: num(i.position),
          discussion: str(i.discussion),
          opinions: str(i.opinions),
          conclusions: str(i.conclusions),
          votes: arr(i.votes).map((r) => ({ pollId: str(obj(r).pollId), title: str(obj(r).title), summary: str(obj(r).summary) })),
        };
      })
      .sort((a, b) => a.position - b.position),
    amendmentReason: str(m.amendmentReason),
    returnReason: str(m.returnReason),
    approvedByName: str(m.approvedByName),
    approveTime: time(m.approveTime),
    contentHash: str(m.contentHash),
  };
}

/** The minutes inside a response such as {"minutes": {...}}. */
export function minutesFrom(res: unknown): Minutes {
  return parseMinutes(obj(res).minutes);
}

export function revisionsFrom(res: unknown): Minutes[] {
  return arr(obj(res).revisions).map(parseMinutes);
}

/** Whether a live signal says something the shown minutes do not know yet. */
export function signalIsNews(shown: Minutes | null, sig: MinutesSignal): boolean {
  if (!shown || sig.approved) return true;
  if (sig.revision !== shown.revision) return sig.revision > shown.revision;
  return sig.version > shown.version || (sig.version === shown.version && sig.state !== 'MINUTES_STATE_UNSPECIFIED' && sig.state !== shown.state);
}

/** Whether incoming is at least as new as shown: a later revision, or the same one at a version not older. */
export function isNewer(shown: { revision: number; version: number } | null, incoming: { revision: number; version: number }): boolean {
  if (!shown) return true;
  if (incoming.revision !== shown.revision) return incoming.revision > shown.revision;
  return incoming.version >= shown.version;
}

// Live events about minutes: they carry the position of the minutes, not their text, so a
// page that sees a newer one loads the minutes again.
const MINUTES_EVENTS = new Set(['ecabinet.meetings.v1.MinutesChanged', 'ecabinet.meetings.v1.MinutesApproved']);

export interface MinutesSignal {
  meetingId: string;
  revision: number;
  /** 0 when the event does not say (MinutesApproved). */
  version: number;
  /** UNSPECIFIED when the event does not say (MinutesApproved). */
  state: MinutesState;
  approved: boolean;
}

export function minutesSignal(eventType: string, data: unknown): MinutesSignal | null {
  if (!MINUTES_EVENTS.has(eventType)) return null;
  const d = obj(data);
  const meetingId = str(d.meetingId);
  if (meetingId === '') return null;
  return {
    meetingId,
    revision: num(d.revision),
    version: num(d.version),
    state: enumOf<MinutesState>(d.state, 'MINUTES_STATE_UNSPECIFIED'),
    approved: eventType === 'ecabinet.meetings.v1.MinutesApproved',
  };
}

// The server trims the text, writes line ends as "\n" and composes it (NFC); texts are
// compared the same way, so a save that came back normalised is not taken for a change.
export function normalizeText(s: string): string {
  return s.replace(/\r\n/g, '\n').trim().normalize('NFC');
}

export function sameText(a: ItemText, b: ItemText): boolean {
  return TEXT_FIELDS.every((f) => normalizeText(a[f]) === normalizeText(b[f]));
}

export function textOf(i: ItemText): ItemText {
  return { discussion: i.discussion, opinions: i.opinions, conclusions: i.conclusions };
}

export const EMPTY_TEXT: ItemText = { discussion: '', opinions: '', conclusions: '' };

/**
 * One agenda item in the editor. `draft` is what the user sees and types; `base` is the
 * server's text the draft was started from; `server` is the latest text the server has.
 * The draft is unsaved when it differs from base, and in conflict when, meanwhile, the
 * server's text has moved away from base too (someone else saved this item).
 */
export interface ItemEdit {
  base: ItemText;
  draft: ItemText;
  server: ItemText;
}

export function isDirty(e: ItemEdit): boolean {
  return !sameText(e.draft, e.base);
}

export function inConflict(e: ItemEdit): boolean {
  return isDirty(e) && !sameText(e.server, e.base);
}

/**
 * Merges the server's text of an item into its edit, section by section (a three-way
 * merge against the base the draft started from):
 *  - a section the user has not touched takes the server's text;
 *  - a section only the user changed keeps the user's text;
 *  - a section both changed the same way is settled;
 *  - a section both changed differently keeps the user's text and its old base, which
 *    makes the item a conflict the user resolves (see inConflict).
 * The user's typed text is never replaced.
 */
export function mergeItem(edit: ItemEdit | undefined, server: ItemText): ItemEdit {
  const s = textOf(server);
  if (!edit || !isDirty(edit)) return { base: s, draft: s, server: s };
  const base = { ...edit.base };
  const draft = { ...edit.draft };
  for (const f of TEXT_FIELDS) {
    const b = normalizeText(base[f]);
    const d = normalizeText(draft[f]);
    const sv = normalizeText(s[f]);
    if (d === b) {
      draft[f] = s[f];
      base[f] = s[f];
    } else if (sv === b || sv === d) {
      base[f] = s[f];
    }
  }
  return { base, draft, server: s };
}

/** The sections the user and the server both changed, differently. */
export function conflictingFields(e: ItemEdit): (keyof ItemText)[] {
  if (!isDirty(e)) return [];
  return TEXT_FIELDS.filter((f) => normalizeText(e.server[f]) !== normalizeText(e.base[f]));
}

/**
 * The edit after the server accepted `sent` and answered with `saved` (its normalised
 * form): the saved text is the new base; whatever the user typed while the save was on
 * its way stays in the draft, unsaved.
 */
export function afterSave(edit: ItemEdit, sent: ItemText, saved: ItemText): ItemEdit {
  const s = textOf(saved);
  return { base: s, draft: sameText(edit.draft, sent) ? s : edit.draft, server: s };
}

// Who may do what, as the minutes service decides it (services/meetings/minutes): the
// minute-taker (or an organisation admin standing in, to whom the meeting's my_role says
// MINUTE_TAKER) writes, submits and amends; the chair alone returns and approves.
export function canWriteMinutes(role: ParticipantRole): boolean {
  return role === 'PARTICIPANT_ROLE_MINUTE_TAKER';
}

export function canDecideMinutes(role: ParticipantRole): boolean {
  return role === 'PARTICIPANT_ROLE_CHAIR';
}

/** Minutes exist once the meeting has started (and not for a cancelled one). */
export function hasMinutes(s: MeetingState): boolean {
  return s === 'MEETING_STATE_IN_PROGRESS' || s === 'MEETING_STATE_ENDED' || s === 'MEETING_STATE_CLOSED';
}

/** The draft of revision r may be written while the meeting is in progress or ended; amendments once it is closed. */
export function meetingAllowsWriting(s: MeetingState, revision: number): boolean {
  if (s === 'MEETING_STATE_IN_PROGRESS' || s === 'MEETING_STATE_ENDED') return true;
  return s === 'MEETING_STATE_CLOSED' && revision > 1;
}

/** The first revision is approved once the meeting has ended; an amendment once it is closed. */
export function meetingAllowsApproval(s: MeetingState, revision: number): boolean {
  return revision > 1 ? s === 'MEETING_STATE_CLOSED' : s === 'MEETING_STATE_ENDED';
}

/** The path of the minutes' PDF (a gateway route that answers application/pdf); the latest revision unless one is named. */
export function minutesPdfPath(meetingId: string, revision?: number): string {
  const path = `/api/v1/meetings/${encodeURIComponent(meetingId)}/minutes.pdf`;
  return revision ? `${path}?revision=${revision}` : path;
}
