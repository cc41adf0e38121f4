// The minute-taker's console (also the chair's): move the meeting through its states,
// advance and edit the agenda, and take attendance. Every change answers with the meeting
// as it is after it, which the page shows at once; other tablets get it as a live event.
import { useState } from 'preact/hooks';
import { ApiError, request, seg } from '../api';
import { AttendanceText, CurrentItem, Loading, MeetingFacts, Notice, ParticipantFacts, ProblemBox, QuorumBar, useTitle } from '../components';
import { fromLocalInput, toLocalInput } from '../format';
import { enumLabel, useI18n, type MessageKey } from '../i18n';
import { canMarkAttendance, canRun, isOpen, nextItem, type AgendaItem, type Attendance, type Meeting, type Participant } from '../model';
import { hasMinutes } from '../minutes';
import { Link } from '../router';
import { useMeeting, type MeetingModel } from '../useMeeting';
import { SpeakerList, showsSpeakers } from '../speakers';

// Action runs one request of a section and keeps its error next to the control that made
// it (`target`). A stale version (409 Aborted) is not the user's error to fix by hand: the
// meeting is reloaded and the page says so.
interface Action {
  busy: boolean;
  run(target: string, fn: () => Promise<unknown>): Promise<boolean>;
  errorAt(target: string): unknown;
}

function useAction(model: MeetingModel, onStale: () => void): Action {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<{ target: string; error: unknown } | null>(null);
  return {
    busy,
    async run(target, fn) {
      setBusy(true);
      setFailure(null);
      try {
        model.apply(await fn());
        return true;
      } catch (err) {
        if (err instanceof ApiError && err.stale) {
          await model.reload();
          onStale();
        } else {
          setFailure({ target, error: err });
        }
        return false;
      } finally {
        setBusy(false);
      }
    },
    errorAt(target) {
      return failure && failure.target === target ? failure.error : null;
    },
  };
}

export function ConsolePage({ id }: { id: string }) {
  const { t } = useI18n();
  const model = useMeeting(id);
  const { meeting, error } = model;
  const [notice, setNotice] = useState('');
  const onStale = () => setNotice(t('error.stale'));
  useTitle(meeting ? t('console.title', { title: meeting.title }) : t('common.loading'));

  if (!meeting) {
    return error ? <ProblemBox error={error} onRetry={() => void model.reload()} /> : <Loading />;
  }
  const base = `/meetings/${encodeURIComponent(meeting.id)}`;
  return (
    <article class="console" data-testid="console" data-meeting-id={meeting.id} data-state={meeting.state} data-version={meeting.version}>
      <p class="back">
        <Link class="back-link" href={base}>
          ← {t('common.backToMeeting')}
        </Link>
      </p>
      <header class="meeting-head">
        <p class="meeting-kind">{t('meeting.console')}</p>
        <h1 class="page-title" data-testid="meeting-title">
          {meeting.title}
        </h1>
        <MeetingFacts meeting={meeting} />
        <div class="actions">
          <Link class="button" href={`${base}/screen`} data-testid="screen-link">
            {t('console.openScreen')}
          </Link>
          {hasMinutes(meeting.state) && (
            <Link class="button" href={`${base}/minutes`} data-testid="minutes-link">
              {t('console.minutes')}
            </Link>
          )}
        </div>
      </header>
      <Notice text={notice} testid="console-notice" />
      {!canRun(meeting) ? (
        <p class="problem problem-title" role="alert">
          {t('console.notAllowed')}
        </p>
      ) : (
        <>
          <Lifecycle meeting={meeting} model={model} onStale={onStale} />
          <Advance meeting={meeting} model={model} onStale={onStale} />
          {showsSpeakers(meeting) && <SpeakerDesk meeting={meeting} model={model} onStale={onStale} />}
          <AttendanceDesk meeting={meeting} model={model} onStale={onStale} />
          <AgendaEditor meeting={meeting} model={model} onStale={onStale} />
        </>
      )}
    </article>
  );
}

interface SectionProps {
  meeting: Meeting;
  model: MeetingModel;
  onStale: () => void;
}

const path = (m: Meeting, rest: string) => `/api/v1/meetings/${seg(m.id)}${rest}`;

