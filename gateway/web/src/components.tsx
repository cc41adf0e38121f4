// Pieces shared by the meeting pages. Every text that comes from the server (titles, names,
// reasons, error details) is passed as JSX children or attributes, which Preact sets as
// text: HTML typed into a meeting title shows as typed and never runs.
import { useEffect } from 'preact/hooks';
import { ApiError } from './api';
import { formatRange, formatTime } from './format';
import { enumLabel, hasMessage, useI18n } from './i18n';
import { currentItem, isPresent, type Meeting, type Participant, type Quorum } from './model';

export function useTitle(title: string): void {
  const { t } = useI18n();
  useEffect(() => {
    document.title = title ? `${title} — ${t('app.name')}` : t('app.name');
  }, [title, t]);
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p class="loading" role="status" aria-live="polite">
      {t('common.loading')}
    </p>
  );
}

function fieldLabel(t: ReturnType<typeof useI18n>['t'], field: string): string {
  // "agenda_item_ids[2]" → the label of agenda_item_ids, keeping the index for the reader.
  const base = field.replace(/\[\d+\]$/, '').split('.').pop() ?? field;
  const key = `field.${base}`;
  return hasMessage(key) ? t(key) : field;
}

// ProblemBox shows a failed request next to what caused it: the gateway's localised title,
// its detail, and one line per invalid field (the field's name in the user's language and
// the gateway's reason).
export function ProblemBox({ error, onRetry, testid }: { error: unknown; onRetry?: () => void; testid?: string }) {
  const { t } = useI18n();
  if (error === null || error === undefined) return null;
  const e = error instanceof ApiError ? error : null;
  let title: string;
  if (!e) title = t('error.generic', { status: '?' });
  else if (e.status === 0) title = t('error.network');
  else title = e.title || t('error.generic', { status: e.status });
  return (
    <div class="problem" role="alert" data-testid={testid ?? 'problem'} data-status={e?.status ?? ''} data-code={e?.code ?? ''}>
      <p class="problem-title">{title}</p>
      {e && e.detail && e.status !== 0 && e.errors.length === 0 && <p class="problem-detail">{t('error.detail', { detail: e.detail })}</p>}
      {e && e.errors.length > 0 && (
        <ul class="problem-fields">
          {e.errors.map((f, i) => (
            <li key={i} data-field={f.field} data-code={f.code}>
              <strong>{fieldLabel(t, f.field)}</strong>: {f.reason || f.code}
            </li>
          ))}
        </ul>
      )}
      {onRetry && (
        <button type="button" class="button" onClick={onRetry}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}

export function Notice({ text, testid }: { text: string; testid?: string }) {
  if (!text) return null;
  return (
    <p class="notice" role="status" data-testid={testid ?? 'notice'}>
      {text}
    </p>
  );
}

export function StateBadge({ state }: { state: string }) {
  const { t } = useI18n();
  return (
    <span class={`badge badge--${state.replace('MEETING_STATE_', '').toLowerCase()}`} data-testid="meeting-state" data-state={state}>
      {enumLabel(t, 'state', state)}
    </span>
  );
}

export function placeText(t: ReturnType<typeof useI18n>['t'], m: Meeting): string {
  if (m.place && m.online) return t('meeting.placeAndOnline', { place: m.place });
  if (m.place) return m.place;
  return m.online ? t('meeting.online') : '';
}

export function MeetingFacts({ meeting }: { meeting: Meeting }) {
  const { t, lang } = useI18n();
  const place = placeText(t, meeting);
  return (
    <dl class="facts">
      <div>
        <dt>{t('meeting.when')}</dt>
        <dd data-testid="meeting-when">{formatRange(lang, meeting.startsAt, meeting.endsAt)}</dd>
      </div>
      {place && (
        <div>
          <dt>{t('meeting.where')}</dt>
          <dd>{place}</dd>
        </div>
      )}
      <div>
        <dt>{t('meeting.state')}</dt>
        <dd>
          <StateBadge state={meeting.state} />
          {meeting.stateReason && <span class="state-reason">{t('meeting.reason', { reason: meeting.stateReason })}</span>}
        </dd>
      </div>
    </dl>
  );
}

// Icons repeat what the text next to them says; they are hidden from screen readers.
export function Mark({ ok }: { ok: boolean }) {
  return (
    <svg class={`mark ${ok ? 'mark--ok' : 'mark--no'}`} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <circle cx="12" cy="12" r="10" />
      <path d={ok ? 'M7 12.5l3.2 3.2L17 9' : 'M12 7v6M12 16.5v.5'} />
    </svg>
  );
}

// QuorumBar: the count, what is needed and whether it is reached are all in words; the bar
// and its colour only repeat them for a glance across the room.
export function QuorumBar({ quorum, large }: { quorum: Quorum | null; large?: boolean }) {
  const { t } = useI18n();
  if (!quorum) return null;
  const { base, present, required, reached, rule } = quorum;
  const pct = (n: number) => (base > 0 ? Math.min(100, Math.max(0, (n / base) * 100)) : 0);
  return (
    <section
      class={`quorum ${reached ? 'quorum--reached' : 'quorum--short'} ${large ? 'quorum--large' : ''}`}
      data-testid="quorum"
      data-reached={String(reached)}
      data-present={present}
      data-required={required}
      data-base={base}
      aria-label={t('meeting.quorum')}
    >
      <p class="quorum-verdict">
        <Mark ok={reached} />
        <span>{reached ? t('meeting.quorumReached') : t('meeting.quorumNotReached', { missing: Math.max(0, required - present) })}</span>
      </p>
      <div
        class="quorum-bar"
        role="meter"
        aria-valuemin={0}
        aria-valuemax={base}
        aria-valuenow={present}
        aria-valuetext={t('meeting.quorumCount', { present, base, required, rule })}
      >
        <div class="quorum-fill" style={{ width: `${pct(present)}%` }} />
        <div class="quorum-need" style={{ left: `${pct(required)}%` }} />
      </div>
      <p class="quorum-count">{t('meeting.quorumCount', { present, base, required, rule: rule || '—' })}</p>
    </section>
  );
}

export function CurrentItem({ meeting, large }: { meeting: Meeting; large?: boolean }) {
  const { t } = useI18n();
  const item = currentItem(meeting);
  return (
    <section class={`current ${large ? 'current--large' : ''}`} aria-live="polite" data-testid="current-item" data-item-id={item?.id ?? ''}>
      <p class="current-label">{t('meeting.current')}</p>
      {item ? (
        <>
          <p class="current-title">
            <span class="current-pos">{item.position}.</span> {item.title}
          </p>
          {item.presenterName && <p class="current-presenter">{t('meeting.presenter', { name: item.presenterName })}</p>}
        </>
      ) : (
        <p class="current-none">{t('meeting.currentNone')}</p>
      )}
    </section>
  );
}

export function AgendaList({ meeting, large }: { meeting: Meeting; large?: boolean }) {
  const { t } = useI18n();
  if (meeting.agenda.length === 0) return <p class="empty">{t('meeting.agendaEmpty')}</p>;
  return (
    <ol class={`agenda ${large ? 'agenda--large' : ''}`} data-testid="agenda">
      {meeting.agenda.map((item) => {
        const isCurrent = item.id === meeting.currentAgendaItemId;
        return (
          <li
            key={item.id}
            class={`agenda-item ${isCurrent ? 'agenda-item--current' : ''}`}
            aria-current={isCurrent ? 'step' : undefined}
            data-item-id={item.id}
            data-current={String(isCurrent)}
          >
            <span class="agenda-pos">{item.position}</span>
            <div class="agenda-text">
              <span class="agenda-title">{item.title}</span>
              <span class="agenda-meta">
                {isCurrent && <strong class="agenda-now">{t('meeting.current')}</strong>}
                {item.presenterName && <span>{t('meeting.presenter', { name: item.presenterName })}</span>}
                {item.durationMinutes > 0 && <span>{t('common.minutes', { n: item.durationMinutes })}</span>}
              </span>
            </div>
          </li>
        );
      })}
    </ol>
  );
}

export function ParticipantFacts({ p }: { p: Participant }) {
  const { t } = useI18n();
  const facts: string[] = [enumLabel(t, 'role', p.role)];
  if (p.standing === 'STANDING_PROBATIONARY') facts.push(enumLabel(t, 'standing', p.standing));
  if (!p.votingRight) facts.push(t('meeting.noVote'));
  if (p.excused) facts.push(t('meeting.excused'));
  return <span class="person-facts">{facts.join(' · ')}</span>;
}

export function AttendanceText({ p }: { p: Participant }) {
  const { t, lang } = useI18n();
  const present = isPresent(p.attendance);
  return (
    <span class={`attendance attendance--${present ? 'present' : 'absent'}`} data-testid="attendance" data-attendance={p.attendance}>
      <Mark ok={present} />
      {enumLabel(t, 'attendance', p.attendance)}
      {present && p.checkInTime && ` ${t('meeting.checkedInAt', { time: formatTime(lang, p.checkInTime) })}`}
      {p.attendance === 'ATTENDANCE_ABSENT_EXCUSED' && p.absenceReason && ` — ${p.absenceReason}`}
    </span>
  );
}

export function ParticipantList({ meeting, myId }: { meeting: Meeting; myId?: string }) {
  const { t } = useI18n();
  if (meeting.participants.length === 0) return <p class="empty">{t('meeting.participantsEmpty')}</p>;
  return (
    <ul class="people" data-testid="participants">
      {meeting.participants.map((p) => (
        <li key={p.personId} class="person" data-person-id={p.personId} data-attendance={p.attendance} data-voting={String(p.votingRight)}>
          <div class="person-main">
            <span class="person-name">
              {p.fullName} {p.personId === myId && <span class="person-you">{t('meeting.you')}</span>}
            </span>
            <ParticipantFacts p={p} />
          </div>
          <div class="person-status">
            <span class="rsvp" data-rsvp={p.rsvp}>
              {enumLabel(t, 'rsvp', p.rsvp)}
              {p.rsvp === 'RSVP_ABSENT' && p.absenceReason && p.attendance !== 'ATTENDANCE_ABSENT_EXCUSED' && ` — ${p.absenceReason}`}
            </span>
            <AttendanceText p={p} />
          </div>
        </li>
      ))}
    </ul>
  );
}
