import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { request, seg } from './api';
import { useLiveEvents } from './livectx';
import { meetingFrom, meetingFromEvent, mergeMeeting, type Meeting } from './model';

export interface MeetingModel {
  meeting: Meeting | null;
  /** The error of the last load (404 for a meeting this person may not see). */
  error: unknown;
  /** Loads the meeting afresh from the server (after a stale-version refusal, say). */
  reload(): Promise<void>;
  /** Shows the meeting returned by a request this page made. */
  apply(response: unknown): void;
  /** How many live events have changed the meeting since the page was opened. */
  liveUpdates: number;
}

// useMeeting loads one meeting and keeps it current from the live channel: every meeting
// event carries the whole meeting after the change, so the page replaces its model instead
// of patching it, and never needs to reload for an event.
export function useMeeting(id: string): MeetingModel {
  const [meeting, setMeeting] = useState<Meeting | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [liveUpdates, setLiveUpdates] = useState(0);
  const generation = useRef(0);
  // The meeting as last set, for merging events without a side effect inside a state updater.
  const shown = useRef<Meeting | null>(null);
  const show = useCallback((m: Meeting | null) => {
    shown.current = m;
    setMeeting(m);
  }, []);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const res = await request('GET', `/api/v1/meetings/${seg(id)}`);
      if (mine !== generation.current) return; // a newer load (or another meeting) won
      // Merged, not replaced: an event newer than this answer may have arrived meanwhile.
      show(mergeMeeting(shown.current, meetingFrom(res), 'response'));
      setError(null);
    } catch (err) {
      if (mine !== generation.current) return;
      setError(err);
    }
  }, [id, show]);

  useEffect(() => {
    show(null);
    setError(null);
    setLiveUpdates(0);
    void reload();
    return () => {
      generation.current++;
    };
  }, [reload]);

  useLiveEvents((e) => {
    const m = meetingFromEvent(e.eventType, e.data);
    if (!m || m.id !== id) return;
    const prev = shown.current;
    const next = mergeMeeting(prev, m, 'event');
    if (next === prev) return;
    shown.current = next;
    setMeeting(next);
    setLiveUpdates((n) => n + 1);
  });

  const apply = useCallback((response: unknown) => {
    const m = meetingFrom(response);
    if (m.id === '') return;
    show(mergeMeeting(shown.current, m, 'response'));
  }, [show]);

  return { meeting, error, reload, apply, liveUpdates };
}
