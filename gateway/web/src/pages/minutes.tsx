// /meetings/:id/minutes — the minutes (biên bản) of a meeting. The minute-taker writes them
// per agenda item while the meeting runs (saved when a field loses focus, or with "Save"),
// and submits them; the chair approves them or returns them with a reason; once approved
// they are read-only, downloadable as PDF, and changed only by an amendment. Everyone else
// who may see the meeting reads them. Tasks are given from each item's conclusions.
import { useEffect, useState } from 'preact/hooks';
import { request, seg } from '../api';
import { Loading, Mark, Notice, ProblemBox, useTitle } from '../components';
import { formatDate, formatRange, formatTime } from '../format';
import { enumLabel, useI18n, type MessageKey } from '../i18n';
import {
  canDecideMinutes,
  canWriteMinutes,
  conflictingFields,
  hasMinutes,
  inConflict,
  isDirty,
  meetingAllowsApproval,
  meetingAllowsWriting,
  minutesPdfPath,
  revisionsFrom,
  TEXT_FIELDS,
  type ItemEdit,
  type ItemMinutes,
  type Minutes,
  type MinutesHeader,
  type MinutesState,
} from '../minutes';
import { canRun, type Meeting, type Principal } from '../model';
import { Link } from '../router';
import { useSession } from '../session';
import { CreateTaskForm, TaskCard, useTasks, type TasksModel } from '../taskviews';
import { isAssignee } from '../tasks';
import { useMeeting } from '../useMeeting';
import { useMinutes, type MinutesModel } from '../useMinutes';

const FIELD_LABEL: Record<(typeof TEXT_FIELDS)[number], MessageKey> = {
  discussion: 'minutes.field.discussion',
  opinions: 'minutes.field.opinions',
  conclusions: 'minutes.field.conclusions',
};

export function MinutesBadge({ state }: { state: MinutesState }) {
  const { t } = useI18n();
  return (
    <span class={`badge badge--minutes-${state.replace('MINUTES_STATE_', '').toLowerCase()}`} data-testid="minutes-state" data-state={state}>
      {state === 'MINUTES_STATE_APPROVED' && <Mark ok />}
      {enumLabel(t, 'minutes', state)}
    </span>
  );
}

