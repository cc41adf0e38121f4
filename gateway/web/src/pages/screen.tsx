// The room screen (a tablet or a PC on the wall, opened by the chair or minute-taker): the
// item under discussion in large type, the agenda, the quorum, and the QR code members scan
// to check in. The code carries a short-lived signed token, renewed before it expires, so a
// photo of yesterday's screen is worth nothing.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { request, seg } from '../api';
import { AgendaList, CurrentItem, Loading, ProblemBox, QuorumBar, StateBadge, placeText, useTitle } from '../components';
import { formatRange } from '../format';
import { useI18n } from '../i18n';
import { canRun, isInvited, parseCheckInToken, type CheckInToken, type Meeting } from '../model';
import { QrCode } from '../qr';
import { Link } from '../router';
import { useMeeting } from '../useMeeting';

const RETRY_MS = 15_000;
const MIN_RENEW_MS = 5_000;
const MAX_RENEW_MS = 10 * 60_000;

// renewDelay: renew when three quarters of the token's life is gone (at least 10 s before
// it ends), so a member scanning at the last moment still gets a valid code. The server's
// expiry is compared with this device's clock; a clock far off gives a delay outside the
// bounds, which are then used instead.
export function renewDelay(expireTime: Date | null, now = Date.now()): number {
  if (!expireTime) return 60_000;
  const left = expireTime.getTime() - now;
  const delay = left - Math.max(10_000, left / 4);
  return Math.min(MAX_RENEW_MS, Math.max(MIN_RENEW_MS, delay));
}

function useCheckInToken(meeting: Meeting | null) {
  const id = meeting?.id ?? '';
  const wanted = meeting !== null && canRun(meeting) && isInvited(meeting.state);
  const [token, setToken] = useState<CheckInToken | null>(null);
  const [error, setError] = useState<unknown>(null);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  // Bumped when the page leaves (or stops wanting codes): an answer still in flight then
  // must not schedule another renewal, or the screen would keep asking after it closed.
  const generation = useRef(0);

  const issue = useCallback(
    async (mine: number) => {
      clearTimeout(timer.current);
      let delay: number;
      try {
        const tok = parseCheckInToken(await request('POST', `/api/v1/meetings/${seg(id)}/check-in-tokens`, {}));
        if (mine !== generation.current) return;
        setToken(tok);
        setError(null);
        delay = renewDelay(tok.expireTime);
      } catch (err) {
        if (mine !== generation.current) return;
        setError(err);
        // Keep showing the last code while it is still valid; an expired one would only fail.
        setToken((prev) => (prev?.expireTime && prev.expireTime.getTime() > Date.now() ? prev : null));
        delay = RETRY_MS;
      }
      timer.current = setTimeout(() => void issue(mine), delay);
    },
    [id],
  );

  useEffect(() => {
    const mine = ++generation.current;
    if (!wanted) {
      setToken(null);
      return;
    }
    void issue(mine);
    // A screen woken from sleep may hold a code its late timers never renewed: renew now.
    const onVisible = () => {
      if (document.visibilityState === 'visible' && mine === generation.current) void issue(mine);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      generation.current++;
      clearTimeout(timer.current);
      document.removeEventListener('visibilitychange', onVisible);
    };
    // A state change (scheduled → in progress, say) asks again at once: the server may
    // issue codes only in some states.
  }, [issue, wanted, meeting?.state]);

  return { token, error };
}

export function ScreenPage({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const model = useMeeting(id);
  const { meeting, error } = model;
  const { token, error: tokenError } = useCheckInToken(meeting);
  useTitle(meeting ? `${t('meeting.screen')}: ${meeting.title}` : t('common.loading'));

  if (!meeting) {
    return <div class="screen">{error ? <ProblemBox error={error} onRetry={() => void model.reload()} /> : <Loading />}</div>;
  }
  const url = token ? new URL(token.checkInPath, window.location.origin).href : '';
  const place = placeText(t, meeting);
  return (
    <div class="screen" data-testid="screen" data-meeting-id={meeting.id} data-state={meeting.state}>
      <header class="screen-head">
        <Link class="screen-back" href={`/meetings/${encodeURIComponent(meeting.id)}`} aria-label={t('common.backToMeeting')}>
          ←
        </Link>
        <div>
          <h1 class="screen-title">{meeting.title}</h1>
          <p class="screen-meta">
            {formatRange(lang, meeting.startsAt, meeting.endsAt)}
            {place && ` · ${place}`} <StateBadge state={meeting.state} />
          </p>
        </div>
      </header>
      <div class="screen-body">
        <div class="screen-main">
          <CurrentItem meeting={meeting} large />
          <QuorumBar quorum={meeting.quorum} large />
          <h2 class="section-title">{t('screen.agenda')}</h2>
          <AgendaList meeting={meeting} large />
        </div>
        {isInvited(meeting.state) && canRun(meeting) && (
          <aside class="screen-qr" data-testid="checkin" data-checkin-url={url}>
            <h2 class="screen-scan">{t('screen.scan')}</h2>
            {token && url ? (
              <>
                <QrCode text={url} label={t('screen.qrLabel')} />
                <p class="hint">{t('screen.scanHint')}</p>
                <p class="screen-url">
                  <a href={url} data-testid="checkin-link">
                    {url}
                  </a>
                </p>
                <p class="hint">{t('screen.refreshing')}</p>
              </>
            ) : (
              !tokenError && <Loading />
            )}
            {tokenError !== null && (
              <>
                {!token && <p class="hint">{t('screen.noToken')}</p>}
                <ProblemBox error={tokenError} testid="token-problem" />
              </>
            )}
          </aside>
        )}
      </div>
    </div>
  );
}
