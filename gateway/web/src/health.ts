import type { MessageKey } from './i18n';

// The gateway's GET /readyz body (200 when ready, 503 when not; same shape both ways).
export interface Check {
  name: string;
  ok: boolean;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Check[];
}

export type Probe =
  | { kind: 'ok'; readiness: Readiness; at: Date }
  // The gateway itself could not be reached, or answered something that is not a readiness
  // report (a proxy's error page, say). `detail` is for the console, not for the user.
  | { kind: 'unreachable'; detail: string; at: Date };

const TIMEOUT_MS = 4000; // below the 5 s poll interval, so polls never pile up

export async function probeReadiness(url = '/readyz'): Promise<Probe> {
  const at = new Date();
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const res = await fetch(url, {
      cache: 'no-store',
      headers: { Accept: 'application/json' },
      signal: abort.signal,
    });
    if (res.status !== 200 && res.status !== 503) {
      return { kind: 'unreachable', detail: `HTTP ${res.status}`, at };
    }
    const readiness = parseReadiness(await res.json());
    if (!readiness) return { kind: 'unreachable', detail: 'malformed /readyz body', at };
    return { kind: 'ok', readiness, at };
  } catch (err) {
    return { kind: 'unreachable', detail: String(err), at };
  } finally {
    clearTimeout(timer);
  }
}

// parseReadiness checks the shape instead of trusting a cast, so a changed server answer
// shows up as "unreachable" rather than as a page that crashes.
export function parseReadiness(body: unknown): Readiness | null {
  if (typeof body !== 'object' || body === null) return null;
  const { ready, checks } = body as Record<string, unknown>;
  if (typeof ready !== 'boolean' || !Array.isArray(checks)) return null;
  const out: Check[] = [];
  for (const c of checks) {
    if (typeof c !== 'object' || c === null) return null;
    const { name, ok, error } = c as Record<string, unknown>;
    if (typeof name !== 'string' || typeof ok !== 'boolean') return null;
    out.push({ name, ok, error: typeof error === 'string' && error !== '' ? error : undefined });
  }
  return { ready, checks: out };
}

// The parts the page knows by name, in the order a member thinks of them: what they use
// first, then what it runs on. Names the server adds later are shown after these, as sent.
const KNOWN_PARTS = [
  'meetings',
  'documents',
  'voting',
  'video',
  'gateway',
  'postgres',
  'nats',
  'minio',
] as const;

export function orderChecks(checks: Check[]): Check[] {
  const rank = (name: string) => {
    const i = (KNOWN_PARTS as readonly string[]).indexOf(name);
    return i === -1 ? KNOWN_PARTS.length : i;
  };
  // Array.prototype.sort is stable, so unknown names keep the server's order.
  return [...checks].sort((a, b) => rank(a.name) - rank(b.name));
}

export function partLabelKey(name: string): MessageKey | null {
  return (KNOWN_PARTS as readonly string[]).includes(name) ? (`part.${name}` as MessageKey) : null;
}