export function MinutesPage({ id }: { id: string }) {
  const { t } = useI18n();
  const { session } = useSession();
  const mm = useMeeting(id);
  const ed = useMinutes(id);
  const tasks = useTasks({ meetingId: id }, (task) => task.meetingId === id);
  const { meeting } = mm;
  const minutes = ed.minutes;
  useTitle(meeting ? t('minutes.pageTitle', { title: meeting.title }) : t('common.loading'));

  // The header is the meeting as it is (attendance, times) until the minutes are approved:
  // when the meeting changes, the minutes are loaded again (items with unsaved text keep it).
  const meetingVersion = meeting?.version ?? -1;
  const approved = minutes?.state === 'MINUTES_STATE_APPROVED';
  useEffect(() => {
    if (meetingVersion >= 0 && !approved) void ed.reload();
  }, [meetingVersion]);

  const back = (
    <p class="back">
      <Link class="back-link" href={`/meetings/${encodeURIComponent(id)}`}>
        ← {t('common.backToMeeting')}
      </Link>
    </p>
  );
  if (!meeting || !minutes) {
    const error = mm.error ?? ed.loadError;
    return (
      <section>
        {back}
        {error ? <ProblemBox error={error} onRetry={() => void Promise.all([mm.reload(), ed.reload()])} /> : <Loading />}
      </section>
    );
  }

  const writer = canWriteMinutes(meeting.myRole);
  const editable = writer && minutes.state === 'MINUTES_STATE_DRAFT' && meetingAllowsWriting(meeting.state, minutes.revision);
  const runner = canRun(meeting);
  const principal = session.kind === 'signed-in' ? session.principal : null;
  const dirty = ed.dirtyCount();

  return (
    <article
      class="minutes-page"
      data-testid="minutes"
      data-meeting-id={meeting.id}
      data-state={minutes.state}
      data-version={minutes.version}
      data-revision={minutes.revision}
      data-editable={String(editable)}
    >
      {back}
      <header class="meeting-head">
        <p class="meeting-kind">{t('minutes.kicker')}</p>
        <h1 class="page-title" data-testid="meeting-title">
          {meeting.title}
        </h1>
        <p class="minutes-state-line">
          <MinutesBadge state={minutes.state} />
          {minutes.revision > 1 && <span class="minutes-revision">{t('minutes.revision', { n: minutes.revision })}</span>}
          {editable && (
            <span class="save-summary" data-testid="save-summary" data-dirty={dirty}>
              {dirty > 0 ? t('minutes.unsavedCount', { n: dirty }) : t('minutes.allSaved')}
            </span>
          )}
        </p>
        {runner && (
          <div class="actions">
            <Link class="button" href={`/meetings/${encodeURIComponent(meeting.id)}/console`} data-testid="console-link">
              {t('meeting.console')}
            </Link>
          </div>
        )}
      </header>
      {!hasMinutes(meeting.state) && minutes.version === 0 && (
        <p class="hint" data-testid="minutes-not-yet">
          {meeting.state === 'MEETING_STATE_CANCELLED' ? t('minutes.cancelled') : t('minutes.notYet')}
        </p>
      )}
      <Notice
        text={ed.notice === 'stale' ? t('minutes.stale') : ed.notice === 'unsaved' ? t('minutes.unsavedBeforeSubmit') : ''}
        testid="minutes-notice"
      />
      <StatusPanel meeting={meeting} minutes={minutes} ed={ed} />
      {minutes.revision > 1 && <Revisions meetingId={meeting.id} current={minutes} />}
      <HeaderView header={minutes.header} />
      {minutes.items.length === 0 && <p class="empty">{t('meeting.agendaEmpty')}</p>}
      {minutes.items.map((item) => (
        <ItemSection
          key={item.agendaItemId}
          meeting={meeting}
          item={item}
          ed={ed}
          editable={editable}
          tasks={tasks}
          runner={runner}
          principal={principal}
        />
      ))}
      {ed.orphans().map(({ itemId, edit }) => (
        <section key={itemId} class="panel minutes-item" data-testid="orphan-draft">
          <h2 class="section-title">{t('minutes.orphanTitle')}</h2>
          <UnsavedCopy edit={edit} />
        </section>
      ))}
      {editable && (
        <section class="panel minutes-submit" data-testid="submit-panel">
          <p class="hint">{t('minutes.submitHint')}</p>
          <div class="actions">
            <button
              type="button"
              class="button button--primary button--big"
              data-action="submit"
              disabled={ed.busy !== null}
              onClick={() => void ed.act('submit')}
            >
              {t('minutes.submit')}
            </button>
          </div>
          <ProblemBox error={ed.actionError?.action === 'submit' ? ed.actionError.error : null} testid="submit-problem" />
        </section>
      )}
    </article>
  );
}

