// The voting model as the app uses it (proto/ecabinet/voting/v1), read defensively from
// protojson like the meeting model: a field the server leaves out takes its proto default.
// Also the two things a tablet must keep across a dropped connection or a reload: the
// idempotency key of a ballot not yet acknowledged, and the receipt once it is.
import { request, seg } from './api';
import { arr, bool, enumOf, num, obj, str, time } from './model';

export type PollKind =
  | 'POLL_KIND_UNSPECIFIED'
  | 'POLL_KIND_MOTION'
  | 'POLL_KIND_SINGLE_CHOICE'
  | 'POLL_KIND_MULTIPLE_CHOICE'
  | 'POLL_KIND_ELECTION'
  | 'POLL_KIND_WRITTEN_OPINION'
  | 'POLL_KIND_SHOW_OF_HANDS';

export type PollState = 'POLL_STATE_UNSPECIFIED' | 'POLL_STATE_DRAFT' | 'POLL_STATE_OPEN' | 'POLL_STATE_CLOSED' | 'POLL_STATE_PUBLISHED';

export type Outcome =
  | 'OUTCOME_UNSPECIFIED'
  | 'OUTCOME_PASSED'
  | 'OUTCOME_FAILED'
  | 'OUTCOME_NO_QUORUM'
  | 'OUTCOME_ELECTED'
  | 'OUTCOME_RUNOFF'
  | 'OUTCOME_SEATS_UNFILLED'
  | 'OUTCOME_PLURALITY';

export interface Choice {
  id: string;
  label: string;
}

export interface VoterStatus {
  entitled: boolean;
  voted: boolean;
  /** A stable code (NOT_CHECKED_IN, PROBATIONARY, …); empty when entitled. */
  reason: string;
}

export interface Poll {
  id: string;
  meetingId: string;
  organizationId: string;
  agendaItemId: string;
  title: string;
  kind: PollKind;
  secret: boolean;
  state: PollState;
  choices: Choice[];
  version: number;
  createTime: Date | null;
  minChoices: number;
  maxChoices: number;
  seats: number;
  deadline: Date | null;
  body: string;
  ballotsCast: number;
  entitled: number;
  openTime: Date | null;
  closeTime: Date | null;
  /** Null when the poll came from a live event, which is the same for everyone. */
  myStatus: VoterStatus | null;
}

export interface ChoiceCount {
  choiceId: string;
  label: string;
  count: number;
  against: number;
}

export interface NamedVote {
  personId: string;
  fullName: string;
  choiceIds: string[];
  valid: boolean;
}

export interface Result {
  pollId: string;
  outcome: Outcome;
  counts: ChoiceCount[];
  ballotsCast: number;
  validBallots: number;
  invalidBallots: number;
  entitled: number;
  members: number;
  present: number;
  quorumReached: boolean;
  base: number;
  needed: number;
  electedChoiceIds: string[];
  tiedChoiceIds: string[];
  topChoiceIds: string[];
  rule: string;
  summary: string;
  namedVotes: NamedVote[];
}

export interface CountedBallot {
  receiptHash: string;
  choiceIds: string[];
  valid: boolean;
}

export function parsePoll(v: unknown): Poll {
  const p = obj(v);
  const s = p.myStatus === undefined || p.myStatus === null ? null : obj(p.myStatus);
  return {
    id: str(p.id),
    meetingId: str(p.meetingId),
    organizationId: str(p.organizationId),
    agendaItemId: str(p.agendaItemId),
    title: str(p.title),
    kind: enumOf<PollKind>(p.kind, 'POLL_KIND_UNSPECIFIED'),
    secret: bool(p.secret),
    state: enumOf<PollState>(p.state, 'POLL_STATE_UNSPECIFIED'),
    choices: arr(p.choices).map((c) => ({ id: str(obj(c).id), label: str(obj(c).label) })),
    version: num(p.version),
    createTime: time(p.createTime),
    minChoices: num(p.minChoices),
    maxChoices: num(p.maxChoices),
    seats: num(p.seats),
    deadline: time(p.deadline),
    body: str(p.body),
    ballotsCast: num(p.ballotsCast),
    entitled: num(p.entitled),
    openTime: time(p.openTime),
    closeTime: time(p.closeTime),
    myStatus: s && { entitled: bool(s.entitled), voted: bool(s.voted), reason: str(s.reason) },
  };
}

export function parseResult(v: unknown): Result {
  const r = obj(v);
  return {
    pollId: str(r.pollId),
    outcome: enumOf<Outcome>(r.outcome, 'OUTCOME_UNSPECIFIED'),
    counts: arr(r.counts).map((c) => {
      const o = obj(c);
      return { choiceId: str(o.choiceId), label: str(o.label), count: num(o.count), against: num(o.against) };
    }),
    ballotsCast: num(r.ballotsCast),
    validBallots: num(r.validBallots),
    invalidBallots: num(r.invalidBallots),
    entitled: num(r.entitled),
    members: num(r.members),
    present: num(r.present),
    quorumReached: bool(r.quorumReached),
    base: num(r.base),
    needed: num(r.needed),
    electedChoiceIds: arr(r.electedChoiceIds).map(str),
    tiedChoiceIds: arr(r.tiedChoiceIds).map(str),
    topChoiceIds: arr(r.topChoiceIds).map(str),
    rule: str(r.rule),
    summary: str(r.summary),
    namedVotes: arr(r.namedVotes).map((n) => {
      const o = obj(n);
      return { personId: str(o.personId), fullName: str(o.fullName), choiceIds: arr(o.choiceIds).map(str), valid: bool(o.valid) };
    }),
  };
}

