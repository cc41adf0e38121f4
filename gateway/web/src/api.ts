// The REST client: every call of the app goes through request(), which sends the user's
// language (the gateway localises problem titles and field reasons from Accept-Language),
// marks state-changing calls as JSON (the gateway refuses cookie-authenticated writes
// without Content-Type: application/json, which a cross-site form cannot send), and turns
// RFC 9457 problem bodies into ApiError.

// One invalid request field as the gateway reports it: the protobuf field name, a stable
// upper-case code and a reason already in the user's language.
export interface FieldError {
  field: string;
  code: string;
  reason: string;
}

export class ApiError extends Error {
  /** HTTP status; 0 when the server could not be reached at all. */
  readonly status: number;
  /** Problem title (localised by the gateway); empty when there was no problem body. */
  readonly title: string;
  readonly detail: string;
  /** Machine-readable code, e.g. "InvalidArgument", "Aborted", "FailedPrecondition". */
  readonly code: string;
  readonly errors: FieldError[];

  constructor(status: number, title: string, detail: string, code: string, errors: FieldError[]) {
    super(`${status} ${code}: ${title}${detail ? ` (${detail})` : ''}`);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.code = code;
    this.errors = errors;
  }

  /** A stale expected_version: someone else changed the meeting first. */
  get stale(): boolean {
    return this.status === 409 && this.code === 'Aborted';
  }
}

let language = 'vi';
let onUnauthorized: (() => void) | null = null;

export function setApiLanguage(lang: string): void {
  language = lang;
}

/** Called on any 401 (session expired or never signed in), except for the login call. */
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

export interface RequestOptions {
  /** Do not treat 401 as "signed out" (the login form shows it as wrong credentials). */
  quiet401?: boolean;
  signal?: AbortSignal;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export async function request<T = unknown>(
  method: Method,
  path: string,
  body?: unknown,
  opts: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'Accept-Language': language,
  };
  let payload: string | undefined;
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    if (method !== 'DELETE') payload = JSON.stringify(body ?? {});
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: payload,
      credentials: 'same-origin',
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new ApiError(0, '', String(err), 'Unreachable', []);
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) {
    const err = problemFrom(res.status, text);
    if (res.status === 401 && !opts.quiet401) onUnauthorized?.();
    throw err;
  }
  if (text === '') return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, '', 'response is not JSON', 'Malformed', []);
  }
}

// problemFrom reads a problem+json body; a body that is not one (a proxy's HTML error
// page, say) still gives an ApiError with the status, so the UI can say something useful.
export function problemFrom(status: number, text: string): ApiError {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    // not JSON: keep the status only
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const errors: FieldError[] = [];
  if (Array.isArray(body.errors)) {
    for (const e of body.errors) {
      if (typeof e !== 'object' || e === null) continue;
      const r = e as Record<string, unknown>;
      errors.push({ field: str(r.field), code: str(r.code), reason: str(r.reason) });
    }
  }
  return new ApiError(status, str(body.title), str(body.detail), str(body.code), errors);
}

/** Path segment escaping for ids that come from the server or the URL. */
export function seg(id: string): string {
  return encodeURIComponent(id);
}

/**
 * POSTs a file as the raw request body (the documents upload takes no multipart). The file's
 * own type goes as Content-Type, or application/octet-stream when the browser does not know
 * it: the gateway refuses a missing type and the form types, which is its CSRF defence.
 */
/**
 * A fresh idempotency key for one upload. Not crypto.randomUUID: that needs a secure
 * context, and tablets may reach the app over plain http on the meeting room's LAN.
 */
export function newUploadKey(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export async function uploadRaw<T = unknown>(path: string, file: Blob, idempotencyKey = ''): Promise<T> {
  let res: Response;
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'Accept-Language': language,
    'Content-Type': file.type || 'application/octet-stream',
  };
  // Sent again with the same key (the answer lost with the Wi-Fi), the upload answers
  // with the document the first attempt made instead of storing it twice.
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers,
      body: file,
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, '', String(err), 'Unreachable', []);
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) {
    const err = problemFrom(res.status, text);
    if (res.status === 401) onUnauthorized?.();
    throw err;
  }
  try {
    return (text === '' ? {} : JSON.parse(text)) as T;
  } catch {
    throw new ApiError(res.status, '', 'response is not JSON', 'Malformed', []);
  }
}
