// The reader: a paper on the tablet with PDF.js — page by page, zoom, thumbnails — the
// member's private notes and highlights, following the presenter's page, and reading on
// when the Wi-Fi drops (the service worker keeps the paper; see public/sw.js). Pages seen
// are reported for study tracking.
import type { PDFDocumentLoadingTask, PDFDocumentProxy, RenderTask } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { request, seg } from '../api';
import { Loading, ProblemBox, useTitle } from '../components';
import { contentPath, docFrom, docPagePath, documentSignal, noPreview, type Doc } from '../documents';
import { useLiveEvents } from '../livectx';
import { canRun, meetingFrom, type Meeting } from '../model';
import { cachePaper } from '../offline';
import {
  annotationsSignal,
  deleteAnnotation,
  listAnnotations,
  presentPage,
  presenterPage,
  presenterSignal,
  saveAnnotation,
  StudyReporter,
  type Annotation,
  type Area,
} from '../reader';
import { useReaderText } from '../readertext';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import '../reader.css';

// PDF.js (the legacy build, for older tablet browsers) is loaded on first use, so the rest
// of the app does not carry it.
async function loadPdfjs() {
  const [pdfjs, worker] = await Promise.all([import('pdfjs-dist/legacy/build/pdf.mjs'), import('pdfjs-dist/legacy/build/pdf.worker.min.mjs?url')]);
  pdfjs.GlobalWorkerOptions.workerSrc = worker.default;
  return pdfjs;
}

const FOLLOW_KEY = 'ecabinet.reader.follow';
const ZOOMS = [0.5, 0.75, 1, 1.25, 1.5, 2, 3];
const NOTE_COLOR = '#ffd54f';
const HIGHLIGHT_COLOR = '#fff176';

type Mode = { kind: 'read' } | { kind: 'place-note' } | { kind: 'highlight'; start?: { x: number; y: number }; area?: Area };

interface Draft {
  id: string;
  page: number;
  kind: Annotation['kind'];
  area: Area;
  text: string;
  version: number;
}

