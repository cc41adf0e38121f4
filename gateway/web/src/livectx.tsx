// One live-channel connection for the whole app, shared by every page that follows a
// meeting: pages subscribe while they are shown. The connection is (re)opened when someone
// signs in and dropped when they sign out, so a shared tablet never keeps receiving the
// previous person's events.
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { connectLive, type LiveEvent, type LiveStatus } from './live';

type Listener = (event: LiveEvent) => void;

export interface LiveApi {
  status: LiveStatus;
  subscribe(listener: Listener): () => void;
}

const LiveContext = createContext<LiveApi>({ status: { kind: 'stopped' }, subscribe: () => () => {} });

export function useLive(): LiveApi {
  return useContext(LiveContext);
}

/** Calls listener for every live event while the calling component is mounted. */
export function useLiveEvents(listener: Listener): void {
  const { subscribe } = useLive();
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => subscribe((e) => latest.current(e)), [subscribe]);
}

export function LiveProvider({ personId, children }: { personId: string | null; children: ComponentChildren }) {
  const [status, setStatus] = useState<LiveStatus>({ kind: 'connecting' });
  const listeners = useRef(new Set<Listener>());
  
  useEffect(() => {
    if (personId === null) {
      setStatus({ kind: 'unauthorized' });
      return;
    }
    const c = connectLive({
      onStatus: setStatus,
      onEvent: (e) => {
        for (const l of listeners.current) l(e);
      },
    });
    return () => c.close();
  }, [personId]);

  // Stable, so that subscribers do not resubscribe on every status change.
  const subscribe = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);

  const api = useMemo<LiveApi>(() => ({ status, subscribe }), [status, subscribe]);
  return <LiveContext.Provider value={api}>{children}</LiveContext.Provider>;
}
