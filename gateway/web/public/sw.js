// The ecabinet service worker: keeps the app and a meeting's papers readable when the
// room's Wi-Fi drops. Plain JavaScript, copied as is to the root of the app (its scope).
//
// What it keeps, each in its own cache:
//   shell   the app itself: the page (one index.html answers every app route) and the
//           hashed files under /assets/ (immutable, so served from the cache first);
//   data    the few JSON answers the reader needs to open a paper offline (who is signed
//           in, the paper's metadata, its meeting, the person's annotations), refreshed on
//           every successful request;
//   papers  whole files of the meeting's papers, fetched when the app asks (cachePapers in
//           src/offline.ts), each tagged with its meeting and version.
// Online, every request goes to the network first, so access checks and new versions
// always apply; the caches answer only when the network does not. A paper the server
// refuses (401, 403, 404, 410) is dropped at once, and the app drops the papers a meeting
// no longer lists: withdrawn access ends at the next contact. Signing out, a session that
// ends, and another person signing in clear data and papers, so a shared tablet keeps
// nothing of the previous person for the next.
const SHELL = 'ecabinet-shell-v1';
const DATA = 'ecabinet-data-v1';
const PAPERS = 'ecabinet-papers-v1';
const CURRENT = new Set([SHELL, DATA, PAPERS]);

const CONTENT = /^\/api\/v1\/documents\/[^/]+\/content$/;
const DATA_PATHS = [
  /^\/api\/v1\/me$/,
  /^\/api\/v1\/documents\/[^/]+$/,
  /^\/api\/v1\/documents\/[^/]+\/annotations$/,
  /^\/api\/v1\/meetings\/[^/]+$/,
  /^\/api\/v1\/meetings\/[^/]+\/documents$/,
];
const GONE = new Set([401, 403, 404, 410]);

self.addEventListener('install', () => self.skipWaiting());

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (!CURRENT.has(name)) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (req.mode === 'navigate') {
    event.respondWith(page(req));
  } else if (url.pathname.startsWith('/assets/')) {
    event.respondWith(asset(req));
  } else if (CONTENT.test(url.pathname) && (!url.search || /^\?version=\d+$/.test(url.search))) {
    event.respondWith(paper(req, url));
  } else if (DATA_PATHS.some((p) => p.test(url.pathname)) && !url.search) {
    event.respondWith(data(req, url));
  }
});

async function page(req) {
  try {
    const res = await fetch(req);
    if (res.ok) await (await caches.open(SHELL)).put('/', res.clone());
    return res;
  } catch (err) {
    const cached = await caches.match('/', { cacheName: SHELL });
    if (cached) return cached;
    throw err;
  }
}

async function asset(req) {
  const cache = await caches.open(SHELL);
  const cached = await cache.match(req);
  if (cached) return cached;
  const res = await fetch(req);
  if (res.ok) await cache.put(req, res.clone());
  return res;
}

// A server error (the gateway up, a service behind it down) is answered from the cache
// like no network at all.
const UNAVAILABLE = (status) => status >= 500;

async function data(req, url) {
  const cache = await caches.open(DATA);
  let res;
  try {
    res = await fetch(req);
  } catch (err) {
    const cached = await cache.match(url.pathname);
    if (cached) return cached;
    throw err;
  }
  if (res.ok) await cache.put(url.pathname, res.clone());
  else if (GONE.has(res.status)) await cache.delete(url.pathname);
  else if (UNAVAILABLE(res.status)) return (await cache.match(url.pathname)) || res;
  return res;
}

// paper answers a paper's bytes; the reader asks for the version it shows (?version=n),
// and the kept copy answers only for that version.
async function paper(req, url) {
  const cache = await caches.open(PAPERS);
  const fromCache = async () => {
    const cached = await cache.match(url.pathname);
    const wanted = url.searchParams.get('version');
    if (!cached || (wanted && cached.headers.get('X-Ecabinet-Version') !== wanted)) return null;
    return slice(cached, req.headers.get('Range'));
  };
  let res;
  try {
    res = await fetch(req);
  } catch (err) {
    const kept = await fromCache();
    if (!kept) throw err;
    return kept;
  }
  if (GONE.has(res.status)) await cache.delete(url.pathname);
  else if (UNAVAILABLE(res.status)) return (await fromCache()) || res;
  return res;
}

