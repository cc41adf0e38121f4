// The voting screens: a meeting's votes (the chair's and minute-taker's controls, the
// member's ballot, the published result with the receipt check) and the pieces the poll
// page and the written-opinion inbox reuse. Server text (titles, choice labels, names,
// rules) is rendered as text, never as HTML.
//
// Secrecy on the tablet: while a poll is open only the counts of ballots cast and voters
// entitled are shown; the ballot's choice is kept on this tablet only until the server has
// acknowledged it (the pending ballot, for a retry with the same idempotency key), and the
// receipt afterwards, both keyed by person.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, request, seg } from './api';
import { Loading, Notice, ProblemBox } from './components';
import { formatShortDate, formatTime } from './format';
import { useLiveEvents } from './livectx';
import { canRun, isPresent, me, type Meeting } from './model';
import { useSession } from './session';
import {
  applyProgress,
  castBallot,
  clearPending,
  choiceCountOk,
  createPoll,
  electionBallotInvalid,
  forgetOthers,
  getResult,
  hasSurplus,
  isElection,
  listCountedBallots,
  loadPending,
  loadReceipt,
  mergePoll,
  newIdempotencyKey,
  pollAction,
  pollFrom,
  pollPath,
  pollSignal,
  pollsFrom,
  receiptHash,
  recordHands,
  saveReceipt,
  savePending,
  takesBallots,
  type CountedBallot,
  type PendingBallot,
  type Poll,
  type PollAction,
  type PollKind,
  type Result,
} from './voting';
import { reasonText, useVotingText, votingLabel } from './votingtext';
import './voting.css';

// --- the polls of one meeting, followed live ----------------------------------------------

export interface PollsModel {
  polls: Poll[] | null;
  /** Published results from PollPublished events and the runner's own calls. */
  results: Record<string, Result>;
  error: unknown;
  reload(): void;
  /** Shows a poll returned by a request this page made (it carries the caller's status). */
  apply(poll: Poll, result?: Result | null): void;
  /** Reloads one poll (its caller-specific status included). */
  refresh(id: string): void;
}

// What needs doing comes first: an open vote (the ballot), then drafts and closed votes
// (the chair's next step), then published results, the newest of each first.
const STATE_ORDER: Record<string, number> = { POLL_STATE_OPEN: 0, POLL_STATE_DRAFT: 1, POLL_STATE_CLOSED: 2, POLL_STATE_PUBLISHED: 3 };

function sortPolls(ps: Iterable<Poll>): Poll[] {
  return [...ps].sort(
    (a, b) =>
      (STATE_ORDER[a.state] ?? 4) - (STATE_ORDER[b.state] ?? 4) ||
      (b.createTime?.getTime() ?? 0) - (a.createTime?.getTime() ?? 0) ||
      a.id.localeCompare(b.id),
  );
}

/**
 * Loads polls (a meeting's, or one by id) and keeps them current from the live channel:
 * poll events carry the whole poll and replace it (newer versions only), VoteProgress
 * moves the counts, and each poll event also reloads that poll so the caller's own status
 * (entitled, voted) — which an event cannot carry — stays right.
 */
export function usePolls(source: { meetingId: string } | { pollId: string }): PollsModel {
  const [polls, setPolls] = useState<Map<string, Poll> | null>(null);
  const [results, setResults] = useState<Record<string, Result>>({});
  const [error, setError] = useState<unknown>(null);
  const gen = useRef(0);
  const key = 'meetingId' in source ? `m:${source.meetingId}` : `p:${source.pollId}`;
  const belongs = useCallback(
    (p: Poll) => ('meetingId' in source ? p.meetingId === source.meetingId : p.id === source.pollId),
    [key],
  );

  const merge = useCallback((incoming: Poll[]) => {
    setPolls((prev) => {
      const next = new Map(prev ?? []);
      for (const p of incoming) next.set(p.id, mergePoll(next.get(p.id), p));
      return next;
    });
  }, []);

  const reload = useCallback(() => {
    const mine = ++gen.current;
    const path = 'meetingId' in source ? `/api/v1/meetings/${seg(source.meetingId)}/polls` : pollPath(source.pollId);
    request('GET', path)
      .then((res) => {
        if (mine !== gen.current) return;
        const list = 'meetingId' in source ? pollsFrom(res) : [pollFrom(res)];
        setPolls((prev) => {
          const next = new Map<string, Poll>();
          for (const p of list) next.set(p.id, mergePoll(prev?.get(p.id), p));
          return next;
        });
        setError(null);
      })
      .catch((err: unknown) => {
        if (mine === gen.current) setError(err);
      });
  }, [key]);

  useEffect(() => {
    setPolls(null);
    setResults({});
    setError(null);
    reload();
    return () => {
      gen.current++;
    };
  }, [reload]);

  const refresh = useCallback(
    (id: string) => {
      request('GET', pollPath(id))
        .then((res) => merge([pollFrom(res)]))
        .catch(() => {
          // The event already showed the change; the caller's status catches up at the
          // next event or reload.
        });
    },
    [merge],
  );

  const apply = useCallback(
    (poll: Poll, result?: Result | null) => {
      if (poll.id === '') return;
      merge([poll]);
      if (result) setResults((r) => ({ ...r, [poll.id]: result }));
    },
    [merge],
  );

  useLiveEvents((e) => {
    const sig = pollSignal(e.eventType, e.data);
    if (!sig) return;
    if (sig.kind === 'progress') {
      setPolls((prev) => {
        const shown = prev?.get(sig.pollId);
        if (!prev || !shown) return prev;
        const next = applyProgress(shown, sig.ballotsCast, sig.entitled);
        if (next === shown) return prev;
        return new Map(prev).set(sig.pollId, next);
      });
      return;
    }
    if (!belongs(sig.poll)) return;
    merge([sig.poll]);
    if (sig.result) setResults((r) => ({ ...r, [sig.poll.id]: sig.result as Result }));
    refresh(sig.poll.id);
  });

  return { polls: polls && sortPolls(polls.values()), results, error, reload, apply, refresh };
}

