import { useEffect, useMemo, useState } from 'preact/hooks';
import { setApiLanguage } from './api';
import { Loading, ProblemBox, useTitle } from './components';
import { I18nContext, LANGS, saveLang, storedLang, translator, useI18n, type Lang, type MessageKey } from './i18n';
import { LiveProvider, useLive } from './livectx';
import { CheckInPage } from './pages/checkin';
import { ConsolePage } from './pages/console';
import { HealthPage } from './pages/health';
import { HomePage } from './pages/home';
import { LoginPage } from './pages/login';
import { MeetingPage } from './pages/meeting';
import { DocumentPage } from './pages/document';
import { ReaderPage } from './pages/reader';
import { LibraryPage } from './pages/library';
import { MinutesPage } from './pages/minutes';
import { ScreenPage } from './pages/screen';
import { TasksPage } from './pages/tasks';
import { VideoPage } from './pages/video';
import { PollPage, PollsInboxPage } from './pages/polls';
import { herePath, Link, matchRoute, navigate, useLocation, type Route } from './router';
import { SessionProvider, useSession } from './session';

export function App() {
  const [lang, setLangState] = useState<Lang>(storedLang);
  const i18n = useMemo(
    () => ({
      lang,
      t: translator(lang),
      setLang: (next: Lang) => {
        saveLang(next);
        setLangState(next);
      },
    }),
    [lang],
  );
  // Set during render, before children fetch: problem titles come back in this language.
  setApiLanguage(lang);

  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);

  return (
    <I18nContext.Provider value={i18n}>
      <SessionProvider>
        <SignedInLive />
      </SessionProvider>
    </I18nContext.Provider>
  );
}

function SignedInLive() {
  const { session } = useSession();
  return (
    <LiveProvider personId={session.kind === 'signed-in' ? session.principal.personId : null}>
      <Shell />
    </LiveProvider>
  );
}

// Pages anyone may open: signing in, and the health page that helps when signing in fails.
const PUBLIC: ReadonlySet<Route['name']> = new Set(['login', 'status', 'notFound']);

function Shell() {
  const loc = useLocation();
  const route = matchRoute(loc.path);
  const { session } = useSession();
  const needsLogin = !PUBLIC.has(route.name) && session.kind === 'anonymous';

  useEffect(() => {
    // Signed out (or the session expired mid-page): sign in, then come back here.
    if (needsLogin) navigate(`/login?next=${encodeURIComponent(herePath())}`, { replace: true });
  }, [needsLogin]);

  let page;
  if (PUBLIC.has(route.name) || session.kind === 'signed-in') {
    page = <Page route={route} />;
  } else if (session.kind === 'unknown') {
    page = <SessionTrouble error={session.error} />;
  } else {
    page = <Loading />;
  }

  // The room screen is shown on the wall: no header or footer, just the meeting.
  if (route.name === 'screen') return <div class="kiosk">{page}</div>;

  return (
    <div class="shell">
      <Header />
      {session.kind === 'signed-in' && <MainNav route={route} />}
      <main class="content" id="main">
        {page}
      </main>
      <Footer />
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.name) {
    case 'home':
      return <HomePage />;
    case 'login':
      return <LoginPage />;
    case 'status':
      return <HealthPage />;
    case 'checkin':
      return <CheckInPage />;
    case 'meeting':
      return <MeetingPage id={route.id} />;
    case 'console':
      return <ConsolePage id={route.id} />;
    case 'screen':
      return <ScreenPage id={route.id} />;
    case 'minutes':
      return <MinutesPage id={route.id} />;
    case 'video':
      return <VideoPage id={route.id} />;
    case 'document':
      return <DocumentPage id={route.id} />;
    case 'library':
      return <LibraryPage />;
    case 'reader':
      // Keyed: following the presenter to another paper starts a fresh reader.
      return <ReaderPage key={route.id} id={route.id} startPage={Number(new URLSearchParams(window.location.search).get('page')) || 1} />;
    case 'tasks':
      return <TasksPage />;
    case 'polls':
      return <PollsInboxPage />;
    case 'poll':
      return <PollPage id={route.id} />;
    case 'notFound':
      return <NotFound />;
  }
}