function StatusPanel({ meeting, minutes, ed }: { meeting: Meeting; minutes: Minutes; ed: MinutesModel }) {
  const { t, lang } = useI18n();
  const [form, setForm] = useState<'none' | 'approve' | 'return' | 'amend'>('none');
  const [reason, setReason] = useState('');
  const writer = canWriteMinutes(meeting.myRole);
  const chair = canDecideMinutes(meeting.myRole);
  const errorOf = (a: 'approve' | 'return' | 'amend') => (ed.actionError?.action === a ? ed.actionError.error : null);
  const busy = ed.busy !== null;
  const open = (f: 'approve' | 'return' | 'amend') => {
    setForm(f);
    setReason('');
  };

  if (minutes.state === 'MINUTES_STATE_APPROVED') {
    return (
      <section class="panel minutes-status minutes-status--approved" data-testid="minutes-approved" aria-labelledby="approved-title">
        <p id="approved-title" class="approved-verdict">
          <Mark ok />
          {t('minutes.approved')}
        </p>
        <p data-testid="approved-by">
          {minutes.approveTime
            ? t('minutes.approvedAt', {
                name: minutes.approvedByName || minutes.header.chairName,
                time: `${formatTime(lang, minutes.approveTime)}, ${formatDate(lang, minutes.approveTime)}`,
              })
            : minutes.approvedByName}
        </p>
        {minutes.revision > 1 && minutes.amendmentReason && <p>{t('minutes.amendmentReason', { reason: minutes.amendmentReason })}</p>}
        {minutes.contentHash && (
          <p class="hash">
            {t('minutes.hash')} <code data-testid="content-hash">{minutes.contentHash}</code>
          </p>
        )}
        <div class="actions">
          {/* A plain download: the browser fetches it with the session cookie. */}
          <a class="button button--primary" href={minutesPdfPath(meeting.id)} download data-testid="pdf-link">
            {t('minutes.pdf')}
          </a>
          {writer && (
            <button type="button" class="button" data-action="amend" aria-expanded={form === 'amend'} disabled={busy} onClick={() => open('amend')}>
              {t('minutes.amend')}
            </button>
          )}
        </div>
        {form === 'amend' && writer && (
          <ReasonForm
            label={t('minutes.amendReason')}
            submit={t('minutes.amendConfirm')}
            reason={reason}
            setReason={setReason}
            busy={busy}
            error={errorOf('amend')}
            testid="amend-form"
            onSubmit={() => void ed.act('amend', { reason: reason.trim() }).then((ok) => ok && setForm('none'))}
            onCancel={() => setForm('none')}
          />
        )}
      </section>
    );
  }

  if (minutes.state === 'MINUTES_STATE_SUBMITTED') {
    const canApprove = meetingAllowsApproval(meeting.state, minutes.revision);
    return (
      <section class="panel minutes-status" data-testid="minutes-submitted">
        <p class="status-line">{chair ? t('minutes.awaitingYou') : t('minutes.awaitingChair')}</p>
        {minutes.revision > 1 && minutes.amendmentReason && <p>{t('minutes.amendmentReason', { reason: minutes.amendmentReason })}</p>}
        {chair && (
          <>
            {!canApprove && <p class="hint">{minutes.revision > 1 ? t('minutes.approveAfterClose') : t('minutes.approveAfterEnd')}</p>}
            <div class="actions">
              <button
                type="button"
                class="button button--primary"
                data-action="approve"
                aria-expanded={form === 'approve'}
                disabled={busy || !canApprove}
                onClick={() => open('approve')}
              >
                {t('minutes.approve')}
              </button>
              <button type="button" class="button" data-action="return" aria-expanded={form === 'return'} disabled={busy} onClick={() => open('return')}>
                {t('minutes.return')}
              </button>
            </div>
            {form === 'approve' && (
              <div class="inline-form" data-testid="approve-confirm">
                <p class="confirm-question">{t('minutes.approveQuestion')}</p>
                <div class="actions">
                  <button
                    type="button"
                    class="button button--primary"
                    data-action="approve-confirm"
                    disabled={busy}
                    onClick={() => void ed.act('approve').then((ok) => ok && setForm('none'))}
                  >
                    {t('minutes.approveConfirm')}
                  </button>
                  <button type="button" class="button" onClick={() => setForm('none')}>
                    {t('common.cancel')}
                  </button>
                </div>
              </div>
            )}
            <ProblemBox error={errorOf('approve')} testid="approve-problem" />
            {form === 'return' && (
              <ReasonForm
                label={t('minutes.returnReason')}
                submit={t('minutes.returnConfirm')}
                reason={reason}
                setReason={setReason}
                busy={busy}
                error={errorOf('return')}
                testid="return-form"
                onSubmit={() => void ed.act('return', { reason: reason.trim() }).then((ok) => ok && setForm('none'))}
                onCancel={() => setForm('none')}
              />
            )}
          </>
        )}
      </section>
    );
  }

  // A draft: say why it is one (returned, amending) and who is writing it.
  const notes: string[] = [];
  if (minutes.returnReason) notes.push(t('minutes.returned', { reason: minutes.returnReason }));
  if (minutes.revision > 1 && minutes.amendmentReason) notes.push(t('minutes.amendmentReason', { reason: minutes.amendmentReason }));
  if (hasMinutes(meeting.state)) {
    if (!writer) notes.push(t('minutes.beingWritten'));
    else if (!meetingAllowsWriting(meeting.state, minutes.revision)) notes.push(t('minutes.notWritable'));
  }
  if (notes.length === 0) return null;
  return (
    <section class="panel minutes-status" data-testid="minutes-draft-status">
      {notes.map((n, i) => (
        <p key={i} class={i === 0 && minutes.returnReason ? 'status-line status-line--returned' : ''} data-testid={i === 0 && minutes.returnReason ? 'returned-reason' : undefined}>
          {n}
        </p>
      ))}
    </section>
  );
}

