// Vote delegation (ADR 0005): a voting member of an organisation that allows it appoints
// another voting member of the meeting to cast their ballot while they are absent. Only the
// member appoints; the chair, minute-taker and administrators may only clear. The meetings
// service checks every rule again; these helpers only decide what the page offers.
import { request, seg } from './api';
import type { Meeting, MeetingState, Participant } from './model';

/** A voting member: a voting right and official standing (probationary members do not vote). */
export const votes = (p: Participant): boolean => p.votingRight && p.standing === 'STANDING_OFFICIAL';

const EDITABLE: readonly MeetingState[] = ['MEETING_STATE_DRAFT', 'MEETING_STATE_SCHEDULED', 'MEETING_STATE_IN_PROGRESS'];

/** Delegations change while participants can (not once the meeting has ended). */
export const delegationEditable = (m: Meeting): boolean => EDITABLE.includes(m.state);

/** The member who appointed personId as their delegate, if any (one each). */
export function principalOf(m: Meeting, personId: string): Participant | null {
  return m.participants.find((p) => p.delegatePersonId !== '' && p.delegatePersonId === personId) ?? null;
}

/** Who could hold me's delegation: another voting member who delegates nobody's vote of their
 * own and holds no one else's delegation, by name. */
export function delegateCandidates(m: Meeting, me: Participant): Participant[] {
  return m.participants
    .filter((p) => p.personId !== me.personId && votes(p) && p.delegatePersonId === '')
    .filter((p) => {
      const holder = principalOf(m, p.personId);
      return holder === null || holder.personId === me.personId;
    })
    .sort((a, b) => a.fullName.localeCompare(b.fullName, 'vi'));
}

export interface Delegation {
  from: Participant;
  toId: string;
  toName: string;
}

/** Every delegation recorded in the meeting, by the delegating member's name. */
export function delegations(m: Meeting): Delegation[] {
  return m.participants
    .filter((p) => p.delegatePersonId !== '')
    .map((p) => ({ from: p, toId: p.delegatePersonId, toName: nameOf(m, p.delegatePersonId) }))
    .sort((a, b) => a.from.fullName.localeCompare(b.from.fullName, 'vi'));
}

export function nameOf(m: Meeting, personId: string): string {
  return m.participants.find((p) => p.personId === personId)?.fullName || personId;
}

/** SetDelegate: records personId's delegate, or clears it with ''. Answers the meeting. */
export function setDelegate(meetingId: string, personId: string, delegatePersonId: string): Promise<unknown> {
  return request('POST', `/api/v1/meetings/${seg(meetingId)}/participants/${seg(personId)}:setDelegate`, { delegatePersonId });
}