// --- the meeting page's section -------------------------------------------------------------

/** Whether the caller would be entitled, from the meeting as it stands (the server decides). */
function predictEntitled(meeting: Meeting | null, personId: string | undefined): boolean | null {
  if (!meeting) return null;
  const p = me(meeting, personId);
  if (!p) return false;
  return p.votingRight && p.standing !== 'STANDING_PROBATIONARY' && isPresent(p.attendance);
}

export function VotingSection({ meeting }: { meeting: Meeting }) {
  const { vt } = useVotingText();
  const { session } = useSession();
  const personId = session.kind === 'signed-in' ? session.principal.personId : '';
  const model = usePolls({ meetingId: meeting.id });
  useEffect(() => forgetOthers(personId), [personId]);
  const runner = canRun(meeting);
  const hasPolls = (model.polls?.length ?? 0) > 0;
  // A meeting without votes shows the section to those who can create one only.
  if (!runner && !hasPolls && !model.error) return null;
  const live = meeting.state === 'MEETING_STATE_IN_PROGRESS' || meeting.state === 'MEETING_STATE_SCHEDULED';
  return (
    <section class="panel voting" aria-labelledby="voting-title" data-testid="voting" data-count={model.polls?.length ?? ''}>
      <h2 id="voting-title" class="section-title">
        {vt('section.title')}
      </h2>
      <ProblemBox error={model.error} onRetry={model.reload} testid="voting-problem" />
      {model.polls === null && !model.error && <Loading />}
      {model.polls !== null && model.polls.length === 0 && <p class="empty">{vt('section.none')}</p>}
      {model.polls?.map((p) => (
        <PollCard
          key={p.id}
          poll={p}
          result={model.results[p.id] ?? null}
          meeting={meeting}
          runner={runner}
          personId={personId}
          predicted={predictEntitled(meeting, personId)}
          onChanged={model.apply}
          onStale={() => model.refresh(p.id)}
        />
      ))}
      {runner && live && <CreatePollForm meeting={meeting} onCreated={(p) => model.apply(p)} />}
    </section>
  );
}

// --- one poll ---------------------------------------------------------------------------------

export interface PollCardProps {
  poll: Poll;
  result: Result | null;
  meeting: Meeting | null;
  runner: boolean;
  personId: string;
  /** Entitlement guessed from the meeting until the server's own status arrives. */
  predicted: boolean | null;
  onChanged: (poll: Poll, result?: Result | null) => void;
  onStale: () => void;
}

export function PollCard({ poll, result, meeting, runner, personId, predicted, onChanged, onStale }: PollCardProps) {
  const { vt, lang } = useVotingText();
  const item = meeting?.agenda.find((a) => a.id === poll.agendaItemId);
  const status = poll.myStatus;
  const entitled = status ? status.entitled : (predicted ?? false);
  const pending = personId ? loadPending(personId, poll.id) : null;
  const [receipt, setReceipt] = useState(() => (personId ? loadReceipt(personId, poll.id) : ''));
  useEffect(() => setReceipt(personId ? loadReceipt(personId, poll.id) : ''), [personId, poll.id]);
  const voted = (status?.voted ?? false) || receipt !== '';
  const showBallot = poll.state === 'POLL_STATE_OPEN' && takesBallots(poll) && (pending !== null || (entitled && !voted));

  return (
    <article
      class={`poll poll--${poll.state.replace('POLL_STATE_', '').toLowerCase()}`}
      data-testid="poll"
      data-poll-id={poll.id}
      data-state={poll.state}
      data-kind={poll.kind}
      data-secret={String(poll.secret)}
      data-version={poll.version}
      aria-labelledby={`poll-${poll.id}-title`}
    >
      <header class="poll-head">
        <p class="poll-kind">
          {votingLabel(vt, 'kind', poll.kind)} · {poll.secret ? vt('secret.yes') : vt('secret.no')}
        </p>
        <h3 id={`poll-${poll.id}-title`} class="poll-title" data-testid="poll-title">
          {poll.title}
        </h3>
        <p class="poll-meta">
          <span class={`badge poll-state poll-state--${poll.state.replace('POLL_STATE_', '').toLowerCase()}`} data-testid="poll-state">
            {votingLabel(vt, 'state', poll.state)}
          </span>
          {meeting && <span>{item ? vt('section.forItem', { item: item.title }) : vt('section.forMeeting')}</span>}
          {poll.deadline && (
            <span data-testid="poll-deadline">
              {vt('inbox.deadline', { when: `${formatShortDate(lang, poll.deadline)} ${formatTime(lang, poll.deadline)}` })}
            </span>
          )}
        </p>
      </header>

      {/* A show of hands has no ballots to count while it is open. */}
      {poll.state === 'POLL_STATE_OPEN' && takesBallots(poll) && <Progress poll={poll} />}

      {showBallot && (
        <Ballot
          poll={poll}
          personId={personId}
          pending={pending}
          onReceipt={(r, p) => {
            setReceipt(r);
            onChanged(p);
          }}
        />
      )}
      {poll.state === 'POLL_STATE_OPEN' && !showBallot && takesBallots(poll) && (voted || status) && (
        <VoterLine poll={poll} voted={voted} receipt={receipt} />
      )}
      {poll.state === 'POLL_STATE_CLOSED' && voted && receipt && <ReceiptLine receipt={receipt} />}

      {runner && <RunnerControls poll={poll} onChanged={onChanged} onStale={onStale} />}

      {poll.state === 'POLL_STATE_PUBLISHED' && (
        <PublishedResult poll={poll} result={result} receipt={receipt} voted={voted} onResult={(r) => onChanged(poll, r)} />
      )}
    </article>
  );
}