export function ReaderPage({ id, startPage }: { id: string; startPage: number }) {
  const { tt } = useReaderText();
  const { session } = useSession();
  const me = session.kind === 'signed-in' ? session.principal.personId : '';
  const [doc, setDoc] = useState<Doc | null>(null);
  const [meeting, setMeeting] = useState<Meeting | null>(null);
  const [pdf, setPdf] = useState<PDFDocumentProxy | null>(null);
  const [page, setPage] = useState(Math.max(1, startPage));
  const [zoom, setZoom] = useState(1); // times the width that fits
  const [rendered, setRendered] = useState(0);
  const [annotations, setAnnotations] = useState<Annotation[]>([]);
  const [mode, setMode] = useState<Mode>({ kind: 'read' });
  const [draft, setDraft] = useState<Draft | null>(null);
  const [follow, setFollow] = useState(() => localStorage.getItem(FOLLOW_KEY) === '1');
  const [presenting, setPresenting] = useState(false);
  const [offline, setOffline] = useState(!navigator.onLine);
  const [error, setError] = useState<unknown>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const stage = useRef<HTMLDivElement>(null);
  const reporter = useMemo(() => new StudyReporter(id), [id]);
  useTitle(doc?.title ?? tt('title'));

  const loadDoc = useCallback(() => {
    request('GET', `/api/v1/documents/${seg(id)}`)
      .then((res) => {
        const d = docFrom(res);
        setDoc(d);
        setError(null);
        if (d.meetingId) request('GET', `/api/v1/meetings/${seg(d.meetingId)}`).then((m) => setMeeting(meetingFrom(m)), () => {});
      })
      .catch(setError);
  }, [id]);
  useEffect(loadDoc, [loadDoc]);

  const loadAnnotations = useCallback(() => {
    listAnnotations(id).then(setAnnotations, () => {});
  }, [id]);
  useEffect(loadAnnotations, [loadAnnotations]);

  // The file itself, read in ranges: the first page shows before the rest arrives.
  const version = doc?.version ?? 0;
  const readable = doc !== null && !noPreview(doc.preview) && doc.contentType === 'application/pdf';
  useEffect(() => {
    if (!readable) return;
    let cancelled = false;
    let task: PDFDocumentLoadingTask | null = null;
    loadPdfjs()
      .then((pdfjs) => {
        if (cancelled) return null;
        // The version shown, not "the current one": pages fetched later must come from
        // the same file even if a new version arrives meanwhile (the reader then reloads).
        task = pdfjs.getDocument({ url: contentPath(id, { version }), rangeChunkSize: 65536, disableAutoFetch: true, disableStream: true });
        return task.promise;
      })
      .then((p) => {
        if (cancelled || !p) return;
        setPdf(p);
        setPage((n) => Math.min(n, p.numPages));
      })
      .catch((err: unknown) => !cancelled && setError(err));
    return () => {
      cancelled = true;
      void (task as PDFDocumentLoadingTask | null)?.destroy();
      setPdf(null);
    };
  }, [id, version, readable]);

  // Kept for offline reading once it opened.
  useEffect(() => {
    if (pdf && doc) cachePaper(doc);
  }, [pdf, doc]);

  useEffect(() => {
    const on = () => setOffline(false);
    const off = () => setOffline(true);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => {
      window.removeEventListener('online', on);
      window.removeEventListener('offline', off);
    };
  }, []);

  // Draw the page at the stage's width times the zoom, sharp on high-density screens.
  useEffect(() => {
    if (!pdf || !canvas.current || !stage.current) return;
    let task: RenderTask | null = null;
    let cancelled = false;
    const target = canvas.current;
    const width = stage.current.clientWidth || 800;
    pdf
      .getPage(page)
      .then((p) => {
        if (cancelled) return;
        const base = p.getViewport({ scale: 1 });
        const scale = (width / base.width) * zoom;
        const dpr = window.devicePixelRatio || 1;
        const viewport = p.getViewport({ scale: scale * dpr });
        target.width = Math.floor(viewport.width);
        target.height = Math.floor(viewport.height);
        target.style.width = `${Math.floor(viewport.width / dpr)}px`;
        target.style.height = `${Math.floor(viewport.height / dpr)}px`;
        task = p.render({ canvas: target, viewport });
        return task.promise;
      })
      .then(() => {
        if (cancelled) return;
        setRendered(page);
        reporter.seen(page);
      })
      .catch((err: unknown) => {
        if (!cancelled && !(err instanceof Error && err.name === 'RenderingCancelledException')) setError(err);
      });
    return () => {
      cancelled = true;
      task?.cancel();
    };
  }, [pdf, page, zoom, reporter]);

  useEffect(() => () => void reporter.flush(), [reporter]);

  // Following: start where the presenter is, then turn with them.
  const meetingId = doc?.meetingId ?? '';
  const goTo = useCallback(
    (docId: string, n: number) => {
      if (docId === id) setPage(n);
      else navigate(`${docPagePath(docId)}/read?page=${n}`);
    },
    [id],
  );
  useEffect(() => {
    localStorage.setItem(FOLLOW_KEY, follow ? '1' : '0');
    if (!follow || !meetingId) return;
    presenterPage(meetingId).then((p) => p && p.presenterId !== me && goTo(p.documentId, p.page), () => {});
  }, [follow, meetingId, me, goTo]);

  useLiveEvents((e) => {
    const turned = presenterSignal(e.eventType, e.data);
    if (turned && follow && !presenting && turned.meetingId === meetingId && turned.presenterId !== me) goTo(turned.documentId, turned.page);
    if (annotationsSignal(e.eventType, e.data) === id) loadAnnotations();
    const sig = documentSignal(e.eventType, e.data);
    if (sig && sig.documentId === id) loadDoc();
  });

  // Presenting: every page turn goes to the following tablets.
  useEffect(() => {
    if (presenting) presentPage(id, page).catch(setError);
  }, [presenting, id, page]);

  const count = pdf?.numPages ?? doc?.pageCount ?? 0;
  const turn = (n: number) => {
    if (count > 0) setPage(Math.min(Math.max(1, n), count));
  };
  const onPage = annotations.filter((a) => a.page === page);
  const mayPresent = meeting !== null && (canRun(meeting) || meeting.agenda.some((it) => it.id === doc?.agendaItemId && it.presenterId === me));

  // Where on the page a pointer is, as fractions.
  const at = (e: PointerEvent): { x: number; y: number } => {
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    return { x: clamp((e.clientX - r.left) / r.width), y: clamp((e.clientY - r.top) / r.height) };
  };
  const onPointerDown = (e: PointerEvent) => {
    if (mode.kind === 'place-note') {
      const p = at(e);
      setDraft({ id: crypto.randomUUID(), page, kind: 'ANNOTATION_KIND_NOTE', area: { x: Math.min(p.x, 0.96), y: Math.min(p.y, 0.97), width: 0.04, height: 0.03 }, text: '', version: 0 });
      setMode({ kind: 'read' });
    } else if (mode.kind === 'highlight') {
      (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
      setMode({ kind: 'highlight', start: at(e) });
    }
  };
  const onPointerMove = (e: PointerEvent) => {
    if (mode.kind === 'highlight' && mode.start) setMode({ ...mode, area: rect(mode.start, at(e)) });
  };
  const onPointerUp = (e: PointerEvent) => {
    if (mode.kind !== 'highlight' || !mode.start) return;
    const area = rect(mode.start, at(e));
    setMode({ kind: 'read' });
    if (area.width > 0.01 && area.height > 0.005) {
      setDraft({ id: crypto.randomUUID(), page, kind: 'ANNOTATION_KIND_HIGHLIGHT', area, text: '', version: 0 });
    }
  };

  async function saveDraft() {
    if (!draft || !doc) return;
    try {
      const saved = await saveAnnotation(
        {
          id: draft.id,
          documentId: id,
          documentVersion: doc.version,
          page: draft.page,
          kind: draft.kind,
          area: draft.area,
          text: draft.text,
          color: draft.kind === 'ANNOTATION_KIND_NOTE' ? NOTE_COLOR : HIGHLIGHT_COLOR,
        },
        draft.version,
      );
      setAnnotations((list) => [...list.filter((a) => a.id !== saved.id), saved]);
      setDraft(null);
      setError(null);
    } catch (err) {
      setError(err);
    }
  }

  async function remove(a: Annotation) {
    try {
      await deleteAnnotation(a.id);
      setAnnotations((list) => list.filter((x) => x.id !== a.id));
    } catch (err) {
      setError(err);
    }
  }

  return (
    <article class="reader" data-testid="reader" data-document-id={id} data-page={page} data-rendered-page={rendered} data-page-count={count}>
      <p class="back">
        <Link class="back-link" href={docPagePath(id)}>
          ← {tt('back')}
        </Link>
      </p>
      {doc && <h1 class="page-title reader-title">{doc.title}</h1>}
      {offline && (
        <p class="notice" role="status" data-testid="reader-offline">
          {tt('offline')}
        </p>
      )}
      <ProblemBox error={error} testid="reader-problem" />
      {doc && !readable && <p class="empty">{tt('noPreview')}</p>}
      {readable && !pdf && !error && <Loading />}
      {pdf && (
        <>
          <div class="reader-toolbar" role="toolbar">
            <button type="button" class="button reader-turn" onClick={() => turn(page - 1)} disabled={page <= 1} aria-label={tt('prev')} data-testid="reader-prev">
              ‹
            </button>
            <label class="reader-pageno">
              {tt('page')}{' '}
              <input
                type="number"
                min={1}
                max={count}
                value={page}
                onChange={(e) => turn(Number((e.currentTarget as HTMLInputElement).value))}
                data-testid="reader-page-input"
              />{' '}
              / {count}
            </label>
            <button type="button" class="button reader-turn" onClick={() => turn(page + 1)} disabled={page >= count} aria-label={tt('next')} data-testid="reader-next">
              ›
            </button>
            <button type="button" class="button" onClick={() => setZoom((z) => ZOOMS[Math.max(0, ZOOMS.indexOf(z) - 1)] ?? z)} aria-label={tt('zoomOut')}>
              −
            </button>
            <button type="button" class="button" onClick={() => setZoom(1)}>
              {tt('fit')}
            </button>
            <button type="button" class="button" onClick={() => setZoom((z) => ZOOMS[Math.min(ZOOMS.length - 1, ZOOMS.indexOf(z) + 1)] ?? z)} aria-label={tt('zoomIn')}>
              +
            </button>
            <label class="reader-toggle">
              <input type="checkbox" checked={follow} onChange={(e) => setFollow((e.currentTarget as HTMLInputElement).checked)} data-testid="reader-follow" />{' '}
              {follow ? tt('following') : tt('follow')}
            </label>
            {mayPresent && (
              <label class="reader-toggle">
                <input type="checkbox" checked={presenting} onChange={(e) => setPresenting((e.currentTarget as HTMLInputElement).checked)} data-testid="reader-present" />{' '}
                {presenting ? tt('presenting') : tt('present')}
              </label>
            )}
            <button type="button" class="button" onClick={() => setMode({ kind: 'place-note' })} data-testid="reader-add-note">
              {tt('addNote')}
            </button>
            <button type="button" class="button" onClick={() => setMode({ kind: 'highlight' })} data-testid="reader-add-highlight">
              {tt('addHighlight')}
            </button>
          </div>
          {mode.kind !== 'read' && (
            <p class="notice" role="status">
              {mode.kind === 'place-note' ? tt('placeNote') : tt('placeHighlight')}{' '}
              <button type="button" class="button" onClick={() => setMode({ kind: 'read' })}>
                {tt('cancel')}
              </button>
            </p>
          )}
          <div class="reader-body">
            <div class="reader-stage" ref={stage}>
              <div class="reader-sheet">
                <canvas ref={canvas} data-testid="reader-canvas" />
                <div
                  class={`reader-overlay reader-overlay--${mode.kind}`}
                  onPointerDown={onPointerDown}
                  onPointerMove={onPointerMove}
                  onPointerUp={onPointerUp}
                  data-testid="reader-overlay"
                >
                  {onPage.map((a) => (
                    <Mark key={a.id} area={a.area} kind={a.kind} color={a.color} title={a.text} testid="reader-annotation" />
                  ))}
                  {mode.kind === 'highlight' && mode.area && <Mark area={mode.area} kind="ANNOTATION_KIND_HIGHLIGHT" color={HIGHLIGHT_COLOR} />}
                  {draft && draft.page === page && <Mark area={draft.area} kind={draft.kind} color={NOTE_COLOR} />}
                </div>
              </div>
            </div>
            <Thumbnails pdf={pdf} page={page} onPick={turn} label={tt('thumbs')} />
          </div>
          {draft && (
            <form
              class="panel reader-draft"
              onSubmit={(e) => {
                e.preventDefault();
                void saveDraft();
              }}
            >
              <label>
                {draft.kind === 'ANNOTATION_KIND_NOTE' ? tt('noteText') : tt('highlight')}
                <textarea
                  value={draft.text}
                  maxLength={4000}
                  rows={3}
                  onInput={(e) => setDraft({ ...draft, text: (e.currentTarget as HTMLTextAreaElement).value })}
                  data-testid="reader-note-text"
                />
              </label>
              <div class="actions">
                <button type="submit" class="button button--primary" data-testid="reader-note-save">
                  {tt('save')}
                </button>
                <button type="button" class="button" onClick={() => setDraft(null)}>
                  {tt('cancel')}
                </button>
              </div>
            </form>
          )}
          <section class="panel reader-notes" aria-labelledby="reader-notes-title">
            <h2 id="reader-notes-title" class="section-title">
              {tt('notesOnPage')}
            </h2>
            <p class="hint">{tt('private')}</p>
            {onPage.length === 0 && <p class="empty">{tt('noNotes')}</p>}
            <ul class="reader-note-list" data-testid="reader-notes">
              {onPage.map((a) => (
                <li key={a.id} class="reader-note" data-testid="reader-note">
                  <span class="reader-note-text">{a.text || tt('highlight')}</span>
                  <button type="button" class="button" onClick={() => setDraft({ id: a.id, page: a.page, kind: a.kind, area: a.area, text: a.text, version: a.version })}>
                    {tt('edit')}
                  </button>
                  <button type="button" class="button" onClick={() => void remove(a)} data-testid="reader-note-delete">
                    {tt('delete')}
                  </button>
                </li>
              ))}
            </ul>
          </section>
        </>
      )}
    </article>
  );
}

function clamp(f: number): number {
  return Math.min(1, Math.max(0, f));
}

function rect(a: { x: number; y: number }, b: { x: number; y: number }): Area {
  return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), width: Math.abs(a.x - b.x), height: Math.abs(a.y - b.y) };
}

