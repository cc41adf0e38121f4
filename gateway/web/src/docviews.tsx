// The meeting's papers: the list every participant sees (followed live) and, for the chair
// and the minute-taker, the upload form. Server text (titles, file names, problem titles)
// is rendered as text.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { newUploadKey, request, seg, uploadRaw } from './api';
import { Loading, Notice, ProblemBox } from './components';
import {
  CLASSIFICATIONS,
  UPLOAD_KINDS,
  contentPath,
  docFrom,
  docPagePath,
  docsFrom,
  documentSignal,
  downloadable,
  formatSize,
  noPreview,
  readerPath,
  uploadPath,
  type Classification,
  type Doc,
  type DocumentKind,
} from './documents';
import { ApiError } from './api';
import { hasMessage, useI18n, type Translate } from './i18n';
import { useLiveEvents } from './livectx';
import { canRun, type Meeting } from './model';
import { cachePapers } from './offline';
import { Link } from './router';

export function docEnum(t: Translate, value: string): string {
  const key = `doc.${value}`;
  return hasMessage(key) ? t(key) : value;
}

export function DocumentsSection({ meeting }: { meeting: Meeting }) {
  const { t } = useI18n();
  const [docs, setDocs] = useState<Doc[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  // A newer load always wins: live events can arrive while an earlier load is in flight.
  const gen = useRef(0);
  const load = useCallback(() => {
    const mine = ++gen.current;
    request('GET', `/api/v1/meetings/${seg(meeting.id)}/documents`)
      .then((res) => {
        if (mine !== gen.current) return;
        const list = docsFrom(res);
        setDocs(list);
        setError(null);
        // Kept on the tablet for reading offline; what the list no longer has is dropped.
        cachePapers(meeting.id, list);
      })
      .catch((err: unknown) => {
        if (mine !== gen.current) return;
        setError(err);
        // No longer allowed to see the meeting's papers: drop the copies kept for it.
        if (err instanceof ApiError && (err.status === 403 || err.status === 404)) cachePapers(meeting.id, []);
      });
  }, [meeting.id]);
  useEffect(load, [load]);
  useLiveEvents((e) => {
    const sig = documentSignal(e.eventType, e.data);
    if (sig && sig.meetingId === meeting.id) load();
  });

  return (
    <section class="panel documents" aria-labelledby="documents-title" data-testid="documents" data-count={docs?.length ?? ''}>
      <h2 id="documents-title" class="section-title">
        {t('doc.title')}
      </h2>
      <ProblemBox error={error} onRetry={load} testid="documents-problem" />
      {docs === null && !error && <Loading />}
      {docs !== null && docs.length === 0 && <p class="empty">{t('doc.none')}</p>}
      {docs !== null && docs.length > 0 && (
        <ul class="doc-list" data-testid="document-list">
          {docs.map((d) => (
            <DocRow key={d.id} d={d} meeting={meeting} />
          ))}
        </ul>
      )}
      {canRun(meeting) && <UploadForm meeting={meeting} onUploaded={load} />}
    </section>
  );
}

function DocRow({ d, meeting }: { d: Doc; meeting: Meeting }) {
  const { t, lang } = useI18n();
  const item = meeting.agenda.find((a) => a.id === d.agendaItemId);
  return (
    <li class="doc-row" data-testid="document-row" data-document-id={d.id} data-version={d.version}>
      <p class="doc-title">
        <Link href={docPagePath(d.id)} data-testid="document-link">
          {d.title}
        </Link>
      </p>
      <p class="doc-facts">
        {docEnum(t, d.kind)} · {formatSize(lang, d.sizeBytes)} · {t('doc.versionN', { n: d.version })}
        {item && ` · ${item.title}`}
        {noPreview(d.preview) && (
          <>
            {' · '}
            <strong class="doc-nopreview" data-testid="no-preview">
              {t('doc.noPreview')}
            </strong>
          </>
        )}
      </p>
      <div class="actions">
        <OpenLink d={d} />
        {downloadable(d) && (
          <a class="button" href={contentPath(d.id, { download: true })} download data-testid="document-download">
            {t('doc.download')}
          </a>
        )}
      </div>
    </li>
  );
}

/** Opens a paper: PDFs in the app's reader, other viewable files in the browser. */
export function OpenLink({ d, version }: { d: Doc; version?: number }) {
  const { t } = useI18n();
  if (noPreview(d.preview)) return null;
  if (d.contentType === 'application/pdf' && !version) {
    return (
      <Link class="button" href={readerPath(d.id)} data-testid="document-open">
        {t('doc.open')}
      </Link>
    );
  }
  return (
    <a class="button" href={contentPath(d.id, { version })} target="_blank" rel="noopener" data-testid="document-open">
      {t('doc.open')}
    </a>
  );
}

function UploadForm({ meeting, onUploaded }: { meeting: Meeting; onUploaded: () => void }) {
  const { t } = useI18n();
  const [file, setFile] = useState<File | null>(null);
  const [title, setTitle] = useState('');
  const [kind, setKind] = useState<DocumentKind>('DOCUMENT_KIND_AGENDA_PAPER');
  const [classification, setClassification] = useState<Classification>('CLASSIFICATION_INTERNAL');
  const [agendaItemId, setAgendaItemId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const fileInput = useRef<HTMLInputElement>(null);
  // One key per chosen file: pressing "upload" again after a failure that came after the
  // server stored the file (the answer lost) gets that document, not a second one.
  const uploadKey = useRef('');

  async function submit() {
    if (!file) return;
    setBusy(true);
    setError(null);
    setDone('');
    try {
      const res = await uploadRaw(
        uploadPath({
          meetingId: meeting.id,
          agendaItemId,
          title: title.trim() || file.name,
          kind,
          classification,
          fileName: file.name,
        }),
        file,
        uploadKey.current,
      );
      const doc = docFrom(res);
      setDone(noPreview(doc.preview) ? t('doc.uploadedNoPreview', { title: doc.title }) : t('doc.uploaded', { title: doc.title }));
      setFile(null);
      setTitle('');
      if (fileInput.current) fileInput.current.value = '';
      onUploaded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      class="form upload-form"
      data-testid="upload-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3 class="subsection-title">{t('doc.upload')}</h3>
      <label class="field">
        <span class="field-label">{t('doc.file')}</span>
        <input
          ref={fileInput}
          type="file"
          name="file"
          required
          onChange={(e) => {
            const f = e.currentTarget.files?.[0] ?? null;
            setFile(f);
            uploadKey.current = f ? newUploadKey() : '';
            if (f && title.trim() === '') setTitle(f.name.replace(/\.[^.]+$/, ''));
          }}
        />
      </label>
      <label class="field">
        <span class="field-label">{t('doc.docTitle')}</span>
        <input name="title" value={title} maxLength={300} onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <div class="field-row">
        <label class="field">
          <span class="field-label">{t('doc.kind')}</span>
          <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as DocumentKind)}>
            {UPLOAD_KINDS.map((k) => (
              <option key={k} value={k}>
                {docEnum(t, k)}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span class="field-label">{t('doc.classification')}</span>
          <select name="classification" value={classification} onChange={(e) => setClassification(e.currentTarget.value as Classification)}>
            {CLASSIFICATIONS.map((c) => (
              <option key={c} value={c}>
                {docEnum(t, c)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {meeting.agenda.length > 0 && (
        <label class="field">
          <span class="field-label">{t('doc.agendaItem')}</span>
          <select name="agenda_item_id" value={agendaItemId} onChange={(e) => setAgendaItemId(e.currentTarget.value)}>
            <option value="">{t('doc.noAgendaItem')}</option>
            {meeting.agenda.map((a, i) => (
              <option key={a.id} value={a.id}>
                {`${i + 1}. ${a.title}`}
              </option>
            ))}
          </select>
        </label>
      )}
      <div class="actions">
        <button type="submit" class="button button--primary" disabled={busy || !file} data-testid="upload-submit">
          {busy ? t('common.working') : t('doc.uploadSend')}
        </button>
      </div>
      <ProblemBox error={error} testid="upload-problem" />
      <Notice text={done} testid="upload-done" />
    </form>
  );
}