function VoterLine({ poll, voted, receipt }: { poll: Poll; voted: boolean; receipt: string }) {
  const { vt } = useVotingText();
  if (voted) {
    return (
      <div class="voter-line voter-line--voted" data-testid="voted">
        <p class="voted">{vt('ballot.voted')}</p>
        {receipt && <ReceiptLine receipt={receipt} />}
      </div>
    );
  }
  const reason = poll.myStatus?.reason ?? '';
  return (
    <p class="voter-line" data-testid="not-entitled" data-reason={reason}>
      {vt('ballot.notEntitled', { reason: reasonText(vt, reason || 'NO_VOTING_RIGHT') })}
    </p>
  );
}

function ReceiptLine({ receipt }: { receipt: string }) {
  const { vt } = useVotingText();
  return (
    <div class="receipt" data-testid="receipt" data-receipt={receipt}>
      <p class="receipt-label">{vt('ballot.receipt')}</p>
      <p class="receipt-code">{receipt}</p>
      <p class="hint">{vt('ballot.receiptNote')}</p>
    </div>
  );
}

// Progress: ballots cast of voters entitled, in words and as a bar — never partial results.
function Progress({ poll }: { poll: Poll }) {
  const { vt } = useVotingText();
  const { ballotsCast: cast, entitled } = poll;
  const pct = entitled > 0 ? Math.min(100, (cast / entitled) * 100) : 0;
  const text = vt('progress.count', { cast, entitled });
  return (
    <div class="poll-progress" data-testid="progress" data-cast={cast} data-entitled={entitled}>
      <div
        class="poll-bar"
        role="progressbar"
        aria-label={vt('progress.label')}
        aria-valuemin={0}
        aria-valuemax={entitled}
        aria-valuenow={cast}
        aria-valuetext={text}
      >
        <div class="poll-bar-fill" style={{ width: `${pct}%` }} />
      </div>
      <p class="poll-progress-count">{text}</p>
    </div>
  );
}

// --- the ballot -------------------------------------------------------------------------------

type Step = 'choose' | 'confirm';

