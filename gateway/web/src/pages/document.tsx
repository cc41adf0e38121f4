// One document: what the QR code printed on a paper opens. Title, facts, every version
// with its own open/download links, and the QR code itself (to show another tablet).
import { useCallback, useEffect, useState } from 'preact/hooks';
import { request, seg } from '../api';
import { Loading, ProblemBox, useTitle } from '../components';
import { docEnum, OpenLink } from '../docviews';
import { contentPath, docFrom, documentSignal, downloadable, formatSize, noPreview, qrPath, versionsFrom, type Doc, type DocVersion } from '../documents';
import { formatDate, formatTime } from '../format';
import { useI18n } from '../i18n';
import { useLiveEvents } from '../livectx';
import { Link } from '../router';
import { StudySection } from '../studyviews';

export function DocumentPage({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const [doc, setDoc] = useState<Doc | null>(null);
  const [versions, setVersions] = useState<DocVersion[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    Promise.all([request('GET', `/api/v1/documents/${seg(id)}`), request('GET', `/api/v1/documents/${seg(id)}/versions`)])
      .then(([d, v]) => {
        setDoc(docFrom(d));
        setVersions(versionsFrom(v));
        setError(null);
      })
      .catch((err: unknown) => setError(err));
  }, [id]);
  useEffect(load, [load]);
  useLiveEvents((e) => {
    const sig = documentSignal(e.eventType, e.data);
    if (sig && sig.documentId === id) load();
  });
  useTitle(doc?.title ?? t('doc.title'));

  const when = (d: Date | null) => (d ? `${formatDate(lang, d)} ${formatTime(lang, d)}` : '');
  return (
    <article class="document-page" data-testid="document-page" data-document-id={id} data-version={doc?.version ?? ''}>
      {doc && doc.meetingId && (
        <p class="back">
          <Link class="back-link" href={`/meetings/${encodeURIComponent(doc.meetingId)}`}>
            ← {t('common.backToMeeting')}
          </Link>
        </p>
      )}
      <ProblemBox error={error} onRetry={load} testid="document-problem" />
      {!doc && !error && <Loading />}
      {doc && (
        <>
          <header>
            <p class="meeting-kind">{docEnum(t, doc.kind)}</p>
            <h1 class="page-title" data-testid="document-title">
              {doc.title}
            </h1>
          </header>
          <div class="columns">
            <section class="panel" aria-labelledby="doc-facts-title">
              <h2 id="doc-facts-title" class="section-title">
                {t('doc.facts')}
              </h2>
              <dl class="facts">
                <dt>{t('doc.fileName')}</dt>
                <dd data-testid="document-file-name">{doc.fileName}</dd>
                <dt>{t('doc.classification')}</dt>
                <dd>{docEnum(t, doc.classification)}</dd>
                <dt>{t('doc.size')}</dt>
                <dd>{formatSize(lang, doc.sizeBytes)}</dd>
                {doc.pageCount > 0 && (
                  <>
                    <dt>{t('doc.pages')}</dt>
                    <dd>{doc.pageCount}</dd>
                  </>
                )}
                <dt>{t('doc.version')}</dt>
                <dd>{doc.version}</dd>
                <dt>{t('doc.updated')}</dt>
                <dd>{when(doc.updateTime ?? doc.createTime)}</dd>
              </dl>
              {noPreview(doc.preview) && (
                <p class="doc-nopreview" data-testid="no-preview">
                  <strong>{t('doc.noPreview')}</strong> {docEnum(t, doc.preview)}
                </p>
              )}
              <div class="actions">
                <OpenLink d={doc} />
                {downloadable(doc) && (
                  <a class="button" href={contentPath(doc.id, { download: true })} download data-testid="document-download">
                    {t('doc.download')}
                  </a>
                )}
              </div>
            </section>
            <section class="panel" aria-labelledby="doc-qr-title">
              <h2 id="doc-qr-title" class="section-title">
                {t('doc.qr')}
              </h2>
              <img class="doc-qr" src={qrPath(doc.id)} alt={t('doc.qrAlt', { title: doc.title })} width={240} height={240} data-testid="document-qr" />
            </section>
          </div>
          <StudySection documentId={doc.id} version={doc.version} />
          <section class="panel" aria-labelledby="doc-versions-title">
            <h2 id="doc-versions-title" class="section-title">
              {t('doc.versions')}
            </h2>
            <ul class="doc-list" data-testid="version-list">
              {(versions ?? []).map((v) => (
                <li key={v.version} class="doc-row" data-testid="version-row" data-version={v.version}>
                  <p class="doc-title">
                    {t('doc.versionN', { n: v.version })} — {v.fileName}
                  </p>
                  <p class="doc-facts">
                    {formatSize(lang, v.sizeBytes)} · {when(v.createTime)}
                    {noPreview(v.preview) && ` · ${t('doc.noPreview')}`}
                  </p>
                  <div class="actions">
                    {!noPreview(v.preview) && (
                      <a class="button" href={contentPath(doc.id, { version: v.version })} target="_blank" rel="noopener">
                        {t('doc.open')}
                      </a>
                    )}
                    {downloadable(doc) && (
                      <a class="button" href={contentPath(doc.id, { version: v.version, download: true })} download>
                        {t('doc.download')}
                      </a>
                    )}
                  </div>
                </li>
              ))}
            </ul>
          </section>
        </>
      )}
    </article>
  );
}