function ReasonForm(props: {
  label: string;
  submit: string;
  reason: string;
  setReason: (s: string) => void;
  busy: boolean;
  error: unknown;
  testid: string;
  onSubmit: () => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  return (
    <form
      class="form inline-form"
      data-testid={props.testid}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      <label class="field">
        <span class="field-label">{props.label}</span>
        <textarea name="reason" rows={3} maxLength={1000} value={props.reason} onInput={(e) => props.setReason(e.currentTarget.value)} />
      </label>
      <ProblemBox error={props.error} testid={`${props.testid}-problem`} />
      <div class="actions">
        <button type="submit" class="button button--primary" disabled={props.busy}>
          {props.submit}
        </button>
        <button type="button" class="button" onClick={props.onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

function HeaderView({ header: h }: { header: MinutesHeader }) {
  const { t, lang } = useI18n();
  const present = h.present.length + h.presentOnline.length;
  return (
    <section class="panel minutes-header" data-testid="minutes-header" aria-labelledby="minutes-header-title">
      <h2 id="minutes-header-title" class="section-title">
        {t('minutes.header')}
      </h2>
      <dl class="facts facts--grid">
        {h.organizationName && (
          <div>
            <dt>{t('minutes.organization')}</dt>
            <dd data-testid="minutes-org">{h.organizationName}</dd>
          </div>
        )}
        <div>
          <dt>{t('meeting.when')}</dt>
          <dd>{formatRange(lang, h.startsAt, h.endsAt) || '—'}</dd>
        </div>
        <div>
          <dt>{t('meeting.where')}</dt>
          <dd>{h.place || '—'}</dd>
        </div>
        <div>
          <dt>{t('minutes.chair')}</dt>
          <dd data-testid="minutes-chair">{h.chairName || '—'}</dd>
        </div>
        <div>
          <dt>{t('minutes.minuteTaker')}</dt>
          <dd data-testid="minutes-taker">{h.minuteTakerName || '—'}</dd>
        </div>
        <div>
          <dt>{t('minutes.attendance')}</dt>
          <dd data-testid="minutes-count">{t('minutes.presentOf', { n: present, total: h.membersTotal })}</dd>
        </div>
      </dl>
      <dl class="people-lists">
        <div>
          <dt>{t('minutes.present', { n: h.present.length })}</dt>
          <dd data-testid="minutes-present">{h.present.length ? h.present.join(', ') : '—'}</dd>
        </div>
        <div>
          <dt>{t('minutes.presentOnline', { n: h.presentOnline.length })}</dt>
          <dd data-testid="minutes-online">{h.presentOnline.length ? h.presentOnline.join(', ') : '—'}</dd>
        </div>
        <div>
          <dt>{t('minutes.absent', { n: h.absent.length })}</dt>
          <dd data-testid="minutes-absent">
            {h.absent.length === 0
              ? '—'
              : h.absent.map((a, i) => (
                  <span key={i} class="absent-person">
                    {a.fullName}
                    {a.reason ? ` (${a.reason})` : ''}
                    {i < h.absent.length - 1 ? ', ' : ''}
                  </span>
                ))}
          </dd>
        </div>
      </dl>
    </section>
  );
}

function ItemSection(props: {
  meeting: Meeting;
  item: ItemMinutes;
  ed: MinutesModel;
  editable: boolean;
  tasks: TasksModel;
  runner: boolean;
  principal: Principal | null;
}) {
  const { item, ed, editable } = props;
  const { t } = useI18n();
  const edit = ed.edit(item.agendaItemId);
  const headingId = `item-${item.agendaItemId}`;
  return (
    <section
      class="panel minutes-item"
      aria-labelledby={headingId}
      data-testid="minutes-item"
      data-item-id={item.agendaItemId}
      data-dirty={String(!!edit && isDirty(edit))}
      data-conflict={String(!!edit && inConflict(edit))}
    >
      <h2 id={headingId} class="section-title minutes-item-title">
        <span class="agenda-pos">{item.position}</span>
        <span>{item.agendaItemTitle}</span>
      </h2>
      {item.votes.length > 0 && (
        <ul class="votes" data-testid="votes">
          {item.votes.map((v) => (
            <li key={v.pollId}>
              <strong>{v.title}</strong>: {v.summary}
            </li>
          ))}
        </ul>
      )}
      {editable && edit ? (
        <ItemEditor itemId={item.agendaItemId} title={item.agendaItemTitle} edit={edit} ed={ed} />
      ) : (
        <>
          {TEXT_FIELDS.some((f) => item[f] !== '') ? (
            <dl class="minutes-read">
              {TEXT_FIELDS.filter((f) => item[f] !== '').map((f) => (
                <div key={f} data-field={f}>
                  <dt>{t(FIELD_LABEL[f])}</dt>
                  <dd class="text-block" data-testid={`read-${f}`}>
                    {item[f]}
                  </dd>
                </div>
              ))}
            </dl>
          ) : (
            <p class="empty" data-testid="read-empty">
              {t('minutes.itemEmpty')}
            </p>
          )}
          {edit && isDirty(edit) && <UnsavedCopy edit={edit} />}
        </>
      )}
      <ItemTasks {...props} conclusions={edit ? edit.draft.conclusions : item.conclusions} />
    </section>
  );
}

function saveState(edit: ItemEdit, st: ReturnType<MinutesModel['status']>): 'saving' | 'conflict' | 'dirty' | 'saved' | 'clean' {
  if (st.saving) return 'saving';
  if (inConflict(edit)) return 'conflict';
  if (isDirty(edit)) return 'dirty';
  return st.saved ? 'saved' : 'clean';
}

const SAVE_TEXT: Record<ReturnType<typeof saveState>, MessageKey | null> = {
  saving: 'minutes.saving',
  conflict: 'minutes.conflictShort',
  dirty: 'minutes.unsaved',
  saved: 'minutes.saved',
  clean: null,
};

function ItemEditor({ itemId, title, edit, ed }: { itemId: string; title: string; edit: ItemEdit; ed: MinutesModel }) {
  const { t } = useI18n();
  const [confirmTheirs, setConfirmTheirs] = useState(false);
  const st = ed.status(itemId);
  const conflict = inConflict(edit);
  const conflicting = conflictingFields(edit);
  const state = saveState(edit, st);
  const saveText = SAVE_TEXT[state];
  return (
    <fieldset
      class={`minutes-fields ${conflict ? 'minutes-fields--conflict' : ''}`}
      data-testid="item-editor"
      data-save-state={state}
      // Autosave when the focus leaves the item (not when it moves between its fields).
      onFocusOut={(e) => {
        const to = e.relatedTarget;
        if (to instanceof Node && e.currentTarget.contains(to)) return;
        void ed.save(itemId); // nothing is sent when the item has no unsaved text
      }}
    >
      <legend class="visually-hidden">{title}</legend>
      {conflict && (
        <div class="conflict-box" role="alert" data-testid="conflict">
          <p class="conflict-title">
            <svg class="overdue-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
              <path d="M12 3 2 21h20L12 3z" />
              <path d="M12 10v5M12 18v.5" />
            </svg>
            {t('minutes.conflict')}
          </p>
          <p>{t('minutes.conflictHelp')}</p>
          <div class="actions">
            <button type="button" class="button button--primary" data-action="keep-mine" onClick={() => void ed.keepMine(itemId)}>
              {t('minutes.keepMine')}
            </button>
            <button type="button" class="button" data-action="take-theirs" aria-expanded={confirmTheirs} onClick={() => setConfirmTheirs(true)}>
              {t('minutes.takeTheirs')}
            </button>
          </div>
          {confirmTheirs && (
            <div class="inline-form">
              <p class="confirm-question">{t('minutes.takeTheirsQuestion')}</p>
              <div class="actions">
                <button
                  type="button"
                  class="button button--danger"
                  data-action="take-theirs-confirm"
                  onClick={() => {
                    setConfirmTheirs(false);
                    ed.takeTheirs(itemId);
                  }}
                >
                  {t('minutes.takeTheirsConfirm')}
                </button>
                <button type="button" class="button" onClick={() => setConfirmTheirs(false)}>
                  {t('common.cancel')}
                </button>
              </div>
            </div>
          )}
        </div>
      )}
      {conflict && (
        <div class="conflict-row conflict-heads" aria-hidden="true">
          <span class="conflict-head">{t('minutes.mine')}</span>
          <span class="conflict-head">{t('minutes.theirs')}</span>
        </div>
      )}
      {TEXT_FIELDS.map((f) => {
        // Only a section both sides changed differently needs the user (mergeItem settles the rest).
        const differs = conflicting.includes(f);
        return (
          <div key={f} class={conflict ? 'conflict-row' : 'field-block'} data-field={f}>
            <label class="field">
              <span class="field-label">{t(FIELD_LABEL[f])}</span>
              <textarea
                name={f}
                rows={f === 'discussion' ? 6 : 4}
                maxLength={20000}
                value={edit.draft[f]}
                onInput={(e) => ed.type(itemId, f, e.currentTarget.value)}
              />
            </label>
            {conflict && (
              <div class={`server-text ${differs ? 'server-text--differs' : ''}`} data-testid="server-text" data-field={f} data-differs={String(differs)}>
                <span class="field-label">
                  {t('minutes.theirsField', { field: t(FIELD_LABEL[f]) })} — {differs ? t('minutes.differs') : t('minutes.same')}
                </span>
                <p class="text-block server-text-body">{edit.server[f] || <span class="empty">{t('minutes.empty')}</span>}</p>
                {differs && (
                  <button type="button" class="button button--small" data-action="take-field" onClick={() => ed.takeTheirs(itemId, f)}>
                    {t('minutes.takeField')}
                  </button>
                )}
              </div>
            )}
          </div>
        );
      })}
      <div class="item-save">
        <span class={`save-state save-state--${state}`} data-testid="save-state" role="status">
          {saveText ? t(saveText) : ''}
        </span>
        {!conflict && (
          <button type="button" class="button" data-action="save" disabled={st.saving || !isDirty(edit)} onClick={() => void ed.save(itemId)}>
            {t('common.save')}
          </button>
        )}
      </div>
      <ProblemBox error={st.error} testid="save-problem" onRetry={isDirty(edit) && !conflict ? () => void ed.save(itemId) : undefined} />
    </fieldset>
  );
}

// UnsavedCopy: text the user typed that can no longer be saved here (the minutes were
// submitted or approved meanwhile, or the item left the agenda), kept on screen to copy.
function UnsavedCopy({ edit }: { edit: ItemEdit }) {
  const { t } = useI18n();
  return (
    <div class="unsaved-copy" role="alert" data-testid="unsaved-copy">
      <p class="conflict-title">{t('minutes.unsavedKept')}</p>
      {TEXT_FIELDS.filter((f) => edit.draft[f] !== edit.base[f]).map((f) => (
        <label key={f} class="field">
          <span class="field-label">{t(FIELD_LABEL[f])}</span>
          <textarea readOnly rows={3} value={edit.draft[f]} />
        </label>
      ))}
    </div>
  );
}

function ItemTasks(props: {
  meeting: Meeting;
  item: ItemMinutes;
  tasks: TasksModel;
  runner: boolean;
  principal: Principal | null;
  conclusions: string;
}) {
  const { meeting, item, tasks, runner } = props;
  const { t } = useI18n();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState('');
  const mine = (tasks.tasks ?? []).filter((x) => x.agendaItemId === item.agendaItemId);
  const allowed = runner && hasMinutes(meeting.state);
  if (mine.length === 0 && !allowed) return null;
  return (
    <div class="item-tasks" data-testid="item-tasks">
      {mine.length > 0 && <h3 class="subsection-title">{t('minutes.itemTasks', { n: mine.length })}</h3>}
      {mine.length > 0 && (
        <ul class="tasks">
          {mine.map((task) => (
            <TaskCard key={task.id} task={task} runner={runner} worker={runner || isAssignee(task, props.principal)} onChanged={tasks.put} />
          ))}
        </ul>
      )}
      <Notice text={created} testid="task-created" />
      {allowed &&
        (creating ? (
          <CreateTaskForm
            meeting={meeting}
            agendaItemId={item.agendaItemId}
            conclusions={props.conclusions}
            onCancel={() => setCreating(false)}
            onCreated={(task) => {
              tasks.put(task);
              setCreating(false);
              setCreated(t('task.created', { title: task.title }));
            }}
          />
        ) : (
          <button
            type="button"
            class="button"
            data-action="new-task"
            onClick={() => {
              setCreated('');
              setCreating(true);
            }}
          >
            + {props.conclusions.trim() ? t('task.fromConclusions') : t('task.create')}
          </button>
        ))}
    </div>
  );
}

// Revisions: the earlier revisions of amended minutes, each with why it was amended and,
// once approved, its own PDF — what was signed stays available after an amendment.
function Revisions({ meetingId, current }: { meetingId: string; current: Minutes }) {
  const { t, lang } = useI18n();
  const [revisions, setRevisions] = useState<Minutes[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    request('GET', `/api/v1/meetings/${seg(meetingId)}/minutes/revisions`)
      .then((res) => live && setRevisions(revisionsFrom(res)))
      .catch((err: unknown) => live && setError(err));
    return () => {
      live = false;
    };
  }, [meetingId, current.revision, current.state]);
  const earlier = (revisions ?? []).filter((r) => r.revision < current.revision).sort((a, b) => b.revision - a.revision);
  if (earlier.length === 0 && !error) return null;
  return (
    <section class="panel" aria-labelledby="revisions-title" data-testid="revisions">
      <h2 id="revisions-title" class="section-title">
        {t('minutes.revisions')}
      </h2>
      <ProblemBox error={error} />
      <ul class="revisions">
        {earlier.map((r) => (
          <li key={r.revision} class="revision" data-revision={r.revision}>
            <span class="revision-main">
              <strong>{r.revision === 1 ? t('minutes.original') : t('minutes.revision', { n: r.revision })}</strong>{' '}
              <MinutesBadge state={r.state} />
              {r.approveTime && ` ${formatTime(lang, r.approveTime)}, ${formatDate(lang, r.approveTime)}`}
            </span>
            {r.state === 'MINUTES_STATE_APPROVED' && (
              <a class="button button--small" href={minutesPdfPath(meetingId, r.revision)} download data-testid="revision-pdf">
                {t('minutes.pdfShort')}
              </a>
            )}
            {r.revision > 1 && r.amendmentReason && <span class="hint">{t('minutes.amendmentReason', { reason: r.amendmentReason })}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}
