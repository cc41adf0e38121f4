// The library of monthly cell-meeting materials: what the committees above sent, newest
// month first, opened like agenda papers; an organisation's administrators publish here.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { newUploadKey, request, uploadRaw } from '../api';
import { Loading, Notice, ProblemBox, useTitle } from '../components';
import { OpenLink } from '../docviews';
import { docFrom, docPagePath, docsFrom, documentSignal, type Doc } from '../documents';
import { useLibraryText } from '../librarytext';
import { useLiveEvents } from '../livectx';
import { arr, obj, str } from '../model';
import { Link } from '../router';
import { useSession } from '../session';

export function LibraryPage() {
  const { tt } = useLibraryText();
  const { session } = useSession();
  const [docs, setDocs] = useState<Doc[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useTitle(tt('library.title'));
  // A newer load always wins: one publication sends an event per organisation the reader
  // belongs to, and loads can overtake each other.
  const gen = useRef(0);
  const load = useCallback(() => {
    const mine = ++gen.current;
    request('GET', '/api/v1/library')
      .then((res) => {
        if (mine !== gen.current) return;
        setDocs(docsFrom(res));
        setError(null);
      })
      .catch((err: unknown) => {
        if (mine === gen.current) setError(err);
      });
  }, []);
  useEffect(load, [load]);
  // Material published, replaced or withdrawn reaches every organisation it was sent to.
  useLiveEvents((e) => {
    const sig = documentSignal(e.eventType, e.data);
    if (sig && sig.meetingId === '') load();
  });

  const months = new Map<string, Doc[]>();
  for (const d of docs ?? []) months.set(d.libraryPeriod, [...(months.get(d.libraryPeriod) ?? []), d]);
  const adminOrgs = session.kind === 'signed-in' ? session.principal.adminOrganizationIds : [];

  return (
    <article class="library" data-testid="library">
      <h1 class="page-title">{tt('library.title')}</h1>
      <p class="hint">{tt('library.intro')}</p>
      <ProblemBox error={error} onRetry={load} />
      {docs === null && !error && <Loading />}
      {docs !== null && docs.length === 0 && <p class="empty">{tt('library.none')}</p>}
      {[...months].map(([month, list]) => (
        <section key={month} class="panel" data-testid="library-month" data-month={month}>
          <h2 class="section-title">{tt('library.month', { month: month.split('-').reverse().join('/') })}</h2>
          <ul class="doc-list">
            {list.map((d) => (
              <li key={d.id} class="doc-row" data-testid="library-document" data-document-id={d.id}>
                <p class="doc-title">
                  <Link href={docPagePath(d.id)}>{d.title}</Link>
                </p>
                <div class="actions">
                  <OpenLink d={d} />
                </div>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {adminOrgs.length > 0 && <PublishForm adminOrgs={adminOrgs} onPublished={load} />}
    </article>
  );
}

function PublishForm({ adminOrgs, onPublished }: { adminOrgs: string[]; onPublished: () => void }) {
  const { tt } = useLibraryText();
  const [orgs, setOrgs] = useState<{ id: string; name: string }[]>([]);
  const [org, setOrg] = useState('');
  const [period, setPeriod] = useState(() => new Date().toISOString().slice(0, 7));
  const [title, setTitle] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const fileInput = useRef<HTMLInputElement>(null);
  // One idempotency key per chosen file, as on the meeting page's upload form.
  const uploadKey = useRef('');
  useEffect(() => {
    request('GET', '/api/v1/organizations')
      .then((res) => {
        const list = arr(obj(res).organizations)
          .map((o) => ({ id: str(obj(o).id), name: str(obj(o).name), parentId: str(obj(o).parentId) }))
          .filter((o) => adminOrgs.includes(o.id));
        // The highest organisation first: publishing there reaches every one below.
        const top = (o: { parentId: string }) => !list.some((p) => p.id === o.parentId);
        list.sort((a, b) => Number(top(b)) - Number(top(a)));
        setOrgs(list);
        setOrg((cur) => cur || list[0]?.id || '');
      })
      .catch(setError);
  }, [adminOrgs]);

  async function submit() {
    if (!file || !org) return;
    setBusy(true);
    setError(null);
    setDone('');
    try {
      const q = new URLSearchParams({
        organization_id: org,
        library_period: period,
        title: title.trim() || file.name,
        kind: 'DOCUMENT_KIND_CELL_MATERIAL',
        classification: 'CLASSIFICATION_INTERNAL',
        file_name: file.name,
      });
      const d = docFrom(await uploadRaw(`/api/v1/documents:upload?${q}`, file, uploadKey.current));
      setDone(tt('library.sent', { title: d.title }));
      setTitle('');
      setFile(null);
      if (fileInput.current) fileInput.current.value = '';
      onPublished();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      class="panel"
      data-testid="library-publish"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2 class="section-title">{tt('library.publish')}</h2>
      <label>
        {tt('library.org')}
        <select value={org} onChange={(e) => setOrg((e.currentTarget as HTMLSelectElement).value)}>
          {orgs.map((o) => (
            <option key={o.id} value={o.id}>
              {o.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {tt('library.period')}
        <input type="month" value={period} required onInput={(e) => setPeriod((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <label>
        {tt('library.docTitle')}
        <input type="text" maxLength={300} value={title} onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <label>
        {tt('library.file')}
        <input
          ref={fileInput}
          type="file"
          required
          onChange={(e) => {
            const f = (e.currentTarget as HTMLInputElement).files?.[0] ?? null;
            setFile(f);
            uploadKey.current = f ? newUploadKey() : '';
          }}
        />
      </label>
      <ProblemBox error={error} />
      <Notice text={done} />
      <div class="actions">
        <button type="submit" class="button button--primary" disabled={busy || !file || !org}>
          {tt('library.send')}
        </button>
      </div>
    </form>
  );
}
