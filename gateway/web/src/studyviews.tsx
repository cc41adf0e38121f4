// The study report of a paper, for those who may see it (the meeting's chair and
// minute-taker, the organisation's administrators): how many have studied it, who has
// not, by organisation for library materials, and the workbook to file.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, request, seg } from './api';
import { ProblemBox } from './components';
import { share, useLibraryText } from './librarytext';
import { arr, bool, num, obj, str } from './model';

interface Report {
  expected: number;
  opened: number;
  studied: number;
  rows: { personId: string; fullName: string; opened: boolean; pagesSeen: number; readToEnd: boolean; organizationName: string }[];
  organizations: { organizationId: string; name: string; expected: number; studied: number }[];
}

function parseReport(v: unknown): Report {
  const r = obj(v);
  return {
    expected: num(r.expected),
    opened: num(r.opened),
    studied: num(r.studied),
    rows: arr(r.rows).map((x) => {
      const o = obj(x);
      return { personId: str(o.personId), fullName: str(o.fullName), opened: bool(o.opened), pagesSeen: num(o.pagesSeen), readToEnd: bool(o.readToEnd), organizationName: str(o.organizationName) };
    }),
    organizations: arr(r.organizations).map((x) => {
      const o = obj(x);
      return { organizationId: str(o.organizationId), name: str(o.name), expected: num(o.expected), studied: num(o.studied) };
    }),
  };
}

/** Shown only to those the server gives the report to; for others it is simply absent. */
export function StudySection({ documentId, version }: { documentId: string; version: number }) {
  const { tt, lang } = useLibraryText();
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let current = true;
    setReport(null);
    setError(null);
    request('GET', `/api/v1/documents/${seg(documentId)}/study-report`, undefined, { quiet401: true })
      .then((res) => current && setReport(parseReport(res)))
      .catch((err: unknown) => {
        if (current && !(err instanceof ApiError && (err.status === 403 || err.status === 404))) setError(err);
      });
    return () => {
      current = false;
    };
  }, [documentId, version]);
  if (!report && !error) return null;
  const missing = report?.rows.filter((r) => !r.readToEnd) ?? [];
  return (
    <section class="panel" aria-labelledby="study-title" data-testid="study-report">
      <h2 id="study-title" class="section-title">
        {tt('study.title')}
      </h2>
      <ProblemBox error={error} />
      {report && (
        <>
          <p data-testid="study-summary" data-studied={report.studied} data-expected={report.expected}>
            {tt('study.summary', { studied: report.studied, expected: report.expected, share: share(report.studied, report.expected, lang), opened: report.opened })}
          </p>
          {report.organizations.length > 0 && (
            <table class="study-orgs">
              <caption>{tt('study.byOrg')}</caption>
              <thead>
                <tr>
                  <th scope="col">{tt('study.org')}</th>
                  <th scope="col">{tt('study.members')}</th>
                  <th scope="col">{tt('study.studied')}</th>
                </tr>
              </thead>
              <tbody>
                {report.organizations.map((o) => (
                  <tr key={o.organizationId}>
                    <td>{o.name}</td>
                    <td>{o.expected}</td>
                    <td>
                      {o.studied} ({share(o.studied, o.expected, lang)})
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>{tt('study.notYet')}</h3>
          {missing.length === 0 ? (
            <p class="empty">{tt('study.none')}</p>
          ) : (
            <ul class="study-missing" data-testid="study-missing">
              {missing.map((r) => (
                <li key={r.personId}>
                  {r.fullName}
                  {r.organizationName && ` — ${r.organizationName}`} · {r.opened ? tt('study.opened', { pages: r.pagesSeen }) : tt('study.unopened')}
                </li>
              ))}
            </ul>
          )}
          <div class="actions">
            <a class="button" href={`/api/v1/documents/${seg(documentId)}/study-report.xlsx`} download data-testid="study-xlsx">
              {tt('study.xlsx')}
            </a>
          </div>
        </>
      )}
    </section>
  );
}
