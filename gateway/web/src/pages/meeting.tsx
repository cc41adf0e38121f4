// The meeting page every participant (and member of the organisation) sees: what, when and
// where, the agenda with the item under discussion, who is there, the quorum, and the
// person's own reply and attendance. It follows the meeting live.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { request, seg } from '../api';
import {
  AgendaList,
  AttendanceText,
  CurrentItem,
  Loading,
  MeetingFacts,
  Notice,
  ParticipantList,
  ProblemBox,
  QuorumBar,
  useTitle,
} from '../components';
import { enumLabel, useI18n } from '../i18n';
import { useLiveEvents } from '../livectx';
import { canDecideMinutes, canWriteMinutes, hasMinutes, minutesFrom, minutesPdfPath, minutesSignal, signalIsNews, type Minutes } from '../minutes';
import { canRun, isInvited, me, type Meeting, type Participant, type Principal, type Rsvp } from '../model';
import { Link } from '../router';
import { useSession } from '../session';
import { TaskList, useTasks } from '../taskviews';
import { useMeeting } from '../useMeeting';
import { MySpeakRequest, SpeakerList, showsSpeakers } from '../speakers';
import { MinutesBadge } from './minutes';
import { DocumentsSection } from '../docviews';
import { VotingSection } from '../pollviews';
import { DelegationSection } from '../delegationviews';
import { VideoLink } from './video';

export function MeetingPage({ id }: { id: string }) {
  const { t } = useI18n();
  const { session } = useSession();
  const model = useMeeting(id);
  const { meeting, error } = model;
  useTitle(meeting?.title ?? t('common.loading'));
  const myId = session.kind === 'signed-in' ? session.principal.personId : undefined;

  if (!meeting) {
    return (
      <section>
        <BackToList />
        {error ? <ProblemBox error={error} onRetry={() => void model.reload()} /> : <Loading />}
      </section>
    );
  }
  const mine = me(meeting, myId);
  const base = `/meetings/${encodeURIComponent(meeting.id)}`;
  return (
    <article class="meeting" data-testid="meeting-page" data-meeting-id={meeting.id} data-version={meeting.version} data-live-updates={model.liveUpdates}>
      <BackToList />
      <header class="meeting-head">
        <p class="meeting-kind">{enumLabel(t, 'kind', meeting.kind)}</p>
        <h1 class="page-title" data-testid="meeting-title">
          {meeting.title}
        </h1>
        <MeetingFacts meeting={meeting} />
        {meeting.myRole !== 'PARTICIPANT_ROLE_UNSPECIFIED' && (
          <p class="my-role" data-testid="my-role" data-role={meeting.myRole}>
            {t('meeting.myRole', { role: enumLabel(t, 'role', meeting.myRole) })}
          </p>
        )}
        <div class="actions">
          {canRun(meeting) && (
            <>
              <Link class="button button--primary" href={`${base}/console`} data-testid="console-link">
                {t('meeting.console')}
              </Link>
              <Link class="button" href={`${base}/screen`} data-testid="screen-link">
                {t('meeting.screen')}
              </Link>
            </>
          )}
          {/* A plain download: the browser fetches it with the session cookie. */}
          <a class="button" href={`/api/v1/meetings/${seg(meeting.id)}/invitation.ics`} download data-testid="ics-link">
            {t('meeting.ics')}
          </a>
          <VideoLink meeting={meeting} />
        </div>
      </header>

      {(meeting.state === 'MEETING_STATE_IN_PROGRESS' || meeting.currentAgendaItemId !== '') && <CurrentItem meeting={meeting} />}

      {/* Right under the item being discussed: an opened ballot must not need scrolling. */}
      <VotingSection meeting={meeting} />
      <DelegationSection meeting={meeting} myId={myId} onChanged={model.apply} />

      {showsSpeakers(meeting) && (
        <section class="panel" aria-labelledby="speakers-title" data-testid="speakers">
          <h2 id="speakers-title" class="section-title">
            {t('speakers.title')}
          </h2>
          {mine && myId && <MySpeakRequest meeting={meeting} myId={myId} onChanged={model.apply} />}
          <SpeakerList meeting={meeting} />
        </section>
      )}

      {mine && <MyPart meeting={meeting} me={mine} onChanged={model.apply} />}

      {hasMinutes(meeting.state) && <MinutesSummary meeting={meeting} />}

      <DocumentsSection meeting={meeting} />

      <div class="columns">
        <section class="panel" aria-labelledby="agenda-title">
          <h2 id="agenda-title" class="section-title">
            {t('meeting.agenda')}
          </h2>
          <AgendaList meeting={meeting} />
        </section>
        <section class="panel" aria-labelledby="people-title">
          <QuorumBar quorum={meeting.quorum} />
          <h2 id="people-title" class="section-title">
            {t('meeting.participants', { n: meeting.participants.length })}
          </h2>
          <ParticipantList meeting={meeting} myId={myId} />
        </section>
      </div>

      <MeetingTasks meeting={meeting} principal={session.kind === 'signed-in' ? session.principal : null} />
    </article>
  );
}

function BackToList() {
  const { t } = useI18n();
  return (
    <p class="back">
      <Link class="back-link" href="/">
        ← {t('common.backToList')}
      </Link>
    </p>
  );
}

const RSVPS: readonly Rsvp[] = ['RSVP_IN_PERSON', 'RSVP_ONLINE', 'RSVP_ABSENT'];

