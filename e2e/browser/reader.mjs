// Reading an agenda paper on tablets, against the demo data (`ecabinet -load-demo`):
//
//   1. the minute-taker uploads a three-page PDF to today's meeting (through the API, as
//      the app's upload form does);
//   2. a member's tablet opens the meeting — which keeps its papers for offline reading —
//      and the paper in the reader: the first page is drawn; the member adds a note;
//      the pages seen reach the minute-taker's study report;
//   3. the member's second tablet (another browser context) opens the paper: the note is
//      there, and still there after a reload;
//   4. the second tablet follows the presenter; the minute-taker presents the paper and
//      turns to page 3: the member's tablet turns with them, without a reload;
//   5. the first tablet loses the network (its connection to the suite runs through a
//      proxy this test cuts): reloaded, the app and the paper still open, page 1 and page 2
//      are drawn from the copy kept on the tablet;
//   6. the network is back; the minute-taker withdraws the paper; the member's tablet
//      opens the meeting and the kept copy is gone;
//   7. the minute-taker publishes the month's material to the library; it appears live in the
//      library the member has open.
//
// The first tablet talks to the suite through a TCP proxy of its own (a real cut, which
// the service worker sees: Chromium's offline emulation does not reach service workers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  UI_TIMEOUT_MS,
  VIEWPORTS,
  base,
  browser,
  demoLogin as login,
  expectClean,
  findMeeting,
  poll,
  shot,
  signIn,
  tablet,
  url,
  waitFor,
  withFailureShots,
} from './lib.mjs';

const PAPERS_CACHE = 'ecabinet-papers-v1';

