import { locale, type Lang } from './i18n';

// Meetings happen in Vietnam: times are shown in Vietnam's time zone whatever the tablet's
// own setting (a tablet set up abroad, or left on UTC, must not shift a meeting by hours).
export const TIME_ZONE = 'Asia/Ho_Chi_Minh';

const cache = new Map<string, Intl.DateTimeFormat>();

function fmt(lang: Lang, key: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const k = `${lang}|${key}`;
  let f = cache.get(k);
  if (!f) {
    f = new Intl.DateTimeFormat(locale(lang), { timeZone: TIME_ZONE, ...opts });
    cache.set(k, f);
  }
  return f;
}

export function formatDate(lang: Lang, d: Date): string {
  return fmt(lang, 'date', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(d);
}

export function formatShortDate(lang: Lang, d: Date): string {
  return fmt(lang, 'sdate', { weekday: 'short', day: '2-digit', month: '2-digit', year: 'numeric' }).format(d);
}

export function formatTime(lang: Lang, d: Date): string {
  return fmt(lang, 'time', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
}

/** "08:00–11:30" on one day, or both dates when the meeting spans days. */
export function formatRange(lang: Lang, start: Date | null, end: Date | null): string {
  if (!start) return '';
  if (!end) return `${formatShortDate(lang, start)} ${formatTime(lang, start)}`;
  if (dayKey(start) === dayKey(end)) {
    return `${formatShortDate(lang, start)}, ${formatTime(lang, start)}–${formatTime(lang, end)}`;
  }
  return `${formatShortDate(lang, start)} ${formatTime(lang, start)} – ${formatShortDate(lang, end)} ${formatTime(lang, end)}`;
}

function dayKey(d: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

/**
 * The value for an <input type="datetime-local"> showing d in Vietnam's time, and back:
 * the control has no time zone of its own, so the app converts explicitly rather than
 * letting the tablet's zone creep in.
 */
export function toLocalInput(d: Date | null): string {
  if (!d) return '';
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: TIME_ZONE,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

// Vietnam has kept UTC+7 without daylight saving since 1975, so a fixed offset is exact.
export function fromLocalInput(value: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) return null;
  const d = new Date(`${value}:00+07:00`);
  return Number.isNaN(d.getTime()) ? null : d;
}