export function pollFrom(res: unknown): Poll {
  return parsePoll(obj(res).poll);
}

export function pollsFrom(res: unknown): Poll[] {
  return arr(obj(res).polls).map(parsePoll);
}

/** The result of a response that carries one ({"result": …}), or null. */
export function resultFrom(res: unknown): Result | null {
  const r = obj(res).result;
  return r === undefined || r === null ? null : parseResult(r);
}

export function ballotsFrom(res: unknown): CountedBallot[] {
  return arr(obj(res).ballots).map((b) => {
    const o = obj(b);
    return { receiptHash: str(o.receiptHash).toLowerCase(), choiceIds: arr(o.choiceIds).map(str), valid: bool(o.valid) };
  });
}

// What a live voting event says (events.proto). Every event but VoteProgress carries the
// whole poll after the change; PollPublished also the result.
export type PollSignal =
  | { kind: 'poll'; eventType: string; poll: Poll; result: Result | null }
  | { kind: 'progress'; pollId: string; ballotsCast: number; entitled: number };

const POLL_EVENTS = new Set([
  'ecabinet.voting.v1.PollCreated',
  'ecabinet.voting.v1.PollOpened',
  'ecabinet.voting.v1.PollClosed',
  'ecabinet.voting.v1.PollPublished',
]);

export function pollSignal(eventType: string, data: unknown): PollSignal | null {
  const d = obj(data);
  if (eventType === 'ecabinet.voting.v1.VoteProgress') {
    const pollId = str(d.pollId);
    return pollId ? { kind: 'progress', pollId, ballotsCast: num(d.ballotsCast), entitled: num(d.entitled) } : null;
  }
  if (!POLL_EVENTS.has(eventType) || d.poll === undefined || d.poll === null) return null;
  const poll = parsePoll(d.poll);
  if (poll.id === '') return null;
  const result = eventType === 'ecabinet.voting.v1.PollPublished' && d.result ? parseResult(d.result) : null;
  // An event is the same for every tablet: it never knows the reader's own standing.
  return { kind: 'poll', eventType, poll: { ...poll, myStatus: null }, result };
}

/**
 * Merges a poll from an event or a response into the one shown: an older version is
 * ignored, the caller's own status survives an event, and the progress counts never go
 * backwards (VoteProgress events carry no version and may overtake a response).
 */
export function mergePoll(shown: Poll | undefined, incoming: Poll): Poll {
  if (!shown) return incoming;
  if (incoming.version < shown.version) return shown;
  const sameState = incoming.state === shown.state;
  return {
    ...incoming,
    myStatus: incoming.myStatus ?? shown.myStatus,
    ballotsCast: sameState ? Math.max(incoming.ballotsCast, shown.ballotsCast) : incoming.ballotsCast,
  };
}

export function applyProgress(shown: Poll, ballotsCast: number, entitled: number): Poll {
  if (shown.state !== 'POLL_STATE_OPEN' || ballotsCast <= shown.ballotsCast) return shown;
  return { ...shown, ballotsCast, entitled: entitled || shown.entitled };
}

export const isElection = (p: Poll) => p.kind === 'POLL_KIND_ELECTION';
/** With more candidates than seats the voter strikes out names (Decision 190-QĐ/TW). */
export const hasSurplus = (p: Poll) => isElection(p) && p.seats > 0 && p.choices.length > p.seats;
export const takesBallots = (p: Poll) => p.kind !== 'POLL_KIND_SHOW_OF_HANDS';

/**
 * What the tablet can tell before sending an election ballot: keeping more names than seats,
 * or striking every name, makes it invalid (it is still accepted and counted as cast).
 */
export function electionBallotInvalid(p: Poll, kept: number): boolean {
  if (!hasSurplus(p)) return false;
  return kept === 0 || kept > p.seats;
}

/** Whether a single/multiple-choice or motion ballot has an acceptable number of choices. */
export function choiceCountOk(p: Poll, n: number): boolean {
  switch (p.kind) {
    case 'POLL_KIND_MULTIPLE_CHOICE': {
      const lo = Math.max(1, p.minChoices);
      const hi = p.maxChoices > 0 ? p.maxChoices : p.choices.length;
      return n >= lo && n <= hi;
    }
    case 'POLL_KIND_ELECTION':
      return true; // invalid election ballots are still cast
    default:
      return n === 1;
  }
}

// --- the ballot a tablet has sent but not yet had acknowledged, and its receipt ---------
//
// Keyed by person as well as poll: a shared tablet must never offer one person's pending
// ballot or receipt to the next. The receipt is kept after the vote so the voter can
// check, once the result is published, that their ballot is in the counted list.

