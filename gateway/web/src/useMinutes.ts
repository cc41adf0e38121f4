// useMinutes: one meeting's minutes in the minute-taker's editor, and the chair's and
// minute-taker's actions on them. The promise it keeps: text the user has typed is never
// replaced or dropped by the app. A reload, a live event or someone else's save updates
// only items without unsaved text; an item whose text changed on the server while the
// user was typing shows both versions until the user decides.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, request, seg } from './api';
import { useLiveEvents } from './livectx';
import {
  afterSave,
  inConflict,
  isDirty,
  isNewer,
  mergeItem,
  minutesFrom,
  minutesSignal,
  signalIsNews,
  textOf,
  type ItemEdit,
  type ItemText,
  type Minutes,
} from './minutes';

export interface ItemStatus {
  saving: boolean;
  /** The last save's failure (not a conflict: that shows as both versions). */
  error: unknown;
  /** Saved by this page since the user last typed in it. */
  saved: boolean;
}

const IDLE: ItemStatus = { saving: false, error: null, saved: false };

export type MinutesAction = 'submit' | 'approve' | 'return' | 'amend';

export interface MinutesModel {
  minutes: Minutes | null;
  loadError: unknown;
  edit(itemId: string): ItemEdit | undefined;
  status(itemId: string): ItemStatus;
  /** Unsaved drafts of items that are no longer on the agenda (kept to be copied). */
  orphans(): { itemId: string; edit: ItemEdit }[];
  dirtyCount(): number;
  reload(): Promise<void>;
  type(itemId: string, field: keyof ItemText, value: string): void;
  save(itemId: string): Promise<boolean>;
  /** Keeps the user's text (the server's text is now its base) and saves it. */
  keepMine(itemId: string): Promise<boolean>;
  /** Takes the server's text for one field, or for the whole item. */
  takeTheirs(itemId: string, field?: keyof ItemText): void;
  act(action: MinutesAction, body?: Record<string, unknown>): Promise<boolean>;
  busy: MinutesAction | null;
  actionError: { action: MinutesAction; error: unknown } | null;
  /** A message for the page: the minutes changed under an action, or text is unsaved. */
  notice: '' | 'stale' | 'unsaved';
}

interface Store {
  minutes: Minutes | null;
  edits: Record<string, ItemEdit>;
  status: Record<string, ItemStatus>;
}

// A stale save whose own item did not change on the server is simply sent again on the
// newer version (someone saved another item meanwhile); a few times at most, in case
// another editor keeps saving.
const MAX_ATTEMPTS = 3;