function NotFound() {
  const { t } = useI18n();
  useTitle(t('error.notFoundPage'));
  return (
    <section>
      <h1 class="page-title">{t('error.notFoundPage')}</h1>
      <Link class="button" href="/">
        {t('common.backToList')}
      </Link>
    </section>
  );
}

function SessionTrouble({ error }: { error: unknown }) {
  const { t } = useI18n();
  const { recheck } = useSession();
  useTitle(t('error.sessionLoad'));
  return (
    <section>
      <h1 class="page-title">{t('error.sessionLoad')}</h1>
      <ProblemBox error={error} onRetry={recheck} />
      <p>
        <Link href="/status">{t('nav.status')}</Link>
      </p>
    </section>
  );
}

function Header() {
  const { t, lang, setLang } = useI18n();
  const { session, logout } = useSession();
  const names: Record<Lang, string> = { vi: 'Tiếng Việt', en: 'English' };
  return (
    <header class="topbar">
      <Link class="brand" href="/">
        <span class="brand-name">{t('app.name')}</span>
        <span class="brand-tagline">{t('app.tagline')}</span>
      </Link>
      <div class="topbar-tools">
        {session.kind === 'signed-in' && (
          <div class="user">
            <span class="user-name" data-testid="user-name" title={session.principal.fullName}>
              {session.principal.fullName}
            </span>
            <button
              type="button"
              class="topbar-button"
              data-testid="logout"
              onClick={() => {
                void logout().then(() => navigate('/login', { replace: true }));
              }}
            >
              {t('nav.signOut')}
            </button>
          </div>
        )}
        <div class="lang-switch" role="group" aria-label={t('lang.group')}>
          {LANGS.map((l) => (
            <button
              type="button"
              key={l}
              lang={l}
              class="lang-button"
              aria-pressed={l === lang}
              data-lang={l}
              onClick={() => setLang(l)}
            >
              {names[l]}
            </button>
          ))}
        </div>
      </div>
    </header>
  );
}

// MainNav: the lists a person works from — their meetings, their tasks and the written
// opinion polls waiting for them. The meeting pages belong to "my meetings".
function MainNav({ route }: { route: Route }) {
  const { t } = useI18n();
  const links: { href: string; label: MessageKey; current: boolean; testid: string }[] = [
    { href: '/', label: 'nav.myMeetings', current: !['tasks', 'polls', 'poll', 'library'].includes(route.name), testid: 'nav-meetings' },
    { href: '/tasks', label: 'nav.myTasks', current: route.name === 'tasks', testid: 'nav-tasks' },
    { href: '/polls', label: 'nav.myPolls', current: route.name === 'polls' || route.name === 'poll', testid: 'nav-polls' },
    { href: '/library', label: 'nav.library', current: route.name === 'library', testid: 'nav-library' },
  ];
  return (
    <nav class="mainnav" aria-label={t('nav.main')}>
      {links.map((l) => (
        <Link key={l.href} href={l.href} class="mainnav-link" aria-current={l.current ? 'page' : undefined} data-testid={l.testid}>
          {t(l.label)}
        </Link>
      ))}
    </nav>
  );
}

function Footer() {
  const { t } = useI18n();
  const { status } = useLive();

  let text: string;
  switch (status.kind) {
    case 'connecting':
      text = t('live.connecting');
      break;
    case 'open':
      text = t('live.open');
      break;
    case 'waiting':
      // No countdown: the delay is jittered and an 'online' event cuts it short.
      text = t('live.waiting');
      break;
    case 'unauthorized':
      text = t('live.unauthorized');
      break;
    case 'stopped':
      text = t('live.stopped');
      break;
  }
  return (
    <footer class="footer">
      <span class="footer-live" data-testid="live" data-live={status.kind}>
        <span class={`live-dot live-dot--${status.kind}`} aria-hidden="true" />
        <span>
          {t('live.label')}: {text}
        </span>
      </span>
      <Link class="footer-link" href="/status" data-testid="status-link">
        {t('nav.status')}
      </Link>
    </footer>
  );
}