test('reading a paper: first page, private notes on two tablets, following the presenter, offline', async (t) => {
  const minuteTaker = login('DEMO_MINUTE_TAKER');
  const member = login('DEMO_MEMBER');

  const proxy = await startProxy(base);
  t.after(() => proxy.close());

  const mt = await tablet(t, VIEWPORTS.landscape, 'minute-taker');
  const second = await tablet(t, VIEWPORTS.portrait, 'member-second-tablet');
  const first = await proxiedTablet(t, proxy.origin, 'member-first-tablet');

  const pages = () => ({ 'minute-taker': mt.page, 'member-second': second.page, 'member-first': first.page });
  await withFailureShots(pages, 'reader', async () => {
    // 1. The paper.
    await mt.page.goto(url('/login'));
    await signIn(mt.page, minuteTaker);
    await waitFor(mt.page, '[data-testid="meeting-list"] .card', 'today\'s meetings');
    const card = await findMeeting(mt.page);
    const meetingPath = new URL(await card.locator('a').first().getAttribute('href'), base).pathname;
    const meetingId = meetingPath.split('/')[2];
    const doc = await mt.page.evaluate(
      async ({ meetingId, pdf }) => {
        const q = new URLSearchParams({ meeting_id: meetingId, title: 'Báo cáo đọc thử', kind: 'agenda_paper', classification: 'internal', file_name: 'bao-cao-doc-thu.pdf' });
        const res = await fetch(`/api/v1/documents:upload?${q}`, { method: 'POST', headers: { 'Content-Type': 'application/pdf' }, body: new Uint8Array(pdf) });
        const body = await res.json();
        if (!res.ok) throw new Error(`upload: ${res.status} ${JSON.stringify(body)}`);
        return body.document;
      },
      { meetingId, pdf: [...threePagePDF()] },
    );
    assert.equal(doc.pageCount, 3, 'the server counted the pages');
    const readerPath = `/documents/${doc.id}/read`;

    // 2. The member's first tablet: the meeting keeps its papers; the reader draws page 1.
    await first.page.goto(`${proxy.origin}/login`);
    await signIn(first.page, member);
    await first.page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: UI_TIMEOUT_MS });
    await first.page.goto(`${proxy.origin}${meetingPath}`);
    await waitFor(first.page, `[data-testid="document-row"][data-document-id="${doc.id}"]`, 'the paper in the meeting');
    await poll(
      first.page,
      async ({ cacheName, id }) => (await (await caches.open(cacheName)).keys()).some((r) => r.url.endsWith(`/documents/${id}/content`)),
      { cacheName: PAPERS_CACHE, id: doc.id },
      'the paper kept by the service worker',
    );
    await first.page.goto(`${proxy.origin}${readerPath}`);
    await rendered(first.page, 1);
    assert.ok((await inkOnCanvas(first.page)) > 1000, 'page 1 is drawn, not blank');
    await shot(t, first.page, 'reader-first-page');

    await first.page.click('[data-testid="reader-add-note"]');
    const overlay = first.page.locator('[data-testid="reader-overlay"]');
    const box = await overlay.boundingBox();
    await first.page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.4);
    await first.page.fill('[data-testid="reader-note-text"]', 'Hỏi lại số liệu quý III');
    await first.page.click('[data-testid="reader-note-save"]');
    await waitFor(first.page, '[data-testid="reader-note"]', 'the saved note');
    assert.equal((await first.page.innerText('[data-testid="reader-notes"]')).includes('Hỏi lại số liệu quý III'), true);
    assert.equal(await first.page.locator('[data-testid="reader-annotation"]').count(), 1, 'the note is marked on the page');
    await shot(t, first.page, 'reader-note-added');

    // 3. The second tablet has the note, also after a reload.
    await second.page.goto(url('/login'));
    await signIn(second.page, member);
    await second.page.goto(url(readerPath));
    await rendered(second.page, 1);
    await waitFor(second.page, '[data-testid="reader-note"]', 'the note made on the other tablet');
    await second.page.reload();
    await rendered(second.page, 1);
    await waitFor(second.page, '[data-testid="reader-note"]', 'the note after a reload');
    assert.ok((await second.page.innerText('[data-testid="reader-notes"]')).includes('Hỏi lại số liệu quý III'));

    // What the member read is tracked: the minute-taker's study report has them opening it.
    const personId = await first.page.evaluate(async () => (await (await fetch('/api/v1/me')).json()).principal.personId);
    await poll(
      mt.page,
      async ({ id, personId }) => {
        const res = await fetch(`/api/v1/documents/${id}/study-report`);
        const report = await res.json();
        return (report.rows ?? []).some((r) => r.personId === personId && r.opened && r.pagesSeen >= 1);
      },
      { id: doc.id, personId },
      'the member in the study report',
    );

    // The minute-taker's page of the paper shows the study report.
    await mt.page.goto(url(`/documents/${doc.id}`));
    await waitFor(mt.page, '[data-testid="study-summary"]', 'the study report on the paper\'s page');
    assert.ok(Number(await mt.page.getAttribute('[data-testid="study-summary"]', 'data-expected')) > 1, 'the participants are expected to study it');
    await shot(t, mt.page, 'reader-study-report');

    // 4. Following the presenter.
    await second.page.check('[data-testid="reader-follow"]');
    await mt.page.goto(url(readerPath));
    await rendered(mt.page, 1);
    await mt.page.check('[data-testid="reader-present"]');
    await mt.page.click('[data-testid="reader-next"]');
    await mt.page.click('[data-testid="reader-next"]');
    await rendered(mt.page, 3);
    await rendered(second.page, 3);
    await shot(t, second.page, 'reader-following-page-3');
    // Notes are private: the minute-taker sees none of the member's.
    assert.equal(await mt.page.locator('[data-testid="reader-note"]').count(), 0, "the member's note is theirs alone");
    await mt.page.uncheck('[data-testid="reader-present"]');

    // 5. The network goes; the paper stays.
    proxy.cut();
    await first.page.reload();
    await rendered(first.page, 1);
    assert.ok((await inkOnCanvas(first.page)) > 1000, 'page 1 drawn offline');
    await first.page.click('[data-testid="reader-next"]');
    await rendered(first.page, 2);
    await shot(t, first.page, 'reader-offline-page-2');

    // 6. Back online, the paper withdrawn: the kept copy goes at the next contact.
    proxy.restore();
    const withdrawn = await mt.page.evaluate(async (id) => {
      const res = await fetch(`/api/v1/documents/${id}:withdraw`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ reason: 'Thay bằng bản mới' }) });
      return res.status;
    }, doc.id);
    assert.equal(withdrawn, 200, 'the minute-taker withdrew the paper');
    await first.page.goto(`${proxy.origin}${meetingPath}`);
    await waitFor(first.page, '[data-testid="documents"]', 'the meeting\'s papers');
    await poll(
      first.page,
      async ({ cacheName, id }) => !(await (await caches.open(cacheName)).keys()).some((r) => r.url.endsWith(`/documents/${id}/content`)),
      { cacheName: PAPERS_CACHE, id: doc.id },
      'the withdrawn paper purged from the kept copies',
    );

    // 7. The library: the minute-taker (who administers the bloc) publishes the month's
    //    material; the member finds it in the library on the other tablet.
    //    The member has the library open already: the material appears there live.
    await second.page.goto(url('/library'));
    await waitFor(second.page, '[data-testid="library"] .empty', 'the member\'s empty library');
    await waitFor(second.page, '[data-testid="live"][data-live="open"]', 'the member\'s live channel');
    await mt.page.goto(url('/library'));
    await waitFor(mt.page, '[data-testid="library-publish"] select option', 'the publishing form');
    await mt.page.fill('[data-testid="library-publish"] input[type="text"]', 'Tài liệu sinh hoạt chi bộ tháng 11');
    await mt.page.setInputFiles('[data-testid="library-publish"] input[type="file"]', { name: 'tai-lieu-thang-11.pdf', mimeType: 'application/pdf', buffer: threePagePDF() });
    await mt.page.click('[data-testid="library-publish"] button[type="submit"]');
    await waitFor(mt.page, '[data-testid="library-document"]', 'the published material');
    await waitFor(second.page, '[data-testid="library-document"]', 'the material arriving live in the member\'s library');
    assert.ok((await second.page.innerText('[data-testid="library"]')).includes('Tài liệu sinh hoạt chi bộ tháng 11'));
    await shot(t, second.page, 'library-member');

    expectClean(mt);
    expectClean(second);
    assert.deepEqual(first.pageErrors, [], 'member-first-tablet: uncaught errors in the page');
  });
});

