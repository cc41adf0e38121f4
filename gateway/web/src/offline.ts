// Reading without a network: registers the service worker (public/sw.js) and tells it
// which papers to keep. See the comment at the top of sw.js for what is cached and when
// it is dropped.
import { contentPath, noPreview, type Doc } from './documents';

/** Registers the service worker; browsers without one (or plain http off localhost) just stay online-only. */
export function registerOffline(): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err: unknown) => console.warn('service worker:', err));
  // What loaded before the worker took over did not pass through it: have it fetch the
  // app's own files once, so the app opens offline too.
  const shell = performance
    .getEntriesByType('resource')
    .map((e) => new URL(e.name))
    .filter((u) => u.origin === location.origin && u.pathname.startsWith('/assets/'))
    .map((u) => u.pathname);
  post({ type: 'cache-shell', urls: ['/', ...shell] });
}

/** Readable papers (PDFs with a preview, images, media) worth keeping for offline reading. */
function keepable(d: Doc): boolean {
  return !noPreview(d.preview);
}

/**
 * Makes the cached papers of a meeting exactly these (the meeting's list as the server gave
 * it now): new versions are fetched, papers no longer listed — withdrawn, or the person no
 * longer a participant — are dropped.
 */
export function cachePapers(meetingId: string, docs: Doc[]): void {
  post({
    type: 'cache-papers',
    meetingId,
    papers: docs.filter(keepable).map((d) => ({ url: contentPath(d.id), version: d.version })),
  });
}

/** Keeps one paper (the one being read) besides whatever its meeting's list keeps. */
export function cachePaper(d: Doc): void {
  if (keepable(d)) post({ type: 'cache-paper', meetingId: d.meetingId, paper: { url: contentPath(d.id), version: d.version } });
}

/** Tells the worker who is signed in: another person than before drops everything kept. */
export function offlinePerson(personId: string): void {
  post({ type: 'person', personId });
}

/** Forgets every cached paper and answer: on signing out, or when the session ends. */
export function clearOffline(): void {
  post({ type: 'clear' });
}

function post(msg: unknown): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.ready.then((reg) => reg.active?.postMessage(msg)).catch(() => {});
}