export function useMinutes(meetingId: string): MinutesModel {
  const store = useRef<Store>({ minutes: null, edits: {}, status: {} });
  const [, setTick] = useState(0);
  const rerender = useCallback(() => setTick((n) => n + 1), []);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [busy, setBusy] = useState<MinutesAction | null>(null);
  const [actionError, setActionError] = useState<{ action: MinutesAction; error: unknown } | null>(null);
  const [notice, setNotice] = useState<'' | 'stale' | 'unsaved'>('');
  // Saves and actions run one at a time, each on the version the previous one left, so a
  // blur-save and a tap on "submit" never race each other.
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  const base = `/api/v1/meetings/${seg(meetingId)}/minutes`;

  const enqueue = useCallback(<T,>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.current.then(fn, fn);
    queue.current = next.catch(() => undefined);
    return next;
  }, []);

  /** Merges minutes from the server; an older answer than the one shown is ignored. */
  const apply = useCallback(
    (m: Minutes): boolean => {
      const s = store.current;
      if (m.meetingId !== meetingId || !isNewer(s.minutes, m)) return false;
      const edits = { ...s.edits };
      for (const item of m.items) edits[item.agendaItemId] = mergeItem(s.edits[item.agendaItemId], item);
      // Items gone from the agenda: forget them unless they hold unsaved text.
      const onAgenda = new Set(m.items.map((i) => i.agendaItemId));
      for (const id of Object.keys(edits)) if (!onAgenda.has(id) && !isDirty(edits[id])) delete edits[id];
      s.minutes = m;
      s.edits = edits;
      return true;
    },
    [meetingId],
  );

  const setStatus = (itemId: string, st: Partial<ItemStatus>) => {
    const s = store.current;
    s.status = { ...s.status, [itemId]: { ...(s.status[itemId] ?? IDLE), ...st } };
    rerender();
  };

  const reload = useCallback(async () => {
    try {
      const m = minutesFrom(await request('GET', base));
      apply(m);
      setLoadError(null);
    } catch (err) {
      setLoadError(err);
    }
    rerender();
  }, [base, apply, rerender]);

  useEffect(() => {
    store.current = { minutes: null, edits: {}, status: {} };
    queue.current = Promise.resolve();
    setLoadError(null);
    setNotice('');
    setActionError(null);
    void reload();
  }, [reload]);

  // Another tablet saved, submitted, returned, approved or amended: load the text.
  useLiveEvents((e) => {
    const sig = minutesSignal(e.eventType, e.data);
    if (!sig || sig.meetingId !== meetingId) return;
    if (signalIsNews(store.current.minutes, sig)) void reload();
  });

  // Unsaved text survives a stray reload or tab close only if the browser asks first.
  useEffect(() => {
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      if (Object.values(store.current.edits).some(isDirty)) {
        e.preventDefault();
        e.returnValue = '';
      }
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, []);

  const doSave = useCallback(
    async (itemId: string, attempt = 1): Promise<boolean> => {
      const s = store.current;
      const e = s.edits[itemId];
      if (!s.minutes || !e || !isDirty(e)) return true;
      if (inConflict(e)) return false;
      const sent = { ...e.draft };
      setStatus(itemId, { saving: true, error: null });
      try {
        const res = await request('PUT', `${base}/items/${seg(itemId)}`, {
          expectedVersion: String(s.minutes.version),
          ...sent,
        });
        const m = minutesFrom(res);
        const saved = m.items.find((i) => i.agendaItemId === itemId);
        const now = s.edits[itemId];
        if (now) s.edits = { ...s.edits, [itemId]: afterSave(now, sent, saved ? textOf(saved) : sent) };
        apply(m);
        setStatus(itemId, { saving: false, error: null, saved: !isDirty(s.edits[itemId]) });
        return true;
      } catch (err) {
        if (err instanceof ApiError && err.stale) {
          // Someone saved first. Load their version: if this item is unchanged there, the
          // save goes again on the new version; if it changed, both texts are shown.
          await reload();
          const now = store.current.edits[itemId];
          if (now && isDirty(now) && !inConflict(now) && attempt < MAX_ATTEMPTS) return doSave(itemId, attempt + 1);
          setStatus(itemId, { saving: false, error: now && inConflict(now) ? null : err });
          return false;
        }
        setStatus(itemId, { saving: false, error: err });
        // Submitted or approved meanwhile: show the minutes as they are (the text stays).
        if (err instanceof ApiError && err.status === 409) await reload();
        return false;
      }
    },
    [base, apply, reload],
  );

  const save = useCallback((itemId: string) => enqueue(() => doSave(itemId)), [enqueue, doSave]);

  const act = useCallback(
    (action: MinutesAction, body: Record<string, unknown> = {}) =>
      enqueue(async () => {
        setActionError(null);
        setNotice('');
        const s = store.current;
        if (action === 'submit') {
          // Whatever is typed goes first; nothing unsaved is left behind by submitting.
          for (const id of Object.keys(s.edits)) await doSave(id);
          if (Object.values(store.current.edits).some(isDirty)) {
            setNotice('unsaved');
            return false;
          }
        }
        if (!s.minutes) return false;
        setBusy(action);
        try {
          // Amending is based on the approved revision, not on a version.
          const payload = action === 'amend' ? body : { expectedVersion: String(s.minutes.version), ...body };
          apply(minutesFrom(await request('POST', `${base}:${action}`, payload)));
          rerender();
          return true;
        } catch (err) {
          if (err instanceof ApiError && err.stale) {
            await reload();
            setNotice('stale');
          } else {
            setActionError({ action, error: err });
            if (err instanceof ApiError && err.status === 409) await reload();
          }
          return false;
        } finally {
          setBusy(null);
        }
      }),
    [enqueue, doSave, base, apply, reload, rerender],
  );

  const s = store.current;
  return {
    minutes: s.minutes,
    loadError,
    edit: (id) => s.edits[id],
    status: (id) => s.status[id] ?? IDLE,
    orphans: () => {
      const onAgenda = new Set((s.minutes?.items ?? []).map((i) => i.agendaItemId));
      return Object.entries(s.edits)
        .filter(([id, e]) => !onAgenda.has(id) && isDirty(e))
        .map(([itemId, edit]) => ({ itemId, edit }));
    },
    dirtyCount: () => Object.values(s.edits).filter(isDirty).length,
    reload,
    type(itemId, field, value) {
      const e = s.edits[itemId];
      if (!e) return;
      s.edits = { ...s.edits, [itemId]: { ...e, draft: { ...e.draft, [field]: value } } };
      setStatus(itemId, { saved: false });
    },
    save,
    keepMine(itemId) {
      const e = s.edits[itemId];
      if (e) s.edits = { ...s.edits, [itemId]: { ...e, base: e.server } };
      rerender();
      return save(itemId);
    },
    takeTheirs(itemId, field) {
      const e = s.edits[itemId];
      if (!e) return;
      // The section (or all of it) becomes the server's, and so does its base: that part of
      // the conflict is settled. What is left is the user's to save with keepMine.
      const next = field
        ? { base: { ...e.base, [field]: e.server[field] }, draft: { ...e.draft, [field]: e.server[field] }, server: e.server }
        : { base: e.server, draft: e.server, server: e.server };
      s.edits = { ...s.edits, [itemId]: next };
      rerender();
    },
    act,
    busy,
    actionError,
    notice,
  };
}