// MyPart: the signed-in person's attendance and their reply to the invitation.
function MyPart({ meeting, me, onChanged }: { meeting: Meeting; me: Participant; onChanged: (res: unknown) => void }) {
  const { t } = useI18n();
  const [absent, setAbsent] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState('');

  async function reply(rsvp: Rsvp, absenceReason = '') {
    setBusy(true);
    setError(null);
    setSaved('');
    try {
      const res = await request('POST', `/api/v1/meetings/${seg(meeting.id)}/rsvp`, { rsvp, absenceReason });
      onChanged(res);
      setAbsent(false);
      setSaved(t('meeting.rsvpSaved'));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="panel mine" aria-labelledby="mine-title" data-testid="my-part">
      <h2 id="mine-title" class="section-title">
        {t('meeting.rsvpTitle')}
      </h2>
      <p class="my-attendance" data-testid="my-attendance" data-attendance={me.attendance}>
        {t('meeting.myAttendance')} <AttendanceText p={me} />
      </p>
      <p data-testid="my-rsvp" data-rsvp={me.rsvp}>
        {t('meeting.rsvpNow', { rsvp: enumLabel(t, 'rsvp', me.rsvp) })}
        {me.rsvp === 'RSVP_ABSENT' && me.absenceReason && ` — ${me.absenceReason}`}
      </p>
      {isInvited(meeting.state) && (
        <>
          <div class="choices" role="group" aria-label={t('meeting.rsvpTitle')}>
            {RSVPS.map((r) => (
              <button
                type="button"
                key={r}
                class="choice"
                aria-pressed={me.rsvp === r}
                data-rsvp={r}
                disabled={busy}
                onClick={() => (r === 'RSVP_ABSENT' ? setAbsent(true) : void reply(r))}
              >
                {enumLabel(t, 'rsvp', r)}
              </button>
            ))}
          </div>
          {absent && (
            <form
              class="form inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                void reply('RSVP_ABSENT', reason.trim());
              }}
            >
              <label class="field">
                <span class="field-label">{t('meeting.rsvpAbsentReason')}</span>
                <input name="absence_reason" value={reason} maxLength={500} onInput={(e) => setReason(e.currentTarget.value)} />
              </label>
              <div class="actions">
                <button type="submit" class="button button--primary" disabled={busy}>
                  {t('meeting.rsvpSend')}
                </button>
                <button type="button" class="button" onClick={() => setAbsent(false)}>
                  {t('common.cancel')}
                </button>
              </div>
            </form>
          )}
        </>
      )}
      <ProblemBox error={error} testid="rsvp-problem" />
      <Notice text={saved} />
    </section>
  );
}

// MinutesSummary: where the minutes stand, and the way to them — to write them (the
// minute-taker), approve them (the chair, once submitted) or read them; the PDF once
// approved. It follows the minutes' live events.
function MinutesSummary({ meeting }: { meeting: Meeting }) {
  const { t } = useI18n();
  const [minutes, setMinutes] = useState<Minutes | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    request('GET', `/api/v1/meetings/${seg(meeting.id)}/minutes`)
      .then((res) => {
        setMinutes(minutesFrom(res));
        setError(null);
      })
      .catch((err: unknown) => setError(err));
  }, [meeting.id]);
  // Again when the meeting changes state: ending and closing it go with the minutes.
  useEffect(load, [load, meeting.state]);
  useLiveEvents((e) => {
    const sig = minutesSignal(e.eventType, e.data);
    if (sig && sig.meetingId === meeting.id && signalIsNews(minutes, sig)) load();
  });

  const href = `/meetings/${encodeURIComponent(meeting.id)}/minutes`;
  const state = minutes?.state ?? 'MINUTES_STATE_UNSPECIFIED';
  const mineToWrite = canWriteMinutes(meeting.myRole) && state === 'MINUTES_STATE_DRAFT';
  const mineToApprove = canDecideMinutes(meeting.myRole) && state === 'MINUTES_STATE_SUBMITTED';
  const label = mineToWrite ? t('minutes.write') : mineToApprove ? t('minutes.review') : t('minutes.read');
  return (
    <section class="panel minutes-summary" aria-labelledby="minutes-summary-title" data-testid="minutes-summary" data-state={state}>
      <h2 id="minutes-summary-title" class="section-title">
        {t('minutes.kicker')}
      </h2>
      {minutes && (
        <p class="minutes-state-line">
          <MinutesBadge state={minutes.state} />
          {mineToApprove && <strong class="awaiting">{t('minutes.awaitingYou')}</strong>}
        </p>
      )}
      <ProblemBox error={error} onRetry={load} />
      <div class="actions">
        <Link class={`button ${mineToWrite || mineToApprove ? 'button--primary' : ''}`} href={href} data-testid="minutes-link">
          {label}
        </Link>
        {state === 'MINUTES_STATE_APPROVED' && (
          <a class="button" href={minutesPdfPath(meeting.id)} download data-testid="pdf-link">
            {t('minutes.pdf')}
          </a>
        )}
      </div>
    </section>
  );
}

// MeetingTasks: the tasks given from this meeting's conclusions, followed live.
function MeetingTasks({ meeting, principal }: { meeting: Meeting; principal: Principal | null }) {
  const { t } = useI18n();
  const tasks = useTasks({ meetingId: meeting.id }, (task) => task.meetingId === meeting.id);
  if (!hasMinutes(meeting.state) && (tasks.tasks?.length ?? 0) === 0) return null;
  return (
    <section class="panel" aria-labelledby="meeting-tasks-title" data-testid="meeting-tasks">
      <h2 id="meeting-tasks-title" class="section-title">
        {t('tasks.ofMeeting', { n: tasks.tasks?.length ?? 0 })}
      </h2>
      <TaskList model={tasks} principal={principal} runner={canRun(meeting)} empty={t('tasks.noneForMeeting')} testid="meeting-task-list" />
    </section>
  );
}