// slice answers a Range request (one range, as the app's PDF viewer sends) from a cached
// whole file; anything else gets the whole file.
async function slice(cached, range) {
  const m = range && /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!m || (m[1] === '' && m[2] === '')) return cached;
  const blob = await cached.blob();
  const size = blob.size;
  let first;
  let last;
  if (m[1] === '') {
    first = Math.max(0, size - Number(m[2]));
    last = size - 1;
  } else {
    first = Number(m[1]);
    last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (first > last || first >= size) {
    return new Response(null, { status: 416, headers: { 'Content-Range': `bytes */${size}` } });
  }
  const headers = new Headers(cached.headers);
  headers.set('Content-Range', `bytes ${first}-${last}/${size}`);
  headers.set('Content-Length', String(last - first + 1));
  return new Response(blob.slice(first, last + 1), { status: 206, headers });
}

self.addEventListener('message', (event) => {
  const msg = event.data || {};
  if (msg.type === 'person') {
    event.waitUntil(switchPerson(String(msg.personId || '')));
    return;
  }
  if (msg.type === 'cache-papers') event.waitUntil(cachePapers(msg.meetingId, msg.papers || [], true));
  else if (msg.type === 'cache-paper' && msg.paper) event.waitUntil(cachePapers(msg.meetingId, [msg.paper], false));
  else if (msg.type === 'cache-shell') event.waitUntil(cacheShell(msg.urls || []));
  else if (msg.type === 'clear') event.waitUntil(Promise.all([caches.delete(DATA), caches.delete(PAPERS)]));
});

// switchPerson drops everything kept for someone else when another person signs in on
// this tablet: the person is remembered in the shell cache, which survives restarts.
async function switchPerson(personId) {
  const shell = await caches.open(SHELL);
  const known = await shell.match('/__person');
  if (known && (await known.text()) === personId) return;
  await Promise.all([caches.delete(DATA), caches.delete(PAPERS)]);
  await shell.put('/__person', new Response(personId));
}

async function cacheShell(urls) {
  const cache = await caches.open(SHELL);
  for (const url of urls) {
    if (url !== '/' && (await cache.match(url))) continue;
    try {
      const res = await fetch(url, { credentials: 'same-origin' });
      if (res.ok) await cache.put(url, res);
    } catch {
      // Offline: the next start tries again.
    }
  }
}

// cachePapers fetches the listed papers ({url, version}) of a meeting whole when they are
// missing or older, with the answers the reader needs to open them (the paper's metadata
// and the person's annotations). With exact, the meeting's cached papers not listed are
// dropped: the list is the meeting's as the server gave it now.
async function cachePapers(meetingId, papers, exact) {
  const cache = await caches.open(PAPERS);
  const data = await caches.open(DATA);
  const wanted = new Map(papers.map((p) => [p.url, String(p.version)]));
  if (exact) {
    for (const req of await cache.keys()) {
      const res = await cache.match(req);
      const path = new URL(req.url).pathname;
      if (res && res.headers.get('X-Ecabinet-Meeting') === meetingId && !wanted.has(path)) {
        await cache.delete(req);
        const doc = path.replace(/\/content$/, '');
        await data.delete(doc);
        await data.delete(doc + '/annotations');
      }
    }
  }
  for (const [url, version] of wanted) {
    const doc = url.replace(/\/content$/, '');
    for (const path of [doc, doc + '/annotations']) {
      try {
        const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
        if (res.ok) await data.put(path, res);
        else if (GONE.has(res.status)) await data.delete(path);
      } catch {
        // Offline: kept as it was.
      }
    }
    const have = await cache.match(url);
    if (have && have.headers.get('X-Ecabinet-Version') === version) continue;
    try {
      const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
      if (GONE.has(res.status)) {
        await cache.delete(url);
        continue;
      }
      if (res.status !== 200) continue;
      const headers = new Headers(res.headers);
      headers.set('X-Ecabinet-Meeting', meetingId);
      headers.set('X-Ecabinet-Version', version);
      headers.set('Accept-Ranges', 'bytes');
      const body = await res.blob();
      headers.set('Content-Length', String(body.size));
      await cache.put(url, new Response(body, { status: 200, headers }));
    } catch {
      // Offline or cut short: the next sync tries again.
    }
  }
  const clients = await self.clients.matchAll();
  for (const c of clients) c.postMessage({ type: 'papers-cached', meetingId, count: wanted.size });
}