export interface PendingBallot {
  key: string;
  choiceIds: string[];
}

const pendingKey = (personId: string, pollId: string) => `ecabinet.ballot.${personId}.${pollId}`;
const receiptKey = (personId: string, pollId: string) => `ecabinet.receipt.${personId}.${pollId}`;

function readJSON(key: string): unknown {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? null : JSON.parse(raw);
  } catch {
    return null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Without storage a retry in this page still reuses the key (kept in memory by the
    // caller); only a reload in between would mint a new one — and be refused as a
    // second vote, never counted twice.
  }
}

export function loadPending(personId: string, pollId: string): PendingBallot | null {
  const v = obj(readJSON(pendingKey(personId, pollId)));
  const key = str(v.key);
  return key ? { key, choiceIds: arr(v.choiceIds).map(str) } : null;
}

export function savePending(personId: string, pollId: string, p: PendingBallot): void {
  write(pendingKey(personId, pollId), JSON.stringify(p));
}

export function loadReceipt(personId: string, pollId: string): string {
  return str(readJSON(receiptKey(personId, pollId)));
}

/** The server refused the ballot for good: nothing to retry. */
export function clearPending(personId: string, pollId: string): void {
  write(pendingKey(personId, pollId), null);
}

/** The receipt arrived: keep it, and forget the pending ballot in the same step. */
export function saveReceipt(personId: string, pollId: string, receipt: string): void {
  write(receiptKey(personId, pollId), JSON.stringify(receipt));
  write(pendingKey(personId, pollId), null);
}

/**
 * Forgets every other person's pending ballot and receipt on this tablet. A receipt, with
 * the published list of counted ballots, shows the choice it was given for; on a shared
 * tablet the next person to vote must not find the last one's. Called when someone opens
 * a voting screen; their own entries stay.
 */
export function forgetOthers(personId: string): void {
  if (!personId) return;
  try {
    const stale: string[] = [];
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i) ?? '';
      const m = /^ecabinet\.(?:ballot|receipt)\.([^.]+)\./.exec(k);
      if (m && m[1] !== personId) stale.push(k);
    }
    for (const k of stale) localStorage.removeItem(k);
  } catch {
    // no storage: nothing kept
  }
}

/** A fresh idempotency key: a UUIDv4 (122 random bits), as CastBallotRequest asks. */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // randomUUID exists only in secure contexts; getRandomValues everywhere.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Hex SHA-256 of the receipt's UTF-8 bytes, as the counted-ballots list carries it. */
export async function receiptHash(receipt: string): Promise<string | null> {
  if (!crypto.subtle) return null; // plain-http page: the browser withholds the digest
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(receipt));
  return [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, '0')).join('');
}

// --- REST calls ---------------------------------------------------------------------------

export const pollPath = (id: string) => `/api/v1/polls/${seg(id)}`;

export function castBallot(pollId: string, b: PendingBallot): Promise<{ receipt: string; poll: Poll }> {
  return request('POST', `${pollPath(pollId)}/ballots`, { choiceIds: b.choiceIds, idempotencyKey: b.key }).then((res) => ({
    receipt: str(obj(res).receipt),
    poll: pollFrom(res),
  }));
}

export type PollAction = 'open' | 'close' | 'publish';

export function pollAction(p: Poll, action: PollAction): Promise<{ poll: Poll; result: Result | null }> {
  return request('POST', `${pollPath(p.id)}:${action}`, { expectedVersion: String(p.version) }).then((res) => ({
    poll: pollFrom(res),
    result: resultFrom(res),
  }));
}

export function recordHands(p: Poll, counts: { choiceId: string; count: number }[]): Promise<{ poll: Poll; result: Result | null }> {
  return request('POST', `${pollPath(p.id)}:record-hands`, { expectedVersion: String(p.version), counts }).then((res) => ({
    poll: pollFrom(res),
    result: resultFrom(res),
  }));
}

export function getResult(pollId: string): Promise<Result | null> {
  return request('GET', `${pollPath(pollId)}/result`).then(resultFrom);
}

export function listCountedBallots(pollId: string): Promise<CountedBallot[]> {
  return request('GET', `${pollPath(pollId)}/ballots`).then(ballotsFrom);
}

export interface NewPoll {
  meetingId: string;
  organizationId: string;
  agendaItemId: string;
  title: string;
  kind: PollKind;
  secret: boolean;
  choices: string[];
  seats: number;
  minChoices: number;
  maxChoices: number;
}

export function createPoll(p: NewPoll): Promise<Poll> {
  const body: Record<string, unknown> = {
    organizationId: p.organizationId,
    agendaItemId: p.agendaItemId,
    title: p.title,
    kind: p.kind,
    secret: p.secret,
    choices: p.choices,
  };
  if (p.kind === 'POLL_KIND_ELECTION') body.seats = p.seats;
  if (p.kind === 'POLL_KIND_MULTIPLE_CHOICE') {
    body.minChoices = p.minChoices;
    body.maxChoices = p.maxChoices;
  }
  return request('POST', `/api/v1/meetings/${seg(p.meetingId)}/polls`, body).then(pollFrom);
}