function Mark({ area, kind, color, title, testid }: { area: Area; kind: Annotation['kind']; color: string; title?: string; testid?: string }) {
  const style = {
    left: `${area.x * 100}%`,
    top: `${area.y * 100}%`,
    width: `${area.width * 100}%`,
    height: `${area.height * 100}%`,
    background: color,
  };
  return <span class={`reader-mark reader-mark--${kind === 'ANNOTATION_KIND_NOTE' ? 'note' : 'highlight'}`} style={style} title={title} data-testid={testid} />;
}

// Thumbnails are drawn only when scrolled into view: a long paper must not cost the tablet
// every page at once.
function Thumbnails({ pdf, page, onPick, label }: { pdf: PDFDocumentProxy; page: number; onPick: (n: number) => void; label: string }) {
  const pages = Array.from({ length: pdf.numPages }, (_, i) => i + 1);
  return (
    <nav class="reader-thumbs" aria-label={label}>
      {pages.map((n) => (
        <Thumb key={n} pdf={pdf} n={n} current={n === page} onPick={onPick} />
      ))}
    </nav>
  );
}

function Thumb({ pdf, n, current, onPick }: { pdf: PDFDocumentProxy; n: number; current: boolean; onPick: (n: number) => void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let task: RenderTask | null = null;
    const io = new IntersectionObserver((entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      io.disconnect();
      void pdf.getPage(n).then((p) => {
        const base = p.getViewport({ scale: 1 });
        const viewport = p.getViewport({ scale: 96 / base.width });
        el.width = Math.floor(viewport.width);
        el.height = Math.floor(viewport.height);
        task = p.render({ canvas: el, viewport });
        return task.promise.catch(() => {});
      });
    });
    io.observe(el);
    return () => {
      io.disconnect();
      task?.cancel();
    };
  }, [pdf, n]);
  return (
    <button type="button" class={`reader-thumb${current ? ' reader-thumb--current' : ''}`} onClick={() => onPick(n)} aria-current={current ? 'page' : undefined}>
      <canvas ref={ref} width={96} height={128} />
      <span>{n}</span>
    </button>
  );
}