function Ballot({
  poll,
  personId,
  pending,
  onReceipt,
}: {
  poll: Poll;
  personId: string;
  pending: PendingBallot | null;
  onReceipt: (receipt: string, poll: Poll) => void;
}) {
  const { vt } = useVotingText();
  const [picked, setPicked] = useState<string[]>([]);
  // Election with surplus: the names struck out; without: agree (true) / disagree (false).
  const [struck, setStruck] = useState<Set<string>>(new Set());
  const [marks, setMarks] = useState<Record<string, boolean>>({});
  const [step, setStep] = useState<Step>('choose');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // The pending ballot also lives in memory, so a retry works without storage.
  const inFlight = useRef<PendingBallot | null>(pending);

  const surplus = hasSurplus(poll);
  const election = isElection(poll);
  const labelOf = (id: string) => poll.choices.find((c) => c.id === id)?.label ?? id;

  // The choice ids the ballot will carry.
  const chosen = useMemo(() => {
    if (surplus) return poll.choices.filter((c) => !struck.has(c.id)).map((c) => c.id);
    if (election) return poll.choices.filter((c) => marks[c.id] === true).map((c) => c.id);
    return picked;
  }, [surplus, election, poll.choices, struck, marks, picked]);

  const ready = surplus
    ? true
    : election
      ? poll.choices.every((c) => c.id in marks)
      : choiceCountOk(poll, picked.length);
  const invalid = electionBallotInvalid(poll, chosen.length);

  async function send(ballot: PendingBallot) {
    setBusy(true);
    setError(null);
    inFlight.current = ballot;
    // Stored before the request leaves: if the answer is lost, a retry (even after a
    // reload) sends the same key and gets the same receipt, never a second vote.
    savePending(personId, poll.id, ballot);
    try {
      const res = await castBallot(poll.id, ballot);
      saveReceipt(personId, poll.id, res.receipt);
      inFlight.current = null;
      onReceipt(res.receipt, res.poll.id ? res.poll : poll);
    } catch (err) {
      setError(err);
      // A network failure, a server error or throttling may have happened after the ballot
      // was recorded: keep the key for a retry. Any other answer refused this ballot for
      // good (not open, already voted with another ballot, not entitled): forget it.
      const retryable = err instanceof ApiError && (err.status === 0 || err.status >= 500 || err.status === 429);
      if (!retryable) {
        clearPending(personId, poll.id);
        inFlight.current = null;
        setStep('choose');
      }
    } finally {
      setBusy(false);
    }
  }

  // A ballot sent before (this page or an earlier one) whose answer never arrived.
  const unanswered = inFlight.current;
  if (unanswered) {
    return (
      <section class="ballot ballot--pending" data-testid="ballot" data-step="pending" aria-label={vt('ballot.title')}>
        <h4 class="ballot-title">{vt('ballot.title')}</h4>
        <p class="ballot-pending" data-testid="ballot-pending">
          {vt('ballot.pending')}
        </p>
        <p class="ballot-summary">
          {vt('ballot.confirmQ')} <strong>{unanswered.choiceIds.map(labelOf).join(', ') || vt('ballot.confirmNone')}</strong>
        </p>
        <ProblemBox error={error} testid="ballot-problem" />
        <button type="button" class="button button--primary button--big" data-testid="ballot-resend" disabled={busy} onClick={() => void send(unanswered)}>
          {busy ? vt('ballot.sending') : vt('ballot.resend')}
        </button>
      </section>
    );
  }

  if (step === 'confirm') {
    return (
      <section class="ballot ballot--confirm" data-testid="ballot" data-step="confirm" aria-label={vt('ballot.confirmTitle')}>
        <h4 class="ballot-title">{vt('ballot.confirmTitle')}</h4>
        <p class="ballot-summary">{vt('ballot.confirmQ')}</p>
        <ul class="ballot-chosen" data-testid="ballot-chosen">
          {chosen.length === 0 ? <li>{vt('ballot.confirmNone')}</li> : chosen.map((id) => <li key={id}>{labelOf(id)}</li>)}
        </ul>
        {invalid && (
          <p class="ballot-warn" data-testid="ballot-invalid">
            {vt('ballot.invalidWarn', { seats: poll.seats })}
          </p>
        )}
        <ProblemBox error={error} testid="ballot-problem" />
        <div class="actions ballot-actions">
          <button
            type="button"
            class="button button--primary button--big"
            data-testid="ballot-send"
            disabled={busy}
            onClick={() => void send({ key: newIdempotencyKey(), choiceIds: chosen })}
          >
            {busy ? vt('ballot.sending') : vt('ballot.send')}
          </button>
          <button type="button" class="button button--big" data-testid="ballot-back" disabled={busy} onClick={() => setStep('choose')}>
            {vt('ballot.back')}
          </button>
        </div>
      </section>
    );
  }

  let hint: string;
  if (surplus) hint = vt('ballot.strikeHint', { seats: poll.seats });
  else if (election) hint = vt('ballot.agreeHint');
  else if (poll.kind === 'POLL_KIND_MULTIPLE_CHOICE')
    hint = vt('ballot.pickRange', { min: Math.max(1, poll.minChoices), max: poll.maxChoices || poll.choices.length });
  else hint = vt('ballot.pickOne');
  const single = !election && poll.kind !== 'POLL_KIND_MULTIPLE_CHOICE';

  return (
    <section class="ballot" data-testid="ballot" data-step="choose" aria-label={vt('ballot.title')}>
      <h4 class="ballot-title">{vt('ballot.title')}</h4>
      <p class="hint">{hint}</p>
      <ProblemBox error={error} testid="ballot-problem" />
      {surplus ? (
        <ul class="candidates">
          {poll.choices.map((c) => {
            const off = struck.has(c.id);
            return (
              <li key={c.id} class={`candidate ${off ? 'candidate--struck' : ''}`} data-choice-id={c.id} data-struck={String(off)}>
                <span class="candidate-name">
                  {c.label}
                  {off && <span class="visually-hidden"> ({vt('ballot.struck')})</span>}
                </span>
                <button
                  type="button"
                  class="button ballot-strike"
                  data-testid="ballot-strike"
                  aria-pressed={off}
                  onClick={() =>
                    setStruck((s) => {
                      const n = new Set(s);
                      if (off) n.delete(c.id);
                      else n.add(c.id);
                      return n;
                    })
                  }
                >
                  {off ? vt('ballot.unstrike') : vt('ballot.strike')}
                </button>
              </li>
            );
          })}
        </ul>
      ) : election ? (
        <ul class="candidates">
          {poll.choices.map((c) => (
            <li key={c.id} class="candidate" data-choice-id={c.id}>
              <span class="candidate-name">{c.label}</span>
              <span class="choices" role="group" aria-label={c.label}>
                {[true, false].map((agree) => (
                  <button
                    type="button"
                    key={String(agree)}
                    class="choice ballot-mark"
                    data-testid="ballot-mark"
                    data-agree={String(agree)}
                    aria-pressed={marks[c.id] === agree}
                    onClick={() => setMarks((m) => ({ ...m, [c.id]: agree }))}
                  >
                    {agree ? vt('ballot.agree') : vt('ballot.disagree')}
                  </button>
                ))}
              </span>
            </li>
          ))}
        </ul>
      ) : (
        <div class="ballot-choices" role="group" aria-label={poll.title}>
          {poll.choices.map((c) => {
            const on = picked.includes(c.id);
            return (
              <button
                type="button"
                key={c.id}
                class="ballot-choice"
                data-testid="ballot-choice"
                data-choice-id={c.id}
                aria-pressed={on}
                onClick={() => {
                  if (single) {
                    setPicked([c.id]);
                    setStep('confirm'); // one tap chooses; the confirm step guards it
                  } else {
                    setPicked((p) => (on ? p.filter((x) => x !== c.id) : [...p, c.id]));
                  }
                }}
              >
                {c.label}
              </button>
            );
          })}
        </div>
      )}
      {surplus && (
        <p class={`ballot-kept ${invalid ? 'ballot-kept--bad' : ''}`} data-testid="ballot-kept" data-kept={chosen.length}>
          {vt('ballot.kept', { n: chosen.length, seats: poll.seats })}
          {invalid && ` — ${vt('ballot.invalidWarn', { seats: poll.seats })}`}
        </p>
      )}
      {!single && (
        <div class="actions">
          <button type="button" class="button button--primary button--big" data-testid="ballot-next" disabled={!ready} onClick={() => setStep('confirm')}>
            {vt('ballot.next')}
          </button>
        </div>
      )}
    </section>
  );
}

