// Who is signed in. The session itself is an HttpOnly cookie the app never sees; the app
// learns the principal from GET /api/v1/me (or the login answer) and forgets it on logout
// or on any 401 from the API, which sends the user to the login page.
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, request, setUnauthorizedHandler } from './api';
import { clearOffline, offlinePerson } from './offline';
import { parsePrincipal, type Principal } from './model';

export type Session =
  | { kind: 'loading' }
  | { kind: 'anonymous' }
  | { kind: 'signed-in'; principal: Principal }
  // /me failed for another reason than 401 (server down, say): the app cannot tell.
  | { kind: 'unknown'; error: unknown };

export interface SessionApi {
  session: Session;
  /** Throws ApiError (401 for wrong credentials, 429 when rate-limited). */
  login(username: string, password: string): Promise<void>;
  logout(): Promise<void>;
  recheck(): void;
}

const SessionContext = createContext<SessionApi>({
  session: { kind: 'loading' },
  login: async () => {},
  logout: async () => {},
  recheck: () => {},
});

export function useSession(): SessionApi {
  return useContext(SessionContext);
}

export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [session, setSession] = useState<Session>({ kind: 'loading' });

  const recheck = useCallback(() => {
    setSession({ kind: 'loading' });
    request('GET', '/api/v1/me', undefined, { quiet401: true })
      .then((res) => {
        const principal = parsePrincipal((res as Record<string, unknown>).principal);
        setSession(principal ? { kind: 'signed-in', principal } : { kind: 'anonymous' });
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) setSession({ kind: 'anonymous' });
        else setSession({ kind: 'unknown', error: err });
      });
  }, []);

  useEffect(() => {
    recheck();
    setUnauthorizedHandler(() => {
      // The session ended (expired, or signed out elsewhere): nothing of it stays behind.
      clearOffline();
      setSession({ kind: 'anonymous' });
    });
    return () => setUnauthorizedHandler(null);
  }, [recheck]);

  const login = useCallback(async (username: string, password: string) => {
    const res = await request('POST', '/api/v1/auth/login', { username, password }, { quiet401: true });
    const principal = parsePrincipal((res as Record<string, unknown>).principal);
    if (!principal) throw new ApiError(500, '', 'login answer has no principal', 'Malformed', []);
    setSession({ kind: 'signed-in', principal });
  }, []);

  const logout = useCallback(async () => {
    try {
      await request('POST', '/api/v1/auth/logout', {}, { quiet401: true });
    } catch (err) {
      // The cookie may already be gone or the server unreachable; either way this tablet
      // must stop showing the person's meetings.
      console.warn('logout:', err);
    }
    clearOffline();
    setSession({ kind: 'anonymous' });
  }, []);

  const personId = session.kind === 'signed-in' ? session.principal.personId : '';
  useEffect(() => {
    if (personId) offlinePerson(personId);
  }, [personId]);

  const api = useMemo(() => ({ session, login, logout, recheck }), [session, login, logout, recheck]);
  return <SessionContext.Provider value={api}>{children}</SessionContext.Provider>;
}
