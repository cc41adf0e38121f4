// The meeting page's vote delegation panel: a voting member appoints, sees and withdraws
// their own delegate (where the organisation allows delegation); a delegate sees whose vote
// they hold; the chair and minute-taker see every delegation and may clear any.
import { useState } from 'preact/hooks';
import { Notice, ProblemBox } from './components';
import { delegateCandidates, delegationEditable, delegations, nameOf, principalOf, setDelegate, votes } from './delegation';
import { canRun, me, type Meeting } from './model';
import { useVotingText, type VotingKey } from './votingtext';

export function DelegationSection({ meeting, myId, onChanged }: { meeting: Meeting; myId?: string; onChanged: (res: unknown) => void }) {
  const { vt } = useVotingText();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const [pick, setPick] = useState('');

  const mine = me(meeting, myId);
  const runner = canRun(meeting);
  const all = delegations(meeting);
  const holding = mine ? principalOf(meeting, mine.personId) : null;
  const open = delegationEditable(meeting);
  // Once turned off, an existing delegation can still be seen and withdrawn.
  const showMine = mine !== null && votes(mine) && (meeting.allowVoteDelegation || mine.delegatePersonId !== '');
  const showList = runner && (meeting.allowVoteDelegation || all.length > 0);
  if (!showMine && !showList && !holding) return null;

  async function change(personId: string, delegateId: string, done: VotingKey) {
    setBusy(true);
    setError(null);
    setNotice('');
    try {
      onChanged(await setDelegate(meeting.id, personId, delegateId));
      setPick('');
      setNotice(vt(done));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const candidates = mine ? delegateCandidates(meeting, mine) : [];
  return (
    <section class="panel delegation" aria-labelledby="delegation-title" data-testid="delegation">
      <h2 id="delegation-title" class="section-title">
        {vt('delegate.title')}
      </h2>
      <ProblemBox error={error} testid="delegation-problem" />
      <Notice text={notice} testid="delegation-notice" />
      {holding && (
        <p data-testid="delegate-holding" data-principal={holding.personId}>
          {vt('delegate.holding', { name: holding.fullName })}
        </p>
      )}
      {showMine && mine && (
        <div data-testid="delegate-mine" data-delegate={mine.delegatePersonId}>
          <p class="hint">{vt('delegate.intro')}</p>
          {mine.delegatePersonId !== '' ? (
            <p>
              {vt('delegate.mine', { name: nameOf(meeting, mine.delegatePersonId) })}{' '}
              {open && (
                <button
                  type="button"
                  class="button"
                  data-testid="delegate-clear"
                  disabled={busy}
                  onClick={() => void change(mine.personId, '', 'delegate.cleared')}
                >
                  {vt('delegate.clear')}
                </button>
              )}
            </p>
          ) : (
            <p>{vt('delegate.mineNone')}</p>
          )}
          {!meeting.allowVoteDelegation && <p class="hint">{vt('delegate.off')}</p>}
          {meeting.allowVoteDelegation && open && holding === null && (
            candidates.length === 0 ? (
              <p class="hint">{vt('delegate.noCandidates')}</p>
            ) : (
              <form
                class="form inline-form"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (pick !== '') void change(mine.personId, pick, 'delegate.saved');
                }}
              >
                <label class="field">
                  <span class="field-label">{vt('delegate.pick')}</span>
                  <select name="delegate" data-testid="delegate-select" value={pick} onChange={(e) => setPick(e.currentTarget.value)}>
                    <option value="">{vt('delegate.pickNone')}</option>
                    {candidates.map((p) => (
                      <option key={p.personId} value={p.personId}>
                        {p.fullName}
                      </option>
                    ))}
                  </select>
                </label>
                <button type="submit" class="button button--primary" data-testid="delegate-set" disabled={busy || pick === ''}>
                  {vt('delegate.set')}
                </button>
              </form>
            )
          )}
        </div>
      )}
      {showList && (
        <div data-testid="delegation-list" data-count={all.length}>
          <h3 class="subsection-title">{vt('delegate.list')}</h3>
          {all.length === 0 ? (
            <p class="empty">{vt('delegate.listNone')}</p>
          ) : (
            <ul>
              {all.map((d) => (
                <li key={d.from.personId} data-testid="delegation-item" data-from={d.from.personId} data-to={d.toId}>
                  {vt('delegate.pair', { from: d.from.fullName, to: d.toName })}{' '}
                  {open && (
                    <button
                      type="button"
                      class="button button--small"
                      data-testid="delegation-clear"
                      disabled={busy}
                      onClick={() => void change(d.from.personId, '', 'delegate.cleared')}
                    >
                      {vt('delegate.clear')}
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