// --- the chair's and minute-taker's controls ------------------------------------------------

function RunnerControls({
  poll,
  onChanged,
  onStale,
}: {
  poll: Poll;
  onChanged: (poll: Poll, result?: Result | null) => void;
  onStale: () => void;
}) {
  const { vt } = useVotingText();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const [confirmClose, setConfirmClose] = useState(false);
  const [preview, setPreview] = useState<Result | null>(null);

  // A closed poll's result is the chair's and minute-taker's until published.
  useEffect(() => {
    if (poll.state !== 'POLL_STATE_CLOSED') return;
    let live = true;
    getResult(poll.id)
      .then((r) => live && setPreview(r))
      .catch((err: unknown) => live && setError(err));
    return () => {
      live = false;
    };
  }, [poll.id, poll.state]);

  async function act(action: PollAction) {
    setBusy(true);
    setError(null);
    setNotice('');
    try {
      const res = await pollAction(poll, action);
      onChanged(res.poll, res.result);
      if (res.result) setPreview(res.result);
      setConfirmClose(false);
    } catch (err) {
      if (err instanceof ApiError && err.stale) {
        setNotice(vt('run.stale'));
        onStale();
      } else {
        setError(err);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="poll-run" data-testid="poll-run">
      {poll.state === 'POLL_STATE_DRAFT' && (
        <div class="actions">
          <button type="button" class="button button--primary button--big" data-testid="poll-open" disabled={busy} onClick={() => void act('open')}>
            {vt('run.open')}
          </button>
        </div>
      )}
      {poll.state === 'POLL_STATE_OPEN' && takesBallots(poll) && (
        <div class="actions">
          {!confirmClose ? (
            <button type="button" class="button button--big" data-testid="poll-close" disabled={busy} onClick={() => setConfirmClose(true)}>
              {vt('run.close')}
            </button>
          ) : (
            <div class="inline-form">
              <p class="confirm-question">{vt('run.closeQ')}</p>
              <div class="actions">
                <button type="button" class="button button--danger" data-testid="poll-close-confirm" disabled={busy} onClick={() => void act('close')}>
                  {vt('run.closeYes')}
                </button>
                <button type="button" class="button" onClick={() => setConfirmClose(false)}>
                  {vt('ballot.back')}
                </button>
              </div>
            </div>
          )}
        </div>
      )}
      {poll.state === 'POLL_STATE_OPEN' && !takesBallots(poll) && <HandsForm poll={poll} onChanged={onChanged} onStale={onStale} />}
      {poll.state === 'POLL_STATE_CLOSED' && (
        <>
          {preview && (
            <div class="poll-preview" data-testid="poll-preview">
              <p class="hint">{vt('run.preview')}</p>
              <ResultView poll={poll} result={preview} />
            </div>
          )}
          <div class="actions">
            <button type="button" class="button button--primary button--big" data-testid="poll-publish" disabled={busy} onClick={() => void act('publish')}>
              {vt('run.publish')}
            </button>
          </div>
        </>
      )}
      <ProblemBox error={error} testid="poll-problem" />
      <Notice text={notice} testid="poll-notice" />
    </div>
  );
}

// The minute-taker counts the hands raised for each choice and enters them; the poll then
// closes with that result.
function HandsForm({ poll, onChanged, onStale }: { poll: Poll; onChanged: (p: Poll, r?: Result | null) => void; onStale: () => void }) {
  const { vt } = useVotingText();
  const [counts, setCounts] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [bad, setBad] = useState(false);
  return (
    <form
      class="form inline-form hands"
      data-testid="hands-form"
      onSubmit={(e) => {
        e.preventDefault();
        const parsed = poll.choices.map((c) => ({ choiceId: c.id, count: Number(counts[c.id] ?? '') }));
        if (parsed.some((c) => !Number.isInteger(c.count) || c.count < 0 || (counts[c.choiceId] ?? '').trim() === '')) {
          setBad(true);
          return;
        }
        setBad(false);
        setBusy(true);
        setError(null);
        recordHands(poll, parsed)
          .then((res) => onChanged(res.poll, res.result))
          .catch((err: unknown) => {
            if (err instanceof ApiError && err.stale) onStale();
            setError(err);
          })
          .finally(() => setBusy(false));
      }}
    >
      <p class="subsection-title">{vt('hands.title')}</p>
      <div class="field-row">
        {poll.choices.map((c) => (
          <label class="field" key={c.id}>
            <span class="field-label">{c.label}</span>
            <input
              type="number"
              inputMode="numeric"
              min={0}
              step={1}
              name={`hands-${c.id}`}
              data-choice-id={c.id}
              value={counts[c.id] ?? ''}
              onInput={(e) => {
                const v = e.currentTarget.value;
                setCounts((x) => ({ ...x, [c.id]: v }));
              }}
            />
          </label>
        ))}
      </div>
      {bad && <p class="problem-title" role="alert">{vt('hands.bad')}</p>}
      <ProblemBox error={error} testid="hands-problem" />
      <div class="actions">
        <button type="submit" class="button button--primary" data-testid="hands-submit" disabled={busy}>
          {vt('hands.submit')}
        </button>
      </div>
    </form>
  );
}

const KINDS: readonly PollKind[] = ['POLL_KIND_MOTION', 'POLL_KIND_ELECTION', 'POLL_KIND_SINGLE_CHOICE', 'POLL_KIND_MULTIPLE_CHOICE', 'POLL_KIND_SHOW_OF_HANDS'];

function CreatePollForm({ meeting, onCreated }: { meeting: Meeting; onCreated: (p: Poll) => void }) {
  const { vt } = useVotingText();
  const [title, setTitle] = useState('');
  const [kind, setKind] = useState<PollKind>('POLL_KIND_MOTION');
  // Secret by default for an election (Decision 190-QĐ/TW); a motion is usually open.
  const [secret, setSecret] = useState(false);
  const [secretTouched, setSecretTouched] = useState(false);
  const [itemId, setItemId] = useState(meeting.currentAgendaItemId);
  const [choices, setChoices] = useState('');
  const [seats, setSeats] = useState('1');
  const [minC, setMinC] = useState('1');
  const [maxC, setMaxC] = useState('2');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  // Follow the current agenda item until the user picks one.
  const [itemTouched, setItemTouched] = useState(false);
  useEffect(() => {
    if (!itemTouched) setItemId(meeting.currentAgendaItemId);
  }, [meeting.currentAgendaItemId, itemTouched]);

  const needsChoices = kind === 'POLL_KIND_ELECTION' || kind === 'POLL_KIND_SINGLE_CHOICE' || kind === 'POLL_KIND_MULTIPLE_CHOICE';
  return (
    <details class="create-poll" data-testid="create-poll">
      <summary class="button" data-testid="create-poll-toggle">
        {vt('create.title')}
      </summary>
      <form
        class="form inline-form"
        data-testid="create-poll-form"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          setDone('');
          createPoll({
            meetingId: meeting.id,
            organizationId: meeting.organizationId,
            agendaItemId: itemId,
            title: title.trim(),
            kind,
            // A show of hands is never secret; the box is hidden for it.
            secret: secret && kind !== 'POLL_KIND_SHOW_OF_HANDS',
            choices: needsChoices
              ? choices
                  .split('\n')
                  .map((s) => s.trim())
                  .filter((s) => s !== '')
              : [],
            seats: Number(seats) || 0,
            minChoices: Number(minC) || 0,
            maxChoices: Number(maxC) || 0,
          })
            .then((p) => {
              onCreated(p);
              setTitle('');
              setChoices('');
              setDone(vt('create.done'));
            })
            .catch((err: unknown) => setError(err))
            .finally(() => setBusy(false));
        }}
      >
        <label class="field">
          <span class="field-label">{vt('create.name')}</span>
          <input name="poll_title" value={title} maxLength={300} required onInput={(e) => setTitle(e.currentTarget.value)} />
        </label>
        <div class="field-row">
          <label class="field">
            <span class="field-label">{vt('create.kind')}</span>
            <select
              name="poll_kind"
              value={kind}
              onChange={(e) => {
                const k = e.currentTarget.value as PollKind;
                setKind(k);
                if (!secretTouched) setSecret(k === 'POLL_KIND_ELECTION');
              }}
            >
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {votingLabel(vt, 'kind', k)}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            <span class="field-label">{vt('create.item')}</span>
            <select
              name="poll_item"
              value={itemId}
              onChange={(e) => {
                setItemTouched(true);
                setItemId(e.currentTarget.value);
              }}
            >
              <option value="">{vt('create.itemNone')}</option>
              {meeting.agenda.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.position}. {a.title}
                </option>
              ))}
            </select>
          </label>
        </div>
        {kind !== 'POLL_KIND_SHOW_OF_HANDS' && (
          <label class="checkbox-field">
            <input
              type="checkbox"
              name="poll_secret"
              checked={secret}
              onChange={(e) => {
                setSecretTouched(true);
                setSecret(e.currentTarget.checked);
              }}
            />
            <span>{vt('create.secret')}</span>
          </label>
        )}
        {(kind === 'POLL_KIND_MOTION' || kind === 'POLL_KIND_SHOW_OF_HANDS') && <p class="hint">{vt('create.motionChoices')}</p>}
        {needsChoices && (
          <label class="field">
            <span class="field-label">{kind === 'POLL_KIND_ELECTION' ? vt('create.candidates') : vt('create.choices')}</span>
            <textarea name="poll_choices" rows={5} value={choices} onInput={(e) => setChoices(e.currentTarget.value)} />
          </label>
        )}
        {kind === 'POLL_KIND_ELECTION' && (
          <label class="field">
            <span class="field-label">{vt('create.seats')}</span>
            <input type="number" name="poll_seats" min={1} step={1} value={seats} onInput={(e) => setSeats(e.currentTarget.value)} />
          </label>
        )}
        {kind === 'POLL_KIND_MULTIPLE_CHOICE' && (
          <div class="field-row">
            <label class="field">
              <span class="field-label">{vt('create.min')}</span>
              <input type="number" name="poll_min" min={1} step={1} value={minC} onInput={(e) => setMinC(e.currentTarget.value)} />
            </label>
            <label class="field">
              <span class="field-label">{vt('create.max')}</span>
              <input type="number" name="poll_max" min={1} step={1} value={maxC} onInput={(e) => setMaxC(e.currentTarget.value)} />
            </label>
          </div>
        )}
        <ProblemBox error={error} testid="create-poll-problem" />
        <Notice text={done} testid="create-poll-notice" />
        <div class="actions">
          <button type="submit" class="button button--primary" data-testid="create-poll-submit" disabled={busy}>
            {vt('create.submit')}
          </button>
        </div>
      </form>
    </details>
  );
}

