// "My meetings": the meetings the signed-in person takes part in, today / upcoming / past.
// The tab is in the URL (?period=…), so Back returns to the tab the user came from.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { request } from '../api';
import { Loading, placeText, ProblemBox, StateBadge, useTitle } from '../components';
import { formatRange } from '../format';
import { enumLabel, useI18n, type MessageKey } from '../i18n';
import { useLiveEvents } from '../livectx';
import { meetingFromEvent, meetingsFrom, mergeMeeting, type Meeting } from '../model';
import { Link, navigate, useLocation } from '../router';

type Tab = 'today' | 'upcoming' | 'past';
const TABS: readonly Tab[] = ['today', 'upcoming', 'past'];
const PERIOD: Record<Tab, string> = { today: 'PERIOD_TODAY', upcoming: 'PERIOD_UPCOMING', past: 'PERIOD_PAST' };
const PAGE_SIZE = 20;

export function HomePage() {
  const { t } = useI18n();
  const loc = useLocation();
  const q = loc.query.get('period');
  const tab: Tab = TABS.includes(q as Tab) ? (q as Tab) : 'today';
  useTitle(t('home.title'));

  const [meetings, setMeetings] = useState<Meeting[] | null>(null);
  const [next, setNext] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const generation = useRef(0);

  const load = useCallback(
    async (pageToken: string) => {
      const mine = pageToken === '' ? ++generation.current : generation.current;
      const params = new URLSearchParams({ period: PERIOD[tab], pageSize: String(PAGE_SIZE) });
      if (pageToken) params.set('pageToken', pageToken);
      try {
        const page = meetingsFrom(await request('GET', `/api/v1/me/meetings?${params}`));
        if (mine !== generation.current) return;
        setMeetings((prev) => (pageToken === '' ? page.meetings : [...(prev ?? []), ...page.meetings]));
        setNext(page.nextPageToken);
        setError(null);
      } catch (err) {
        if (mine === generation.current) setError(err);
      }
    },
    [tab],
  );

  useEffect(() => {
    setMeetings(null);
    setNext('');
    setError(null);
    void load('');
  }, [load]);

  // A meeting in the list that changes (started, moved, cancelled) is shown as it is now.
  useLiveEvents((e) => {
    const m = meetingFromEvent(e.eventType, e.data);
    if (!m) return;
    setMeetings((prev) => prev && prev.map((x) => (x.id === m.id ? (mergeMeeting(x, m, 'event') ?? x) : x)));
  });

  const tabKey = (k: Tab) => `home.tab.${k}` as MessageKey;
  return (
    <section aria-labelledby="home-title">
      <h1 id="home-title" class="page-title">
        {t('home.title')}
      </h1>
      <div
        class="tabs"
        role="tablist"
        aria-label={t('home.tabs')}
        onKeyDown={(e) => {
          // Arrow keys move between tabs, as in any tab list (WAI-ARIA).
          const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
          if (step === 0) return;
          const k = TABS[(TABS.indexOf(tab) + step + TABS.length) % TABS.length];
          navigate(k === 'today' ? '/' : `/?period=${k}`, { replace: true });
          document.getElementById(`tab-${k}`)?.focus();
        }}
      >
        {TABS.map((k) => (
          <button
            type="button"
            role="tab"
            key={k}
            id={`tab-${k}`}
            aria-selected={k === tab}
            tabIndex={k === tab ? 0 : -1}
            aria-controls="meeting-list"
            class="tab"
            data-tab={k}
            onClick={() => navigate(k === 'today' ? '/' : `/?period=${k}`, { replace: true })}
          >
            {t(tabKey(k))}
          </button>
        ))}
      </div>
      <div id="meeting-list" role="tabpanel" aria-labelledby={`tab-${tab}`} data-testid="meeting-list" data-tab={tab}>
        <ProblemBox error={error} onRetry={() => void load('')} />
        {meetings === null && !error && <Loading />}
        {meetings !== null && meetings.length === 0 && <p class="empty">{t(`home.empty.${tab}` as MessageKey)}</p>}
        {meetings !== null && meetings.length > 0 && (
          <ul class="cards">
            {meetings.map((m) => (
              <MeetingCard key={m.id} meeting={m} />
            ))}
          </ul>
        )}
        {next && (
          <button
            type="button"
            class="button"
            disabled={loadingMore}
            onClick={() => {
              setLoadingMore(true);
              void load(next).finally(() => setLoadingMore(false));
            }}
          >
            {t('home.more')}
          </button>
        )}
      </div>
    </section>
  );
}

function MeetingCard({ meeting: m }: { meeting: Meeting }) {
  const { t, lang } = useI18n();
  const place = placeText(t, m);
  return (
    <li class="card" data-meeting-id={m.id}>
      <Link class="card-link" href={`/meetings/${encodeURIComponent(m.id)}`} data-testid="meeting-link">
        <span class="card-title">{m.title}</span>
        <span class="card-meta">
          <span>{enumLabel(t, 'kind', m.kind)}</span>
          <span>{formatRange(lang, m.startsAt, m.endsAt)}</span>
          {place && <span>{place}</span>}
        </span>
        <span class="card-foot">
          <StateBadge state={m.state} />
          {m.myRole !== 'PARTICIPANT_ROLE_UNSPECIFIED' && (
            <span class="card-role" data-role={m.myRole}>
              {t('meeting.myRole', { role: enumLabel(t, 'role', m.myRole) })}
            </span>
          )}
        </span>
      </Link>
    </li>
  );
}