async function rendered(page, n) {
  await page.waitForSelector(`[data-testid="reader"][data-rendered-page="${n}"]`, { timeout: UI_TIMEOUT_MS });
}

// inkOnCanvas counts the pixels of the drawn page that are not white.
async function inkOnCanvas(page) {
  return page.evaluate(() => {
    const c = document.querySelector('[data-testid="reader-canvas"]');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) ink++;
    return ink;
  });
}

// A tablet whose every request goes through the proxy: its own origin, so nothing else is
// watched here but uncaught errors.
async function proxiedTablet(t, origin, label) {
  const context = await (await browser()).newContext({
    viewport: { width: VIEWPORTS.portrait.width, height: VIEWPORTS.portrait.height },
    hasTouch: true,
    isMobile: true,
    locale: 'en-US',
    serviceWorkers: 'allow',
  });
  t.after(() => context.close());
  const page = await context.newPage();
  const tab = { context, page, label, pageErrors: [] };
  page.on('pageerror', (err) => tab.pageErrors.push(`${label}: ${err.message}`));
  assert.ok(origin.startsWith('http://127.0.0.1:'));
  return tab;
}

// startProxy forwards TCP connections from a loopback port to the suite until cut: then
// open connections are dropped and new ones closed at once, as when the Wi-Fi goes.
async function startProxy(target) {
  let cut = false;
  const open = new Set();
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    const upstream = net.connect(Number(target.port || 80), target.hostname);
    open.add(client);
    open.add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    cut() {
      cut = true;
      for (const s of open) s.destroy();
    },
    restore() {
      cut = false;
    },
    close() {
      cut = true;
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// threePagePDF writes a small PDF: three A4 pages, each with a dark block and its number,
// and enough padding that the reader fetches it in ranges.
function threePagePDF() {
  const objects = [];
  const pageIds = [3, 5, 7];
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((i) => `${i} 0 R`).join(' ')}] /Count 3 >>`;
  pageIds.forEach((id, i) => {
    objects[id] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents ${id + 1} 0 R /Resources << /Font << /F1 9 0 R >> >> >>`;
    const content = `0.1 0.2 0.5 rg 60 300 475 400 re f BT /F1 64 Tf 0 0 0 rg 200 150 Td (Trang ${i + 1}) Tj ET`;
    objects[id + 1] = `<< /Length ${content.length} >>\nstream\n${content}\nendstream`;
  });
  objects[9] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
  const padding = 'x'.repeat(300 * 1024);
  objects[10] = `<< /Length ${padding.length} >>\nstream\n${padding}\nendstream`;
  let out = '%PDF-1.4\n';
  const offsets = [];
  for (let i = 1; i < objects.length; i++) {
    offsets[i] = out.length;
    out += `${i} 0 obj\n${objects[i]}\nendobj\n`;
  }
  const xref = out.length;
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let i = 1; i < objects.length; i++) out += `${String(offsets[i]).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
