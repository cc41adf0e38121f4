// The reader's model: private annotations, the presenter's page, and the study report of
// the pages seen, read defensively from protojson like the rest of the app.
import { ApiError, request, seg } from './api';
import { arr, enumOf, num, obj, str, time } from './model';

export type AnnotationKind = 'ANNOTATION_KIND_HIGHLIGHT' | 'ANNOTATION_KIND_NOTE';

/** Where on a page, as fractions of its width and height from the top left. */
export interface Area {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Annotation {
  id: string;
  documentId: string;
  documentVersion: number;
  page: number;
  kind: AnnotationKind;
  area: Area;
  text: string;
  color: string;
  version: number;
  updateTime: Date | null;
}

function parseAnnotation(v: unknown): Annotation {
  const a = obj(v);
  const ar = obj(a.area);
  return {
    id: str(a.id),
    documentId: str(a.documentId),
    documentVersion: num(a.documentVersion),
    page: num(a.page),
    kind: enumOf<AnnotationKind>(a.kind, 'ANNOTATION_KIND_NOTE'),
    area: { x: num(ar.x), y: num(ar.y), width: num(ar.width), height: num(ar.height) },
    text: str(a.text),
    color: str(a.color),
    version: num(a.version),
    updateTime: time(a.updateTime),
  };
}

export async function listAnnotations(documentId: string): Promise<Annotation[]> {
  const res = await request('GET', `/api/v1/documents/${seg(documentId)}/annotations`);
  return arr(obj(res).annotations).map(parseAnnotation);
}

/** Creates (a fresh id) or replaces an annotation; expectedVersion 0 replaces whatever is there. */
export async function saveAnnotation(a: Omit<Annotation, 'version' | 'updateTime'>, expectedVersion = 0): Promise<Annotation> {
  const res = await request('PUT', `/api/v1/documents/${seg(a.documentId)}/annotations/${seg(a.id)}`, {
    annotation: { ...a },
    expectedVersion,
  });
  return parseAnnotation(obj(res).annotation);
}

export async function deleteAnnotation(id: string): Promise<void> {
  await request('DELETE', `/api/v1/annotations/${seg(id)}`);
}

export interface PresenterPage {
  meetingId: string;
  documentId: string;
  page: number;
  presenterId: string;
}

function parsePresenterPage(v: unknown): PresenterPage {
  const p = obj(v);
  return { meetingId: str(p.meetingId), documentId: str(p.documentId), page: num(p.page), presenterId: str(p.presenterId) };
}

/** The page being presented in the meeting now, or null when nothing is. */
export async function presenterPage(meetingId: string): Promise<PresenterPage | null> {
  try {
    const res = await request('GET', `/api/v1/meetings/${seg(meetingId)}/presenter-page`);
    return parsePresenterPage(obj(res).presenterPage);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

export async function presentPage(documentId: string, page: number): Promise<void> {
  await request('POST', `/api/v1/documents/${seg(documentId)}/presenter-page`, { page });
}

/** The presenter's page from a PresenterPageTurned live event, or null for any other event. */
export function presenterSignal(eventType: string, data: unknown): PresenterPage | null {
  if (eventType !== 'ecabinet.documents.v1.PresenterPageTurned') return null;
  return parsePresenterPage(obj(data).presenterPage);
}

/** The document whose annotations changed, from an AnnotationsChanged live event. */
export function annotationsSignal(eventType: string, data: unknown): string | null {
  if (eventType !== 'ecabinet.documents.v1.AnnotationsChanged') return null;
  return str(obj(data).documentId);
}

/**
 * StudyReporter tells the server which pages the reader has seen, a few at a time: pages
 * collect while the reader turns them and go out after a short pause, and on close. A
 * report that fails (offline) keeps its pages for the next one. Whether the paper was read
 * to the end is the server's call, from the pages seen: reaching the last page by typing
 * its number, or by following the presenter, is not reading it.
 */
export class StudyReporter {
  private pending = new Set<number>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly documentId: string,
    private readonly delayMs = 1500,
  ) {}

  seen(page: number): void {
    this.pending.add(page);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), this.delayMs);
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    if (this.pending.size === 0) return;
    const pages = [...this.pending];
    this.pending.clear();
    try {
      await request('POST', `/api/v1/documents/${seg(this.documentId)}/study`, { pagesSeen: pages });
    } catch {
      for (const p of pages) this.pending.add(p);
    }
  }
}