// --- the published result ---------------------------------------------------------------------

function PublishedResult({
  poll,
  result,
  receipt,
  voted,
  onResult,
}: {
  poll: Poll;
  result: Result | null;
  receipt: string;
  voted: boolean;
  onResult: (r: Result) => void;
}) {
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    getResult(poll.id)
      .then((r) => {
        if (r) onResult(r);
        setError(null);
      })
      .catch((err: unknown) => setError(err));
  }, [poll.id]);
  useEffect(() => {
    if (!result) load();
  }, [result, load]);
  return (
    <>
      <ProblemBox error={error} onRetry={load} testid="result-problem" />
      {result ? <ResultView poll={poll} result={result} /> : !error && <Loading />}
      {takesBallots(poll) && (receipt || voted) && <ReceiptCheck poll={poll} receipt={receipt} />}
    </>
  );
}

export function ResultView({ poll, result }: { poll: Poll; result: Result }) {
  const { vt } = useVotingText();
  const labelOf = (id: string) => poll.choices.find((c) => c.id === id)?.label ?? result.counts.find((c) => c.choiceId === id)?.label ?? id;
  const good = result.outcome === 'OUTCOME_PASSED' || result.outcome === 'OUTCOME_ELECTED' || result.outcome === 'OUTCOME_PLURALITY';
  // Bars are drawn against the base the majority was counted on (all members, say), so
  // the "needed" mark shows how far each choice got towards it.
  const scale = Math.max(1, result.base, result.ballotsCast, result.needed, ...result.counts.map((c) => Math.max(c.count, c.against)));
  const pct = (n: number) => `${Math.min(100, (n / scale) * 100)}%`;
  return (
    <section class="result" data-testid="result" data-outcome={result.outcome} aria-label={vt('result.title')}>
      <p class={`result-outcome ${good ? 'result-outcome--good' : 'result-outcome--bad'}`} data-testid="result-outcome">
        {votingLabel(vt, 'outcome', result.outcome)}
      </p>
      {result.summary && (
        <p class="result-summary" data-testid="result-summary">
          {result.summary}
        </p>
      )}
      {result.rule && (
        <p class="result-rule" data-testid="result-rule">
          {vt('result.rule', { rule: result.rule })}
        </p>
      )}
      <ul class="result-facts">
        <li data-testid="result-ballots" data-cast={result.ballotsCast}>
          {vt('result.ballots', { cast: result.ballotsCast, entitled: result.entitled })}
        </li>
        {poll.kind !== 'POLL_KIND_SHOW_OF_HANDS' && (
          <li data-testid="result-validity" data-valid={result.validBallots} data-invalid={result.invalidBallots}>
            {vt('result.validity', { valid: result.validBallots, invalid: result.invalidBallots })}
          </li>
        )}
        {result.members > 0 && (
          <li>{vt(result.quorumReached ? 'result.quorumYes' : 'result.quorumNo', { present: result.present, members: result.members })}</li>
        )}
        {result.needed > 0 && <li>{vt('result.needed', { needed: result.needed, base: result.base })}</li>}
      </ul>
      <figure class="chart" aria-label={vt('result.chart')}>
        <figcaption class="visually-hidden">{vt('result.chart')}</figcaption>
        <ul class="chart-rows" data-testid="result-counts">
          {result.counts.map((c) => {
            const elected = result.electedChoiceIds.includes(c.choiceId);
            const tied = result.tiedChoiceIds.includes(c.choiceId);
            const top = result.topChoiceIds.includes(c.choiceId);
            return (
              <li key={c.choiceId} class="chart-row" data-choice-id={c.choiceId} data-count={c.count} data-against={c.against}>
                <span class="chart-label">
                  {labelOf(c.choiceId)}
                  {elected && <strong class="chart-tag chart-tag--good"> {vt('result.elected')}</strong>}
                  {tied && <strong class="chart-tag"> {vt('result.tied')}</strong>}
                  {top && !elected && <strong class="chart-tag chart-tag--good"> {vt('result.top')}</strong>}
                </span>
                <span class="chart-track" aria-hidden="true">
                  <span class="chart-bar" style={{ width: pct(c.count) }} />
                  {c.against > 0 && <span class="chart-bar chart-bar--against" style={{ width: pct(c.against) }} />}
                  {result.needed > 0 && <span class="chart-need" style={{ left: pct(result.needed) }} />}
                </span>
                <span class="chart-value">
                  {vt('result.votes', { n: c.count })}
                  {c.against > 0 && ` · ${vt('result.against', { n: c.against })}`}
                </span>
              </li>
            );
          })}
        </ul>
      </figure>
      {!poll.secret && result.namedVotes.length > 0 && (
        <details class="named-votes" data-testid="named-votes">
          <summary>{vt('result.named')}</summary>
          <ul>
            {result.namedVotes.map((n) => (
              <li key={n.personId} data-person-id={n.personId}>
                <strong>{n.fullName}</strong>: {n.choiceIds.map(labelOf).join(', ') || '—'}
                {!n.valid && ` (${vt('result.invalidBallot')})`}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

type Verdict = 'checking' | 'found' | 'not-found' | 'unavailable' | 'no-receipt' | 'error';

// ReceiptCheck: the voter's tablet hashes the receipt it kept and looks for the hash in
// the published list of counted ballots — the check does not depend on trusting the page
// that shows the result.
function ReceiptCheck({ poll, receipt }: { poll: Poll; receipt: string }) {
  const { vt } = useVotingText();
  const [verdict, setVerdict] = useState<Verdict>(receipt ? 'checking' : 'no-receipt');
  const [ballots, setBallots] = useState<CountedBallot[] | null>(null);
  const [mine, setMine] = useState('');
  const [error, setError] = useState<unknown>(null);
  const check = useCallback(() => {
    if (!receipt) {
      setVerdict('no-receipt');
      return;
    }
    setVerdict('checking');
    setError(null);
    Promise.all([receiptHash(receipt), listCountedBallots(poll.id)])
      .then(([hash, list]) => {
        setBallots(list);
        if (hash === null) {
          setVerdict('unavailable');
          return;
        }
        setMine(hash);
        setVerdict(list.some((b) => b.receiptHash === hash) ? 'found' : 'not-found');
      })
      .catch((err: unknown) => {
        setError(err);
        setVerdict('error');
      });
  }, [poll.id, receipt]);
  useEffect(check, [check]);

  const text: Record<Verdict, string> = {
    checking: vt('verify.checking'),
    found: vt('verify.found'),
    'not-found': vt('verify.notFound'),
    unavailable: vt('verify.unavailable'),
    'no-receipt': vt('verify.noReceipt'),
    error: '',
  };
  return (
    <section class={`verify verify--${verdict}`} data-testid="verify" data-verdict={verdict} aria-live="polite" aria-label={vt('verify.title')}>
      {text[verdict] && <p class="verify-verdict">{text[verdict]}</p>}
      <ProblemBox error={error} onRetry={check} testid="verify-problem" />
      {ballots && ballots.length > 0 && (
        <details class="counted">
          <summary>{vt('verify.list', { n: ballots.length })}</summary>
          <ol class="counted-list">
            {ballots.map((b) => (
              <li key={b.receiptHash} class={b.receiptHash === mine ? 'counted--mine' : ''}>
                <code>{b.receiptHash.slice(0, 16)}…</code>
                {b.receiptHash === mine && <strong> ({vt('verify.yours')})</strong>}
              </li>
            ))}
          </ol>
        </details>
      )}
    </section>
  );
}

