// The speakers list of a meeting in progress: participants ask to speak from their tablet,
// the chair or minute-taker gives the floor in order (console). The list arrives with the
// meeting, so it follows the room live through the meeting's events like everything else.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { request, seg } from './api';
import { Notice, ProblemBox } from './components';
import { enumLabel, useI18n } from './i18n';
import { openSpeakRequest, type Meeting, type Speaker } from './model';

/** Whether the meeting has a speakers list to show (it is only kept while in progress). */
export function showsSpeakers(m: Meeting): boolean {
  return m.state === 'MEETING_STATE_IN_PROGRESS' || m.speakers.length > 0;
}

// SpeakerList: who has the floor, the queue, then (folded away) finished turns. tools, when
// given, adds the console's controls to a speaker's row.
export function SpeakerList({ meeting, tools }: { meeting: Meeting; tools?: (s: Speaker, i: number, waiting: Speaker[]) => ComponentChildren }) {
  const { t } = useI18n();
  const open = meeting.speakers.filter((s) => s.state === 'SPEAKER_STATE_SPEAKING' || s.state === 'SPEAKER_STATE_WAITING');
  const waiting = open.filter((s) => s.state === 'SPEAKER_STATE_WAITING');
  const past = meeting.speakers.filter((s) => !open.includes(s));
  const itemTitle = (id: string) => meeting.agenda.find((a) => a.id === id)?.title ?? '';
  return (
    <>
      {open.length === 0 && <p class="empty">{t('speakers.empty')}</p>}
      <ol class="agenda speakers" data-testid="speaker-list">
        {open.map((s) => {
          const speaking = s.state === 'SPEAKER_STATE_SPEAKING';
          return (
            <li
              key={s.id}
              class={`agenda-item ${speaking ? 'agenda-item--current' : ''}`}
              aria-current={speaking ? 'true' : undefined}
              data-speaker-id={s.id}
              data-person-id={s.personId}
              data-state={s.state}
            >
              <span class="agenda-pos">{speaking ? '▶' : s.position}</span>
              <div class="agenda-text">
                <span class="agenda-title">{s.fullName}</span>
                <span class="agenda-meta">
                  <strong class={speaking ? 'agenda-now' : ''}>{enumLabel(t, 'speakers.state', s.state)}</strong>
                  {s.agendaItemId && itemTitle(s.agendaItemId) && <span>{itemTitle(s.agendaItemId)}</span>}
                  {s.note && <span>{s.note}</span>}
                </span>
                {tools && <div class="item-tools">{tools(s, waiting.indexOf(s), waiting)}</div>}
              </div>
            </li>
          );
        })}
      </ol>
      {past.length > 0 && (
        <details class="speakers-past">
          <summary>{t('speakers.finished', { n: past.length })}</summary>
          <ul data-testid="speaker-past">
            {past.map((s) => (
              <li key={s.id} data-speaker-id={s.id} data-state={s.state}>
                {s.fullName} — {enumLabel(t, 'speakers.state', s.state)}
              </li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}

// MySpeakRequest: a participant's "Xin phát biểu" / "Rút" while the meeting is in progress.
export function MySpeakRequest({ meeting, myId, onChanged }: { meeting: Meeting; myId: string; onChanged: (res: unknown) => void }) {
  const { t } = useI18n();
  const [asking, setAsking] = useState(false);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const mine = openSpeakRequest(meeting, myId);
  const base = `/api/v1/meetings/${seg(meeting.id)}/speakers`;

  async function send(method: 'POST', path: string, body: unknown, message: string) {
    setBusy(true);
    setError(null);
    setDone('');
    try {
      onChanged(await request(method, path, body));
      setAsking(false);
      setNote('');
      setDone(message);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (meeting.state !== 'MEETING_STATE_IN_PROGRESS') return null;
  return (
    <div class="my-speak" data-testid="my-speak" data-state={mine?.state ?? 'none'}>
      {mine?.state === 'SPEAKER_STATE_SPEAKING' && <p class="agenda-now" data-testid="my-speak-status">{t('speakers.youSpeak')}</p>}
      {mine?.state === 'SPEAKER_STATE_WAITING' && (
        <div class="actions">
          <span data-testid="my-speak-status">{t('speakers.youWait', { n: mine.position })}</span>
          <button type="button" class="button" data-testid="speak-withdraw" disabled={busy} onClick={() => void send('POST', `${base}:withdraw`, {}, t('speakers.withdrawn'))}>
            {t('speakers.withdraw')}
          </button>
        </div>
      )}
      {!mine && !asking && (
        <div class="actions">
          <button type="button" class="button button--primary button--big" data-testid="speak-request" onClick={() => setAsking(true)}>
            {t('speakers.request')}
          </button>
        </div>
      )}
      {!mine && asking && (
        <form
          class="form inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const item = meeting.currentAgendaItemId;
            void send('POST', base, { note: note.trim(), agendaItemId: item }, t('speakers.requested'));
          }}
        >
          <label class="field">
            <span class="field-label">{t('speakers.note')}</span>
            <input name="speak_note" value={note} maxLength={200} onInput={(e) => setNote(e.currentTarget.value)} />
          </label>
          <div class="actions">
            <button type="submit" class="button button--primary" data-testid="speak-send" disabled={busy}>
              {t('speakers.send')}
            </button>
            <button type="button" class="button" onClick={() => setAsking(false)}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      )}
      <ProblemBox error={error} testid="speak-problem" />
      <Notice text={done} />
    </div>
  );
}
