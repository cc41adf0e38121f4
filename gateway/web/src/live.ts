// Client for the gateway's live channel (ADR 0001): one WebSocket per tablet at
// /api/v1/live?since=<seq>, resuming after the last LIVE stream sequence it has seen.
//
// Server messages:
//   {"type":"hello","seq":N}                  connection accepted; N = stream position now
//   {"type":"event","seq":N,"subject":"…","event_type":"…","data":{…}}
//   {"type":"reload"}                         `since` is older than the stream keeps: the
//                                             page must reload its state from the API

export interface LiveEvent {
  seq: number;
  subject: string;
  eventType: string;
  data: unknown;
}

export type LiveStatus =
  | { kind: 'connecting' }
  | { kind: 'open' }
  | { kind: 'waiting'; retryInMs: number }
  | { kind: 'unauthorized' }
  | { kind: 'stopped' };

export interface LiveOptions {
  onEvent?: (event: LiveEvent) => void;
  onStatus?: (status: LiveStatus) => void;
  /** Called after the stored sequence is cleared on {"type":"reload"}. */
  reload?: () => void;
  path?: string;
}

export interface LiveConnection {
  /** Connect again at once (after signing in, or when the user asks). */
  reconnect(): void;
  close(): void;
}

export const SEQ_STORAGE_KEY = 'ecabinet.live.seq';

const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

export function loadSeq(): number | null {
  try {
    const raw = localStorage.getItem(SEQ_STORAGE_KEY);
    if (raw === null) return null;
    const n = Number(raw);
    return Number.isSafeInteger(n) && n >= 0 ? n : null;
  } catch {
    return null;
  }
}

function storeSeq(seq: number | null): void {
  try {
    if (seq === null) localStorage.removeItem(SEQ_STORAGE_KEY);
    else localStorage.setItem(SEQ_STORAGE_KEY, String(seq));
  } catch {
    // Without storage the tablet resumes from "now" after a page load; a reconnect within
    // the page still resumes, because `lastSeq` below is kept in memory too.
  }
}

export function liveURL(loc: { protocol: string; host: string }, path: string, since: number | null): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = since === null ? '' : `?since=${since}`;
  return `${scheme}//${loc.host}${path}${query}`;
}

// Delay before reconnect attempt `attempt` (0-based): exponential, capped, with jitter so
// a room full of tablets does not reconnect in lockstep after a gateway restart.
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling * (0.5 + random() / 2));
}

export function connectLive(opts: LiveOptions = {}): LiveConnection {
  const path = opts.path ?? '/api/v1/live';
  const onStatus = opts.onStatus ?? (() => {});
  const reload = opts.reload ?? (() => window.location.reload());

  let lastSeq = loadSeq();
  let socket: WebSocket | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let stopped = false;

  const setLastSeq = (seq: number | null) => {
    lastSeq = seq;
    storeSeq(seq);
  };

  function open() {
    clearTimeout(timer);
    if (stopped) return;
    onStatus({ kind: 'connecting' });
    const ws = new WebSocket(liveURL(window.location, path, lastSeq));
    socket = ws;
    let opened = false;

    ws.onopen = () => {
      opened = true;
      onStatus({ kind: 'open' });
    };
    ws.onmessage = (msg) => {
      if (socket === ws) handle(ws, msg.data);
    };
    ws.onclose = () => {
      if (socket !== ws || stopped) return;
      socket = null;
      if (opened) {
        retryLater();
      } else {
        void explainFailure();
      }
    };
  }

  function handle(ws: WebSocket, raw: unknown) {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(String(raw));
    } catch {
      console.warn('live: ignoring a message that is not JSON');
      return;
    }
    switch (msg.type) {
      case 'hello':
        attempt = 0; // the server took us: the next drop starts the backoff afresh
        // A first connection (no stored position) starts from "now"; keep that point so a
        // reconnect does not miss what happens meanwhile. With a stored position, the
        // replay after it is still to come, so the hello position must not overwrite it.
        if (lastSeq === null && isSeq(msg.seq)) setLastSeq(msg.seq);
        return;
      case 'event': {
        if (!isSeq(msg.seq) || typeof msg.subject !== 'string' || typeof msg.event_type !== 'string') {
          console.warn('live: ignoring a malformed event');
          return;
        }
        // The gateway delivers once and in order; this guard keeps a replay overlap harmless.
        if (lastSeq !== null && msg.seq <= lastSeq) return;
        setLastSeq(msg.seq);
        try {
          opts.onEvent?.({ seq: msg.seq, subject: msg.subject, eventType: msg.event_type, data: msg.data });
        } catch (err) {
          console.error('live: event handler failed', err);
        }
        return;
      }
      case 'reload':
        stopped = true;
        socket = null;
        ws.close(1000);
        setLastSeq(null);
        onStatus({ kind: 'stopped' });
        reload();
        return;
      default:
        console.warn('live: ignoring message of unknown type', msg.type);
    }
  }

  // A browser hides the HTTP status of a refused WebSocket handshake, so ask the same URL
  // over plain HTTP: the gateway authenticates before upgrading, so "not signed in" answers
  // 401 there too. Any other answer (or none) is treated as a network problem and retried.
  async function explainFailure() {
    let status = 0;
    try {
      const res = await fetch(path, { cache: 'no-store', credentials: 'same-origin' });
      status = res.status;
    } catch {
      // unreachable: retry below
    }
    if (stopped || socket !== null) return;
    if (status === 401) {
      // Retrying cannot help until the user signs in, which calls reconnect().
      onStatus({ kind: 'unauthorized' });
      return;
    }
    retryLater();
  }

  function retryLater() {
    const delay = backoffMs(attempt++);
    onStatus({ kind: 'waiting', retryInMs: delay });
    clearTimeout(timer);
    timer = setTimeout(open, delay);
  }

  // Back on the network: no point waiting out the backoff.
  const onOnline = () => {
    if (!stopped && socket === null) open();
  };
  window.addEventListener('online', onOnline);

  open();

  return {
    reconnect() {
      if (stopped) return;
      attempt = 0;
      if (socket) {
        const old = socket;
        socket = null;
        old.close(1000);
      }
      open();
    },
    close() {
      stopped = true;
      clearTimeout(timer);
      window.removeEventListener('online', onOnline);
      socket?.close(1000);
      socket = null;
      onStatus({ kind: 'stopped' });
    },
  };
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
