// /checkin?meeting=<id>&token=<t>: what a member's tablet or phone opens after scanning the
// room's QR code. Signing in first (if needed) comes back here; then the check-in is sent
// once, and the page shows the member's attendance as the server recorded it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { request, seg } from '../api';
import { AttendanceText, ProblemBox, useTitle } from '../components';
import { useI18n } from '../i18n';
import { meetingFrom, me, type Meeting } from '../model';
import { Link, useLocation } from '../router';
import { useSession } from '../session';

export function CheckInPage() {
  const { t } = useI18n();
  const { session } = useSession();
  const loc = useLocation();
  const meetingId = loc.query.get('meeting') ?? '';
  const token = loc.query.get('token') ?? '';
  const [result, setResult] = useState<{ meeting: Meeting } | { error: unknown } | null>(null);
  const sent = useRef('');
  useTitle(t('checkin.title'));

  useEffect(() => {
    if (!meetingId || !token) return;
    // Once per scanned code: a re-render (language switch, say) must not check in again.
    const key = `${meetingId}|${token}`;
    if (sent.current === key) return;
    sent.current = key;
    setResult(null);
    request('POST', `/api/v1/meetings/${seg(meetingId)}:checkIn`, { token })
      .then((res) => setResult({ meeting: meetingFrom(res) }))
      .catch((error: unknown) => setResult({ error }));
  }, [meetingId, token]);

  const myId = session.kind === 'signed-in' ? session.principal.personId : undefined;
  let body;
  if (!meetingId || !token) {
    body = (
      <p class="problem problem-title" role="alert" data-testid="checkin-result" data-ok="false">
        {t('checkin.badLink')}
      </p>
    );
  } else if (result === null) {
    body = (
      <p role="status" aria-live="polite">
        {t('checkin.working')}
      </p>
    );
  } else if ('error' in result) {
    body = (
      <div data-testid="checkin-result" data-ok="false">
        <p class="checkin-verdict checkin-verdict--failed">{t('checkin.failed')}</p>
        <ProblemBox error={result.error} testid="checkin-problem" />
        <p class="hint">{t('checkin.scanAgain')}</p>
      </div>
    );
  } else {
    const m = result.meeting;
    const mine = me(m, myId);
    body = (
      <div data-testid="checkin-result" data-ok="true">
        <p class="checkin-verdict checkin-verdict--done" role="status">
          {t('checkin.done')}
        </p>
        <p class="checkin-meeting" data-testid="meeting-title">
          {m.title}
        </p>
        {mine && <AttendanceText p={mine} />}
        <p>
          <Link class="button button--primary" href={`/meetings/${encodeURIComponent(m.id || meetingId)}`} data-testid="open-meeting">
            {t('checkin.openMeeting')}
          </Link>
        </p>
      </div>
    );
  }
  return (
    <section class="checkin" aria-labelledby="checkin-title">
      <h1 id="checkin-title" class="page-title">
        {t('checkin.title')}
      </h1>
      {body}
    </section>
  );
}
