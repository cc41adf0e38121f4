// The documents model, read defensively from protojson (camelCase, enum names, int64 as
// strings), and the links the app gives for a document's bytes and QR code.
import { seg } from './api';
import { arr, enumOf, num, obj, str, time } from './model';

export type DocumentKind =
  | 'DOCUMENT_KIND_UNSPECIFIED'
  | 'DOCUMENT_KIND_AGENDA_PAPER'
  | 'DOCUMENT_KIND_DRAFT_RESOLUTION'
  | 'DOCUMENT_KIND_REPORT'
  | 'DOCUMENT_KIND_REFERENCE'
  | 'DOCUMENT_KIND_MINUTES'
  | 'DOCUMENT_KIND_RECORDING';

export type Classification = 'CLASSIFICATION_UNSPECIFIED' | 'CLASSIFICATION_PUBLIC' | 'CLASSIFICATION_INTERNAL' | 'CLASSIFICATION_CONFIDENTIAL';

export type DownloadPolicy = 'DOWNLOAD_POLICY_UNSPECIFIED' | 'DOWNLOAD_POLICY_ALLOWED' | 'DOWNLOAD_POLICY_VIEW_ONLY' | 'DOWNLOAD_POLICY_WATERMARKED';

export type Preview = 'PREVIEW_UNSPECIFIED' | 'PREVIEW_AVAILABLE' | 'PREVIEW_NONE_ENCRYPTED' | 'PREVIEW_NONE_CORRUPT' | 'PREVIEW_NONE_OFFICE';

export const UPLOAD_KINDS: readonly DocumentKind[] = [
  'DOCUMENT_KIND_AGENDA_PAPER',
  'DOCUMENT_KIND_DRAFT_RESOLUTION',
  'DOCUMENT_KIND_REPORT',
  'DOCUMENT_KIND_REFERENCE',
];

export const CLASSIFICATIONS: readonly Classification[] = ['CLASSIFICATION_PUBLIC', 'CLASSIFICATION_INTERNAL', 'CLASSIFICATION_CONFIDENTIAL'];

export interface Doc {
  id: string;
  meetingId: string;
  agendaItemId: string;
  title: string;
  kind: DocumentKind;
  classification: Classification;
  fileName: string;
  contentType: string;
  sizeBytes: number;
  version: number;
  pageCount: number;
  preview: Preview;
  downloadPolicy: DownloadPolicy;
  /** A library document's month, "YYYY-MM"; empty for a meeting's paper. */
  libraryPeriod: string;
  createTime: Date | null;
  updateTime: Date | null;
}

export interface DocVersion {
  version: number;
  fileName: string;
  contentType: string;
  sizeBytes: number;
  pageCount: number;
  preview: Preview;
  createTime: Date | null;
}

export function parseDoc(v: unknown): Doc {
  const d = obj(v);
  return {
    id: str(d.id),
    meetingId: str(d.meetingId),
    agendaItemId: str(d.agendaItemId),
    title: str(d.title),
    kind: enumOf<DocumentKind>(d.kind, 'DOCUMENT_KIND_UNSPECIFIED'),
    classification: enumOf<Classification>(d.classification, 'CLASSIFICATION_UNSPECIFIED'),
    fileName: str(d.fileName),
    contentType: str(d.contentType),
    sizeBytes: num(d.sizeBytes),
    version: num(d.version),
    pageCount: num(d.pageCount),
    preview: enumOf<Preview>(d.preview, 'PREVIEW_UNSPECIFIED'),
    downloadPolicy: enumOf<DownloadPolicy>(d.downloadPolicy, 'DOWNLOAD_POLICY_ALLOWED'),
    libraryPeriod: str(d.libraryPeriod),
    createTime: time(d.createTime),
    updateTime: time(d.updateTime),
  };
}

export function parseVersion(v: unknown): DocVersion {
  const d = obj(v);
  return {
    version: num(d.version),
    fileName: str(d.fileName),
    contentType: str(d.contentType),
    sizeBytes: num(d.sizeBytes),
    pageCount: num(d.pageCount),
    preview: enumOf<Preview>(d.preview, 'PREVIEW_UNSPECIFIED'),
    createTime: time(d.createTime),
  };
}

export const docsFrom = (res: unknown): Doc[] => arr(obj(res).documents).map(parseDoc);
export const docFrom = (res: unknown): Doc => parseDoc(obj(res).document);
export const versionsFrom = (res: unknown): DocVersion[] =>
  arr(obj(res).versions)
    .map(parseVersion)
    .sort((a, b) => b.version - a.version);

/** "No preview": the server could not read the file (encrypted, corrupt) or has no viewer for it. */
export function noPreview(p: Preview): boolean {
  return p === 'PREVIEW_NONE_ENCRYPTED' || p === 'PREVIEW_NONE_CORRUPT' || p === 'PREVIEW_NONE_OFFICE';
}

export function contentPath(id: string, opts: { download?: boolean; version?: number } = {}): string {
  const q = new URLSearchParams();
  if (opts.version) q.set('version', String(opts.version));
  if (opts.download) q.set('download', '1');
  const qs = q.toString();
  return `/api/v1/documents/${seg(id)}/content${qs ? `?${qs}` : ''}`;
}

export const qrPath = (id: string): string => `/api/v1/documents/${seg(id)}/qr.svg`;
export const readerPath = (id: string): string => `/documents/${encodeURIComponent(id)}/read`;

/** Whether the app offers to save the paper as a file (a view-only one is read in the app only). */
export function downloadable(d: Doc): boolean {
  return d.downloadPolicy !== 'DOWNLOAD_POLICY_VIEW_ONLY';
}
export const docPagePath = (id: string): string => `/documents/${encodeURIComponent(id)}`;

export interface UploadForm {
  meetingId: string;
  agendaItemId: string;
  title: string;
  kind: DocumentKind;
  classification: Classification;
  fileName: string;
}

export function uploadPath(f: UploadForm): string {
  const q = new URLSearchParams({
    meeting_id: f.meetingId,
    title: f.title,
    kind: f.kind,
    classification: f.classification,
    file_name: f.fileName,
  });
  if (f.agendaItemId) q.set('agenda_item_id', f.agendaItemId);
  return `/api/v1/documents:upload?${q.toString()}`;
}

const DOC_EVENTS = new Set(['DocumentAdded', 'DocumentVersionAdded', 'DocumentWithdrawn']);

/**
 * The meeting and document a documents live event is about, or null for any other event.
 * DocumentAdded/VersionAdded carry the whole document; DocumentWithdrawn carries the ids.
 */
export function documentSignal(eventType: string, data: unknown): { meetingId: string; documentId: string } | null {
  const name = eventType.split('.').pop() ?? '';
  if (!eventType.startsWith('ecabinet.documents.') || !DOC_EVENTS.has(name)) return null;
  const d = obj(data);
  const doc = obj(d.document);
  const meetingId = str(doc.meetingId) || str(d.meetingId);
  const documentId = str(doc.id) || str(d.documentId);
  return { meetingId, documentId };
}

/** Bytes as a short human size; units are the same in Vietnamese and English. */
export function formatSize(lang: string, n: number): string {
  const fmt = (v: number) => new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: 1 }).format(v);
  if (n < 1024) return `${fmt(n)} B`;
  if (n < 1024 * 1024) return `${fmt(n / 1024)} KB`;
  if (n < 1024 * 1024 * 1024) return `${fmt(n / (1024 * 1024))} MB`;
  return `${fmt(n / (1024 * 1024 * 1024))} GB`;
}
