// A small history-API router: the gateway answers index.html for every path outside /api/,
// so each page has a real URL that survives a reload and can be shared or scanned.
import type { ComponentChildren, TargetedMouseEvent } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export interface Loc {
  path: string;
  query: URLSearchParams;
}

const listeners = new Set<() => void>();

function current(): Loc {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const here = window.location.pathname + window.location.search;
  if (to === here && !opts.replace) return;
  if (opts.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.scrollTo(0, 0);
  for (const l of listeners) l();
}

export function useLocation(): Loc {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return loc;
}

/** The path and query of the page now, for "come back here after signing in". */
export function herePath(): string {
  return window.location.pathname + window.location.search;
}

// safeNext accepts only a path on this site ("/meetings/…"), never "//host" or a full URL,
// so a crafted login link cannot send the user elsewhere after signing in.
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (next.startsWith('/login')) return '/';
  return next;
}

export type Route =
  | { name: 'home' }
  | { name: 'login' }
  | { name: 'status' }
  | { name: 'checkin' }
  | { name: 'tasks' }
  | { name: 'polls' }
  | { name: 'poll'; id: string }
  | { name: 'meeting'; id: string }
  | { name: 'minutes'; id: string }
  | { name: 'console'; id: string }
  | { name: 'screen'; id: string }
  | { name: 'video'; id: string }
  | { name: 'document'; id: string }
  | { name: 'reader'; id: string }
  | { name: 'library' }
  | { name: 'notFound' };

export function matchRoute(path: string): Route {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.length === 0) return { name: 'home' };
  if (parts.length === 1) {
    switch (parts[0]) {
      case 'login':
        return { name: 'login' };
      case 'status':
        return { name: 'status' };
      case 'checkin':
        return { name: 'checkin' };
      case 'tasks':
        return { name: 'tasks' };
      case 'polls':
        return { name: 'polls' };
      case 'library':
        return { name: 'library' };
    }
  }
  if (parts[0] === 'polls' && parts.length === 2) {
    try {
      return { name: 'poll', id: decodeURIComponent(parts[1]) };
    } catch {
      return { name: 'notFound' };
    }
  }
  if (parts[0] === 'documents' && (parts.length === 2 || (parts.length === 3 && parts[2] === 'read'))) {
    try {
      const id = decodeURIComponent(parts[1]);
      return parts.length === 2 ? { name: 'document', id } : { name: 'reader', id };
    } catch {
      return { name: 'notFound' };
    }
  }
  if (parts[0] === 'meetings' && (parts.length === 2 || parts.length === 3)) {
    let id: string;
    try {
      id = decodeURIComponent(parts[1]);
    } catch {
      return { name: 'notFound' };
    }
    if (parts.length === 2) return { name: 'meeting', id };
    if (parts[2] === 'console') return { name: 'console', id };
    if (parts[2] === 'screen') return { name: 'screen', id };
    if (parts[2] === 'minutes') return { name: 'minutes', id };
    if (parts[2] === 'video') return { name: 'video', id };
    // The meeting's papers, as the QR code on a printed invitation names them.
    if (parts[2] === 'documents') return { name: 'meeting', id };
  }
  return { name: 'notFound' };
}

// data-* and aria-* attributes given to a Link reach the <a> through `rest` (TypeScript does
// not check hyphenated JSX attributes against the props type).
interface LinkProps {
  href: string;
  class?: string;
  title?: string;
  children?: ComponentChildren;
  onClick?: (e: TargetedMouseEvent<HTMLAnchorElement>) => void;
  [attr: `data-${string}` | `aria-${string}`]: string | undefined;
}

// Link is a plain <a> (so it can be opened in a new tab and read by screen readers) that
// navigates inside the app on an ordinary click.
export function Link({ href, children, onClick, ...rest }: LinkProps) {
  return (
    <a
      href={href}
      {...rest}
      onClick={(e) => {
        onClick?.(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
