// /polls: the written opinion polls (phiếu lấy ý kiến) and open votes the signed-in person
// is asked to answer, with their deadlines; /polls/:id: one poll — the ballot while it is
// open, the result and the receipt check once published. Both follow the live channel.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { request } from '../api';
import { Loading, ProblemBox, useTitle } from '../components';
import { formatShortDate, formatTime } from '../format';
import { useLiveEvents } from '../livectx';
import { PollCard, usePolls } from '../pollviews';
import { Link } from '../router';
import { useSession } from '../session';
import { forgetOthers, pollSignal, pollsFrom, type Poll } from '../voting';
import { useVotingText, votingLabel } from '../votingtext';

export function PollsInboxPage() {
  const { vt, lang } = useVotingText();
  useTitle(vt('inbox.title'));
  const [polls, setPolls] = useState<Poll[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const gen = useRef(0);
  const load = useCallback(() => {
    const mine = ++gen.current;
    request('GET', '/api/v1/me/polls')
      .then((res) => {
        if (mine !== gen.current) return;
        // Soonest deadline first; polls without one after them.
        const list = pollsFrom(res).sort(
          (a, b) => (a.deadline?.getTime() ?? Infinity) - (b.deadline?.getTime() ?? Infinity) || a.title.localeCompare(b.title),
        );
        setPolls(list);
        setError(null);
      })
      .catch((err: unknown) => {
        if (mine === gen.current) setError(err);
      });
  }, []);
  useEffect(load, [load]);
  // A poll opened, closed or published anywhere the person can see may change the list.
  useLiveEvents((e) => {
    const sig = pollSignal(e.eventType, e.data);
    if (sig && sig.kind === 'poll') load();
  });

  const now = Date.now();
  return (
    <section aria-labelledby="inbox-title" data-testid="polls-inbox">
      <h1 id="inbox-title" class="page-title">
        {vt('inbox.title')}
      </h1>
      <p class="hint">{vt('inbox.intro')}</p>
      <ProblemBox error={error} onRetry={load} testid="inbox-problem" />
      {polls === null && !error && <Loading />}
      {polls !== null && polls.length === 0 && <p class="empty">{vt('inbox.empty')}</p>}
      {polls !== null && polls.length > 0 && (
        <ul class="cards inbox" data-testid="inbox-list">
          {polls.map((p) => {
            const overdue = p.deadline !== null && p.deadline.getTime() < now && p.state === 'POLL_STATE_OPEN';
            const answered = p.myStatus?.voted ?? false;
            return (
              <li key={p.id} class="card" data-poll-id={p.id} data-state={p.state} data-answered={String(answered)} data-overdue={String(overdue)}>
                <Link class="card-link" href={`/polls/${encodeURIComponent(p.id)}`} data-testid="inbox-link">
                  <span class="card-title">{p.title}</span>
                  <span class="card-meta">
                    {votingLabel(vt, 'kind', p.kind)} · {votingLabel(vt, 'state', p.state)}
                  </span>
                  {p.deadline && (
                    <span class="card-meta">
                      {vt('inbox.deadline', { when: `${formatShortDate(lang, p.deadline)} ${formatTime(lang, p.deadline)}` })}
                      {overdue && <strong class="inbox-overdue"> · {vt('inbox.overdue')}</strong>}
                    </span>
                  )}
                  <span class={`card-foot ${answered ? 'inbox-answered' : ''}`}>{answered ? vt('inbox.answered') : vt('inbox.todo')}</span>
                </Link>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

export function PollPage({ id }: { id: string }) {
  const { vt } = useVotingText();
  const { session } = useSession();
  const personId = session.kind === 'signed-in' ? session.principal.personId : '';
  const model = usePolls({ pollId: id });
  useEffect(() => forgetOthers(personId), [personId]);
  const poll = model.polls?.[0] ?? null;
  useTitle(poll?.title ?? vt('inbox.title'));
  const back = poll?.meetingId ? (
    <Link class="back-link" href={`/meetings/${encodeURIComponent(poll.meetingId)}`}>
      ← {vt('page.toMeeting')}
    </Link>
  ) : (
    <Link class="back-link" href="/polls">
      ← {vt('page.toInbox')}
    </Link>
  );
  return (
    <section data-testid="poll-page" data-poll-id={id}>
      <p class="back">{back}</p>
      <ProblemBox error={model.error} onRetry={model.reload} testid="poll-page-problem" />
      {!poll && !model.error && <Loading />}
      {poll && (
        <PollCard
          poll={poll}
          result={model.results[poll.id] ?? null}
          meeting={null}
          // The meeting's controls live on the meeting page; here the person answers.
          runner={false}
          personId={personId}
          predicted={null}
          onChanged={model.apply}
          onStale={() => model.refresh(poll.id)}
        />
      )}
    </section>
  );
}