function Lifecycle({ meeting, model, onStale }: SectionProps) {
  const { t } = useI18n();
  const act = useAction(model, onStale);
  const [form, setForm] = useState<'none' | 'cancel' | 'reschedule' | 'end'>('none');
  const [reason, setReason] = useState('');
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const expectedVersion = String(meeting.version);

  const transition = (verb: string, extra: Record<string, unknown> = {}) =>
    act.run(verb, () => request('POST', path(meeting, `:${verb}`), { expectedVersion, ...extra }));

  const open = (which: 'cancel' | 'reschedule') => {
    setForm(which);
    setReason('');
    setStart(toLocalInput(meeting.startsAt));
    setEnd(toLocalInput(meeting.endsAt));
  };

  // The transitions the meetings service allows from each state (services/meetings/domain).
  const s = meeting.state;
  const canCancel = s === 'MEETING_STATE_DRAFT' || s === 'MEETING_STATE_SCHEDULED';
  const canReschedule = s === 'MEETING_STATE_SCHEDULED' || s === 'MEETING_STATE_CANCELLED';
  const buttons: { verb: string; label: MessageKey; primary?: boolean; onClick: () => void }[] = [];
  if (s === 'MEETING_STATE_DRAFT') {
    buttons.push({ verb: 'schedule', label: 'console.schedule', primary: true, onClick: () => void transition('schedule') });
  }
  if (s === 'MEETING_STATE_SCHEDULED') {
    buttons.push({ verb: 'start', label: 'console.start', primary: true, onClick: () => void transition('start') });
  }
  if (s === 'MEETING_STATE_IN_PROGRESS') {
    // Ending cannot be undone: a second tap confirms it.
    buttons.push({ verb: 'end', label: 'console.end', primary: true, onClick: () => setForm('end') });
  }
  if (canReschedule) buttons.push({ verb: 'reschedule', label: 'console.reschedule', onClick: () => open('reschedule') });
  if (canCancel) buttons.push({ verb: 'cancel', label: 'console.cancel', onClick: () => open('cancel') });

  return (
    <section class="panel" aria-labelledby="lifecycle-title" data-testid="lifecycle">
      <h2 id="lifecycle-title" class="section-title">
        {t('console.lifecycle')}
      </h2>
      {buttons.length === 0 ? (
        <p class="hint">{t('console.noActions')}</p>
      ) : (
        <div class="actions">
          {buttons.map((b) => (
            <button
              type="button"
              key={b.verb}
              class={`button ${b.primary ? 'button--primary' : ''}`}
              data-action={b.verb}
              disabled={act.busy}
              aria-expanded={b.verb === 'cancel' || b.verb === 'reschedule' || b.verb === 'end' ? form === b.verb : undefined}
              onClick={b.onClick}
            >
              {t(b.label)}
            </button>
          ))}
        </div>
      )}
      {['schedule', 'start', 'end'].map((v) => (
        <ProblemBox key={v} error={act.errorAt(v)} testid="lifecycle-problem" />
      ))}
      {form === 'end' && s === 'MEETING_STATE_IN_PROGRESS' && (
        <div class="inline-form" data-testid="end-confirm">
          <p class="confirm-question">{t('console.endConfirmQuestion')}</p>
          <div class="actions">
            <button
              type="button"
              class="button button--danger"
              data-action="end-confirm"
              disabled={act.busy}
              onClick={() => void transition('end').then(() => setForm('none'))}
            >
              {t('console.endConfirm')}
            </button>
            <button type="button" class="button" onClick={() => setForm('none')}>
              {t('common.cancel')}
            </button>
          </div>
        </div>
      )}
      {form === 'cancel' && canCancel && (
        <form
          class="form inline-form"
          data-testid="cancel-form"
          onSubmit={(e) => {
            e.preventDefault();
            void transition('cancel', { reason: reason.trim() }).then((ok) => ok && setForm('none'));
          }}
        >
          <label class="field">
            <span class="field-label">{t('console.cancelReason')}</span>
            <textarea name="reason" rows={2} maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
          <ProblemBox error={act.errorAt('cancel')} />
          <div class="actions">
            <button type="submit" class="button button--danger" disabled={act.busy}>
              {t('console.cancelConfirm')}
            </button>
            <button type="button" class="button" onClick={() => setForm('none')}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      )}
      {form === 'reschedule' && canReschedule && (
        <form
          class="form inline-form"
          data-testid="reschedule-form"
          onSubmit={(e) => {
            e.preventDefault();
            const startsAt = fromLocalInput(start);
            const endsAt = fromLocalInput(end);
            void transition('reschedule', {
              // An empty or unreadable time goes as absent, and the server names the field.
              startsAt: startsAt?.toISOString(),
              endsAt: endsAt?.toISOString(),
              reason: reason.trim(),
            }).then((ok) => ok && setForm('none'));
          }}
        >
          <div class="field-row">
            <label class="field">
              <span class="field-label">{t('console.newStart')}</span>
              <input type="datetime-local" name="starts_at" value={start} onInput={(e) => setStart(e.currentTarget.value)} />
            </label>
            <label class="field">
              <span class="field-label">{t('console.newEnd')}</span>
              <input type="datetime-local" name="ends_at" value={end} onInput={(e) => setEnd(e.currentTarget.value)} />
            </label>
          </div>
          <label class="field">
            <span class="field-label">{t('console.rescheduleReason')}</span>
            <textarea name="reason" rows={2} maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
          <ProblemBox error={act.errorAt('reschedule')} />
          <div class="actions">
            <button type="submit" class="button button--primary" disabled={act.busy}>
              {t('console.rescheduleConfirm')}
            </button>
            <button type="button" class="button" onClick={() => setForm('none')}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

function Advance({ meeting, model, onStale }: SectionProps) {
  const { t } = useI18n();
  const act = useAction(model, onStale);
  const next = nextItem(meeting);
  const running = meeting.state === 'MEETING_STATE_IN_PROGRESS';
  return (
    <section class="panel advance" aria-label={t('meeting.current')} data-testid="advance">
      <CurrentItem meeting={meeting} />
      {running ? (
        <div class="advance-next">
          <button
            type="button"
            class="button button--primary button--big"
            data-testid="next-item"
            disabled={act.busy || next === null}
            onClick={() => next && void act.run('next', () => request('POST', path(meeting, '/agenda:setCurrent'), { agendaItemId: next.id }))}
          >
            {t('console.next')}
          </button>
          <span class="hint">{next ? t('console.nextNamed', { title: next.title }) : t('console.atEnd')}</span>
        </div>
      ) : (
        <p class="hint">{t('console.startFirst')}</p>
      )}
      <ProblemBox error={act.errorAt('next')} />
    </section>
  );
}

// SpeakerDesk: the queue of requests to speak, with the floor given and taken back, and
// the order changed one place at a time.
function SpeakerDesk({ meeting, model, onStale }: SectionProps) {
  const { t } = useI18n();
  const act = useAction(model, onStale);
  const running = meeting.state === 'MEETING_STATE_IN_PROGRESS';
  const update = (id: string, body: Record<string, unknown>) =>
    void act.run(`speaker:${id}`, () => request('PATCH', path(meeting, `/speakers/${seg(id)}`), body));
  return (
    <section class="panel" aria-labelledby="speakers-desk-title" data-testid="speaker-desk">
      <h2 id="speakers-desk-title" class="section-title">
        {t('speakers.title')}
      </h2>
      <SpeakerList
        meeting={meeting}
        tools={(s, i, waiting) =>
          running && (
            <>
              {s.state === 'SPEAKER_STATE_WAITING' && (
                <>
                  <button
                    type="button"
                    class="button button--small button--primary"
                    data-action="speak"
                    disabled={act.busy}
                    onClick={() => update(s.id, { state: 'SPEAKER_STATE_SPEAKING' })}
                  >
                    {t('speakers.give')}
                  </button>
                  <button
                    type="button"
                    class="icon-button"
                    data-action="up"
                    aria-label={`${t('console.moveUp')}: ${s.fullName}`}
                    title={t('console.moveUp')}
                    disabled={act.busy || i === 0}
                    onClick={() => update(s.id, { position: s.position - 1 })}
                  >
                    ↑
                  </button>
                  <button
                    type="button"
                    class="icon-button"
                    data-action="down"
                    aria-label={`${t('console.moveDown')}: ${s.fullName}`}
                    title={t('console.moveDown')}
                    disabled={act.busy || i === waiting.length - 1}
                    onClick={() => update(s.id, { position: s.position + 1 })}
                  >
                    ↓
                  </button>
                </>
              )}
              <button
                type="button"
                class="button button--small"
                data-action="done"
                disabled={act.busy}
                onClick={() => update(s.id, { state: 'SPEAKER_STATE_DONE' })}
              >
                {t('speakers.done')}
              </button>
              <ProblemBox error={act.errorAt(`speaker:${s.id}`)} />
            </>
          )
        }
      />
    </section>
  );
}

function AgendaEditor({ meeting, model, onStale }: SectionProps) {
  const { t } = useI18n();
  const act = useAction(model, onStale);
  const [editing, setEditing] = useState<string | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  const editable = isOpen(meeting.state);
  const running = meeting.state === 'MEETING_STATE_IN_PROGRESS';
  const items = meeting.agenda;

  const move = (i: number, by: -1 | 1) => {
    const ids = items.map((x) => x.id);
    [ids[i], ids[i + by]] = [ids[i + by], ids[i]];
    void act.run(`item:${items[i].id}`, () => request('POST', path(meeting, '/agenda:reorder'), { agendaItemIds: ids }));
  };

  return (
    <section class="panel" aria-labelledby="agenda-edit-title" data-testid="agenda-editor">
      <h2 id="agenda-edit-title" class="section-title">
        {t('console.agenda')}
      </h2>
      {items.length === 0 && <p class="empty">{t('meeting.agendaEmpty')}</p>}
      <ol class="agenda agenda--edit">
        {items.map((item, i) => {
          const isCurrent = item.id === meeting.currentAgendaItemId;
          const target = `item:${item.id}`;
          return (
            <li
              key={item.id}
              class={`agenda-item ${isCurrent ? 'agenda-item--current' : ''}`}
              aria-current={isCurrent ? 'step' : undefined}
              data-item-id={item.id}
              data-current={String(isCurrent)}
            >
              <span class="agenda-pos">{item.position}</span>
              {editing === item.id ? (
                <ItemForm
                  meeting={meeting}
                  item={item}
                  busy={act.busy}
                  error={act.errorAt(target)}
                  onCancel={() => setEditing(null)}
                  onSubmit={(v) =>
                    void act
                      .run(target, () =>
                        request('PATCH', path(meeting, `/agenda/${seg(item.id)}`), { ...v, documentIds: item.documentIds }),
                      )
                      .then((ok) => ok && setEditing(null))
                  }
                />
              ) : (
                <div class="agenda-text">
                  <span class="agenda-title">{item.title}</span>
                  <span class="agenda-meta">
                    {isCurrent && <strong class="agenda-now">{t('meeting.current')}</strong>}
                    {item.presenterName && <span>{t('meeting.presenter', { name: item.presenterName })}</span>}
                    {item.durationMinutes > 0 && <span>{t('common.minutes', { n: item.durationMinutes })}</span>}
                  </span>
                  {editable && (
                    <div class="item-tools">
                      {running && !isCurrent && (
                        <button
                          type="button"
                          class="button button--small"
                          data-action="make-current"
                          disabled={act.busy}
                          onClick={() => void act.run(target, () => request('POST', path(meeting, '/agenda:setCurrent'), { agendaItemId: item.id }))}
                        >
                          {t('console.makeCurrent')}
                        </button>
                      )}
                      <button
                        type="button"
                        class="icon-button"
                        data-action="up"
                        aria-label={`${t('console.moveUp')}: ${item.title}`}
                        title={t('console.moveUp')}
                        disabled={act.busy || i === 0}
                        onClick={() => move(i, -1)}
                      >
                        ↑
                      </button>
                      <button
                        type="button"
                        class="icon-button"
                        data-action="down"
                        aria-label={`${t('console.moveDown')}: ${item.title}`}
                        title={t('console.moveDown')}
                        disabled={act.busy || i === items.length - 1}
                        onClick={() => move(i, 1)}
                      >
                        ↓
                      </button>
                      <button type="button" class="button button--small" data-action="edit" onClick={() => setEditing(item.id)}>
                        {t('console.edit')}
                      </button>
                      {removing === item.id ? (
                        <>
                          <button
                            type="button"
                            class="button button--small button--danger"
                            data-action="remove-confirm"
                            disabled={act.busy}
                            onClick={() =>
                              void act
                                .run(target, () => request('DELETE', path(meeting, `/agenda/${seg(item.id)}`)))
                                .then(() => setRemoving(null))
                            }
                          >
                            {t('console.removeConfirm', { title: item.title })}
                          </button>
                          <button type="button" class="button button--small" onClick={() => setRemoving(null)}>
                            {t('common.cancel')}
                          </button>
                        </>
                      ) : (
                        <button type="button" class="button button--small" data-action="remove" onClick={() => setRemoving(item.id)}>
                          {t('console.remove')}
                        </button>
                      )}
                    </div>
                  )}
                  <ProblemBox error={editing === item.id ? null : act.errorAt(target)} />
                </div>
              )}
            </li>
          );
        })}
      </ol>
      {editable && <AddItem meeting={meeting} act={act} />}
    </section>
  );
}

interface ItemValues {
  title: string;
  presenterId: string;
  durationMinutes: number;
}

function AddItem({ meeting, act }: { meeting: Meeting; act: Action }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  // Remounting the form after a successful add clears it for the next item.
  const [round, setRound] = useState(0);
  if (!open) {
    return (
      <button type="button" class="button" data-testid="add-item" onClick={() => setOpen(true)}>
        + {t('console.addItem')}
      </button>
    );
  }
  return (
    <div class="add-item">
      <h3 class="subsection-title">{t('console.addItem')}</h3>
      <ItemForm
        key={round}
        meeting={meeting}
        item={null}
        busy={act.busy}
        error={act.errorAt('add')}
        onCancel={() => setOpen(false)}
        onSubmit={(v) =>
          void act
            .run('add', () => request('POST', path(meeting, '/agenda'), { ...v, position: 0 }))
            .then((ok) => ok && setRound((r) => r + 1))
        }
      />
    </div>
  );
}

function ItemForm(props: {
  meeting: Meeting;
  item: AgendaItem | null;
  busy: boolean;
  error: unknown;
  onSubmit: (v: ItemValues) => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const { meeting, item } = props;
  const [title, setTitle] = useState(item?.title ?? '');
  const [presenterId, setPresenterId] = useState(item?.presenterId ?? '');
  const [duration, setDuration] = useState(item && item.durationMinutes > 0 ? String(item.durationMinutes) : '');
  return (
    <form
      class="form item-form"
      data-testid="item-form"
      onSubmit={(e) => {
        e.preventDefault();
        const n = Number(duration);
        props.onSubmit({
          title: title.trim(),
          presenterId,
          // Not a whole number of minutes: sent as given, for the server to name the field.
          durationMinutes: duration.trim() === '' ? 0 : Number.isInteger(n) ? n : Math.round(n),
        });
      }}
    >
      <label class="field">
        <span class="field-label">{t('console.itemTitle')}</span>
        <input name="title" value={title} maxLength={500} onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <div class="field-row">
        <label class="field">
          <span class="field-label">{t('console.itemDuration')}</span>
          <input name="duration_minutes" type="number" inputMode="numeric" min={0} max={1440} step={1} value={duration} onInput={(e) => setDuration(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span class="field-label">{t('console.itemPresenter')}</span>
          <select name="presenter_id" value={presenterId} onChange={(e) => setPresenterId(e.currentTarget.value)}>
            <option value="">{t('console.noPresenter')}</option>
            {meeting.participants.map((p) => (
              <option key={p.personId} value={p.personId}>
                {p.fullName}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ProblemBox error={props.error} />
      <div class="actions">
        <button type="submit" class="button button--primary" disabled={props.busy}>
          {item ? t('common.save') : t('console.addItem')}
        </button>
        <button type="button" class="button" onClick={props.onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

const MARKS: readonly { value: Attendance; label: MessageKey }[] = [
  { value: 'ATTENDANCE_PRESENT', label: 'console.mark.present' },
  { value: 'ATTENDANCE_PRESENT_ONLINE', label: 'console.mark.online' },
  { value: 'ATTENDANCE_ABSENT_EXCUSED', label: 'console.mark.absent' },
  { value: 'ATTENDANCE_NOT_PRESENT', label: 'console.mark.notPresent' },
];

function AttendanceDesk({ meeting, model, onStale }: SectionProps) {
  const { t } = useI18n();
  const act = useAction(model, onStale);
  const [absentFor, setAbsentFor] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [added, setAdded] = useState('');
  const marking = canMarkAttendance(meeting.state);

  const mark = (p: Participant, attendance: Attendance, absenceReason = '') =>
    act.run(`person:${p.personId}`, () =>
      request('POST', path(meeting, '/attendance'), { personId: p.personId, attendance, absenceReason }),
    );

  return (
    <section class="panel" aria-labelledby="attendance-title" data-testid="attendance-desk">
      <h2 id="attendance-title" class="section-title">
        {t('console.attendance')}
      </h2>
      <QuorumBar quorum={meeting.quorum} />
      {isOpen(meeting.state) && (
        <div class="actions">
          <button
            type="button"
            class="button"
            data-testid="add-from-body"
            disabled={act.busy}
            onClick={() => {
              setAdded('');
              void act
                .run('body', () => request('POST', path(meeting, '/participants'), { fromBody: true }))
                .then((ok) => ok && setAdded(t('console.addedFromBody')));
            }}
          >
            {t('console.addFromBody')}
          </button>
        </div>
      )}
      <ProblemBox error={act.errorAt('body')} />
      <Notice text={added} />
      {meeting.participants.length === 0 && <p class="empty">{t('meeting.participantsEmpty')}</p>}
      <ul class="people people--desk">
        {meeting.participants.map((p) => (
          <li key={p.personId} class="person" data-person-id={p.personId} data-attendance={p.attendance} data-voting={String(p.votingRight)}>
            <div class="person-main">
              <span class="person-name">{p.fullName}</span>
              <ParticipantFacts p={p} />
              <span class="rsvp" data-rsvp={p.rsvp}>
                {t('console.rsvp', { rsvp: enumLabel(t, 'rsvp', p.rsvp) })}
                {p.rsvp === 'RSVP_ABSENT' && p.absenceReason && ` — ${p.absenceReason}`}
              </span>
              <AttendanceText p={p} />
            </div>
            {marking && (
              <div class="choices" role="group" aria-label={`${t('console.attendance')}: ${p.fullName}`}>
                {MARKS.map((m) => (
                  <button
                    type="button"
                    key={m.value}
                    class="choice"
                    data-mark={m.value}
                    aria-pressed={p.attendance === m.value}
                    disabled={act.busy}
                    onClick={() => {
                      if (m.value === 'ATTENDANCE_ABSENT_EXCUSED') {
                        setAbsentFor(p.personId);
                        setReason(p.absenceReason);
                      } else {
                        setAbsentFor(null);
                        void mark(p, m.value);
                      }
                    }}
                  >
                    {t(m.label)}
                  </button>
                ))}
              </div>
            )}
            {absentFor === p.personId && (
              <form
                class="form inline-form"
                onSubmit={(e) => {
                  e.preventDefault();
                  void mark(p, 'ATTENDANCE_ABSENT_EXCUSED', reason.trim()).then((ok) => ok && setAbsentFor(null));
                }}
              >
                <label class="field">
                  <span class="field-label">{t('console.absentReason', { name: p.fullName })}</span>
                  <input name="absence_reason" value={reason} maxLength={500} onInput={(e) => setReason(e.currentTarget.value)} />
                </label>
                <div class="actions">
                  <button type="submit" class="button button--primary" disabled={act.busy}>
                    {t('common.save')}
                  </button>
                  <button type="button" class="button" onClick={() => setAbsentFor(null)}>
                    {t('common.cancel')}
                  </button>
                </div>
              </form>
            )}
            <ProblemBox error={act.errorAt(`person:${p.personId}`)} />
          </li>
        ))}
      </ul>
    </section>
  );
}
