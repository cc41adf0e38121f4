// The system-health page (/status): open without signing in, so that a tablet that cannot
// get any further still tells the user (and whoever helps them) what is wrong.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useTitle } from '../components';
import { orderChecks, partLabelKey, probeReadiness, type Check, type Probe } from '../health';
import { locale, useI18n } from '../i18n';

const POLL_MS = 5000;

// usePolling probes /readyz now and then every POLL_MS, one request at a time, and pauses
// while the page is hidden (a tablet in a drawer should not keep the radio busy).
function usePolling() {
  const [probe, setProbe] = useState<Probe | null>(null);
  const [lastSuccess, setLastSuccess] = useState<Date | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const inFlight = useRef(false);
  const alive = useRef(true);

  const run = useCallback(async () => {
    if (inFlight.current) return;
    clearTimeout(timer.current);
    inFlight.current = true;
    const result = await probeReadiness();
    inFlight.current = false;
    if (!alive.current) return;
    setProbe(result);
    if (result.kind === 'ok') setLastSuccess(result.at);
    else console.warn('readyz unreachable:', result.detail);
    if (document.visibilityState === 'visible') timer.current = setTimeout(run, POLL_MS);
  }, []);

  useEffect(() => {
    alive.current = true;
    void run();
    const onVisibility = () => {
      if (document.visibilityState === 'visible') void run();
      else clearTimeout(timer.current);
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      alive.current = false;
      clearTimeout(timer.current);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [run]);

  return { probe, lastSuccess, checkNow: run };
}

export function HealthPage() {
  const { t, lang } = useI18n();
  useTitle(t('health.title'));
  const { probe, lastSuccess, checkNow } = usePolling();
  const time = useMemo(
    () => new Intl.DateTimeFormat(locale(lang), { hour: '2-digit', minute: '2-digit', second: '2-digit' }),
    [lang],
  );

  let state: 'checking' | 'ready' | 'not-ready' | 'unreachable';
  let headline: string;
  let detail: string;
  if (probe === null) {
    state = 'checking';
    headline = t('health.checking');
    detail = '';
  } else if (probe.kind === 'unreachable') {
    state = 'unreachable';
    headline = t('health.unreachable');
    detail = `${t('health.unreachableDetail')} ${t('health.retrying')}`;
  } else if (probe.readiness.ready) {
    state = 'ready';
    headline = t('health.ready');
    detail = t('health.readyDetail');
  } else {
    const n = probe.readiness.checks.filter((c) => !c.ok).length;
    state = 'not-ready';
    headline = t('health.notReady');
    detail = n > 0 ? t(n === 1 ? 'health.failingOne' : 'health.failingMany', { n }) : '';
  }

  return (
    <section class="health" aria-labelledby="health-title" data-state={state}>
      <h1 id="health-title" class="page-title">
        {t('health.title')}
      </h1>

      <div class={`overall overall--${state}`} data-testid="overall" data-state={state}>
        <StateIcon state={state} />
        <div class="overall-text">
          <p class="overall-headline" role="status" aria-live="polite">
            {headline}
          </p>
          {detail && <p class="overall-detail">{detail}</p>}
          <p class="overall-time" data-testid="last-check">
            {probe === null
              ? ''
              : probe.kind === 'ok'
                ? t('health.lastCheck', { time: time.format(probe.at) })
                : t('health.lastSuccess', { time: lastSuccess ? time.format(lastSuccess) : t('health.never') })}
          </p>
        </div>
        <button type="button" class="check-now" onClick={() => void checkNow()}>
          {t('health.checkNow')}
        </button>
      </div>

      {probe?.kind === 'ok' && (
        <>
          <h2 class="section-title">{t('health.parts')}</h2>
          <ul class="checks" data-testid="checks">
            {orderChecks(probe.readiness.checks).map((c) => (
              <CheckRow check={c} key={c.name} />
            ))}
          </ul>
        </>
      )}
      <p class="hint">{t('health.autoRefresh')}</p>
    </section>
  );
}

function CheckRow({ check }: { check: Check }) {
  const { t } = useI18n();
  const labelKey = partLabelKey(check.name);
  // Server text (names, errors) is passed as JSX children: Preact sets it as text, never as HTML.
  const label = labelKey ? t(labelKey) : check.name;
  return (
    <li class={`check ${check.ok ? 'check--ok' : 'check--failing'}`} data-check={check.name} data-ok={String(check.ok)}>
      <StateIcon state={check.ok ? 'ready' : 'not-ready'} />
      <div class="check-text">
        <span class="check-name">{label}</span>
        <span class="check-state">{check.ok ? t('check.ok') : t('check.failing')}</span>
        {!check.ok && check.error && <span class="check-error">{check.error}</span>}
      </div>
    </li>
  );
}

// Icons repeat what the text says (for a glance across the room); they are hidden from
// screen readers, and colour is never the only signal.
function StateIcon({ state }: { state: 'checking' | 'ready' | 'not-ready' | 'unreachable' }) {
  const paths: Record<typeof state, string> = {
    ready: 'M7 12.5l3.2 3.2L17 9',
    'not-ready': 'M8.5 8.5l7 7M15.5 8.5l-7 7',
    unreachable: 'M12 7v6M12 16.5v.5',
    checking: 'M12 7v5l3 2',
  };
  return (
    <svg class={`icon icon--${state}`} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <circle cx="12" cy="12" r="10" />
      <path d={paths[state]} />
    </svg>
  );
}

