// The minutes and the tasks on tablets, against the demo data (`ecabinet -load-demo`).
// Runs after meeting.mjs (the meeting is then in progress), or on its own (it starts the
// meeting if it has not started yet):
//
//   1. the minute-taker (landscape) opens the minutes from the console: the header names
//      the chair and the minute-taker; they write Vietnamese minutes for two agenda items
//      (the first saved when the focus leaves it, the second with "Lưu"); text with HTML in
//      it is kept as typed;
//   2. meanwhile another tablet saves the first item: the minute-taker's text stays where it
//      is, the server's is shown beside it, and "keep mine" saves it — the server then has
//      exactly what the minute-taker typed;
//   3. the minute-taker ends the meeting in the console and submits the minutes, which
//      become read-only;
//   4. the chair (portrait, a second browser context) sees on the meeting page that the
//      minutes wait for them, reads them (HTML shown as text), returning without a reason
//      is refused with the field named in Vietnamese, and approves; the minute-taker's page
//      shows "Đã duyệt" without a reload;
//   5. the PDF downloads: application/pdf, %PDF, the embedded font's ToUnicode map covers
//      the Vietnamese letters, and (with pdftotext) the text reads back intact;
//   6. the minute-taker gives a task from the first item's conclusions to the member: the
//      title is prefilled from the conclusion, a missing deadline is refused;
//   7. the member (portrait) finds it under "Nhiệm vụ của tôi", starts it and reports
//      progress; the minute-taker's page follows live; the page works in English too;
//   8. the minute-taker amends the approved minutes with a reason: revision 2 is a draft
//      again, and the approved revision's PDF is still offered.
//
// Screenshots of every step are kept in ./artifacts (minutes-*.png, and minutes.pdf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { inflateSync, constants as zlibConstants } from 'node:zlib';
import {
  ARTIFACTS,
  UI_TIMEOUT_MS,
  VIEWPORTS,
  demoLogin,
  expectClean,
  expectTabletLayout,
  findMeeting,
  shot,
  signIn,
  tablet,
  url,
  waitFor,
  waitForPath,
  withFailureShots,
} from './lib.mjs';

// What the minute-taker writes: real Vietnamese, with every kind of diacritic, and in the
// second item's opinions a piece of HTML that must stay text everywhere.
const HTML_OPINION = `<img src=x onerror="window.__xss=1"> Ý kiến: “đồng ý” & <b>thống nhất</b>`;
const CONCLUSION_1 = 'Giao Ban Tuyên giáo hoàn thiện báo cáo tổng kết trước ngày 05/12.';
const WRITTEN = [
  {
    discussion: 'Đồng chí Bí thư trình bày dự thảo báo cáo; các đồng chí thảo luận về kết quả thực hiện nhiệm vụ tháng 11.',
    opinions: 'Đồng chí Trưởng Ban Tuyên giáo đề nghị bổ sung số liệu về công tác phát triển đảng viên mới.',
    conclusions: `${CONCLUSION_1}\nVăn phòng tổng hợp ý kiến, trình Thường trực xem xét.`,
  },
  {
    discussion: 'Thảo luận phương hướng, nhiệm vụ tháng 12: ưu tiên kiểm tra, giám sát ở các chi bộ trực thuộc.',
    opinions: HTML_OPINION,
    conclusions: 'Thống nhất thông qua phương hướng, nhiệm vụ tháng 12 năm 2026.',
  },
];
// The conflict: what another tablet saves into the first item, and what the minute-taker
// has typed there meanwhile (and keeps).
const THEIRS = 'Bản của máy tính bảng khác: ghi chú nhanh của đồng chí Phó Bí thư.';
const MINE = 'Bản của thư ký: hội nghị đánh giá cao kết quả tháng 11, đề nghị tiếp tục phát huy.';
const NOTE = 'Đã hoàn thành phần số liệu, đang xin ý kiến các ban.';

test('minutes and tasks: written, approved, exported as PDF, and followed up on tablets', async (t) => {
  const mt = await tablet(t, VIEWPORTS.landscape, 'minute-taker');
  let chair = null;
  let mem = null;
  const pages = () => ({ minuteTaker: mt.page, chair: chair?.page, member: mem?.page });

  await withFailureShots(pages, 'minutes', async () => {
    // 1. The minute-taker's console, with the meeting in progress.
    await mt.page.goto(url('/'), { waitUntil: 'domcontentloaded' });
    await waitForPath(mt.page, (u) => u.pathname === '/login', 'the sign-in page');
    await signIn(mt.page, demoLogin('DEMO_MINUTE_TAKER'));
    await waitFor(mt.page, '[data-testid="meeting-list"][data-tab="today"] :is(.card, .empty)', "today's meetings");
    const card = await findMeeting(mt.page);
    const meetingId = await card.getAttribute('data-meeting-id');
    const api = (rest = '') => url(`/api/v1/meetings/${encodeURIComponent(meetingId)}${rest}`);
    await mt.page.goto(url(`/meetings/${encodeURIComponent(meetingId)}/console`), { waitUntil: 'domcontentloaded' });
    await waitFor(mt.page, '[data-testid="console"]', 'the console');
    await startMeeting(mt.page);

    await mt.page.click('[data-testid="console"] [data-testid="minutes-link"]');
    await waitFor(mt.page, '[data-testid="minutes"][data-editable="true"]', 'the minutes editor');
    assert.equal(await mt.page.getAttribute('[data-testid="minutes"]', 'data-state'), 'MINUTES_STATE_DRAFT', 'fresh demo minutes are a draft');
    const header = await mt.page.innerText('[data-testid="minutes-header"]');
    const chairName = (await mt.page.innerText('[data-testid="minutes-chair"]')).trim();
    const takerName = (await mt.page.innerText('[data-testid="minutes-taker"]')).trim();
    assert.ok(chairName && chairName !== '—', `the header names the chair: ${header}`);
    assert.ok(takerName && takerName !== '—', `the header names the minute-taker: ${header}`);
    const items = mt.page.locator('[data-testid="minutes-item"]');
    assert.ok((await items.count()) >= 2, 'the minutes have an item per agenda item');
    const itemIds = await items.evaluateAll((els) => els.map((e) => e.dataset.itemId));
    const item = (i) => mt.page.locator(`[data-testid="minutes-item"][data-item-id="${itemIds[i]}"]`);
    await expectTabletLayout(mt.page, mt.vp, 'minutes editor');
    await shot(t, mt.page, 'minutes-01-editor-landscape');

    // The first item: typed, and saved when the finger moves on to the second item.
    const version0 = Number(await mt.page.getAttribute('[data-testid="minutes"]', 'data-version'));
    await fillItem(item(0), WRITTEN[0]);
    await item(1).locator('textarea[name="discussion"]').click();
    await waitForSaved(item(0), 'the first item to be saved when the focus left it');
    // The second: saved with the button.
    await fillItem(item(1), WRITTEN[1]);
    await item(1).locator('button[data-action="save"]').click();
    await waitForSaved(item(1), 'the second item to be saved with "Lưu"');
    const version2 = Number(await mt.page.getAttribute('[data-testid="minutes"]', 'data-version'));
    assert.ok(version2 >= version0 + 2, `each save is a new version (${version0} → ${version2})`);
    let saved = await getMinutes(mt, api);
    for (const i of [0, 1]) {
      const onServer = saved.items.find((x) => x.agendaItemId === itemIds[i]);
      for (const f of ['discussion', 'opinions', 'conclusions']) {
        assert.equal(onServer[f], WRITTEN[i][f].normalize('NFC'), `the server has item ${i + 1}'s ${f} as typed`);
      }
    }
    assert.equal(await mt.page.locator('[data-testid="minutes"] img').count(), 0, 'HTML typed into the minutes must not create elements');
    await shot(t, mt.page, 'minutes-02-written-landscape');

    // 2. Two editors at once: the minute-taker types into the first item while another
    //    tablet (the same account, as the API lets any client) saves it first.
    const discussion = item(0).locator('textarea[name="discussion"]');
    await discussion.fill(MINE);
    const other = await mt.context.request.put(api(`/minutes/items/${encodeURIComponent(itemIds[0])}`), {
      data: { expectedVersion: String(saved.version), discussion: THEIRS, opinions: WRITTEN[0].opinions, conclusions: WRITTEN[0].conclusions },
    });
    assert.equal(other.status(), 200, `the other tablet's save answered ${other.status()}: ${await other.text()}`);
    // The live event may show the conflict first; else leaving the field tries to save,
    // is refused as stale, and shows it.
    await discussion.blur();
    await waitFor(mt.page, `[data-testid="minutes-item"][data-item-id="${itemIds[0]}"][data-conflict="true"] [data-testid="conflict"]`, 'the conflict to be shown');
    assert.equal(await discussion.inputValue(), MINE, "the minute-taker's text is kept");
    const theirs = item(0).locator('[data-testid="server-text"][data-field="discussion"]');
    assert.equal(await theirs.getAttribute('data-differs'), 'true');
    assert.ok((await theirs.innerText()).includes(THEIRS), "the server's text is shown beside it");
    assert.equal(await item(0).locator('[data-testid="server-text"][data-field="conclusions"]').getAttribute('data-differs'), 'false', 'unchanged sections are marked as such');
    await expectTabletLayout(mt.page, mt.vp, 'minutes conflict');
    await shot(t, mt.page, 'minutes-03-conflict-landscape');
    await item(0).locator('button[data-action="keep-mine"]').click();
    await waitForSaved(item(0), 'the merged text to be saved');
    saved = await getMinutes(mt, api);
    assert.equal(saved.items.find((x) => x.agendaItemId === itemIds[0]).discussion, MINE, 'the server has what the minute-taker kept');

    // The same conflict seen on a portrait tablet stacks the two versions.
    await mt.page.setViewportSize({ width: VIEWPORTS.portrait.width, height: VIEWPORTS.portrait.height });
    await expectTabletLayout(mt.page, VIEWPORTS.portrait, 'minutes editor');
    await shot(t, mt.page, 'minutes-04-editor-portrait');
    await mt.page.setViewportSize({ width: VIEWPORTS.landscape.width, height: VIEWPORTS.landscape.height });

    // 3. End the meeting in the console, then submit the minutes.
    await mt.page.click('[data-testid="minutes"] [data-testid="console-link"]');
    await waitFor(mt.page, '[data-testid="console"][data-state="MEETING_STATE_IN_PROGRESS"]', 'the console');
    await mt.page.click('[data-testid="lifecycle"] button[data-action="end"]');
    await mt.page.click('[data-testid="lifecycle"] button[data-action="end-confirm"]');
    await waitFor(mt.page, '[data-testid="console"][data-state="MEETING_STATE_ENDED"]', 'the meeting to end');
    await mt.page.click('[data-testid="console"] [data-testid="minutes-link"]');
    await waitFor(mt.page, '[data-testid="minutes"] [data-action="submit"]', 'the submit button');
    await mt.page.click('[data-testid="minutes"] [data-action="submit"]');
    await waitFor(mt.page, '[data-testid="minutes"][data-state="MINUTES_STATE_SUBMITTED"][data-editable="false"]', 'the minutes to be submitted').catch(
      async (err) => {
        err.message += `; the page says: ${(await mt.page.locator('[data-testid="minutes"] [role="alert"]').allInnerTexts()).join(' / ')}`;
        throw err;
      },
    );
    assert.equal(await mt.page.locator('[data-testid="minutes"] textarea').count(), 0, 'submitted minutes are not editable');
    await shot(t, mt.page, 'minutes-05-submitted-landscape');

    // 4. The chair's tablet: the meeting page says the minutes wait for them.
    chair = await tablet(t, VIEWPORTS.portrait, 'chair');
    await chair.page.goto(url(`/meetings/${encodeURIComponent(meetingId)}`), { waitUntil: 'domcontentloaded' });
    await waitForPath(chair.page, (u) => u.pathname === '/login', 'the sign-in page for the chair');
    await signIn(chair.page, demoLogin('DEMO_CHAIR'));
    await waitFor(chair.page, '[data-testid="minutes-summary"][data-state="MINUTES_STATE_SUBMITTED"] .awaiting', 'the meeting page to say the minutes wait for the chair');
    await shot(t, chair.page, 'minutes-06-chair-meeting-portrait');
    await chair.page.click('[data-testid="minutes-summary"] [data-testid="minutes-link"]');
    await waitFor(chair.page, '[data-testid="minutes"][data-state="MINUTES_STATE_SUBMITTED"] [data-action="approve"]', "the chair's approval buttons");
    assert.equal(await chair.page.locator('[data-testid="minutes"] textarea').count(), 0, 'the chair reads the minutes, not edits them');
    const chairItem = (i) => chair.page.locator(`[data-testid="minutes-item"][data-item-id="${itemIds[i]}"]`);
    assert.equal((await chairItem(0).locator('[data-testid="read-discussion"]').innerText()).trim(), MINE);
    assert.equal((await chairItem(0).locator('[data-testid="read-conclusions"]').innerText()).trim(), WRITTEN[0].conclusions);
    assert.equal((await chairItem(1).locator('[data-testid="read-opinions"]').innerText()).trim(), HTML_OPINION.trim(), 'HTML in the minutes is shown as text');
    assert.equal(await chair.page.locator('[data-testid="minutes"] img, [data-testid="minutes"] b').count(), 0, 'HTML in the minutes must not create elements');
    await expectTabletLayout(chair.page, chair.vp, 'minutes (chair)');
    await shot(t, chair.page, 'minutes-07-chair-review-portrait');

    // Returning needs a reason: the server says so, naming the field in Vietnamese.
    await chair.page.click('[data-testid="minutes"] button[data-action="return"]');
    await chair.page.click('[data-testid="return-form"] button[type="submit"]');
    const reasonError = chair.page.locator('[data-testid="return-form-problem"] li[data-field="reason"]');
    await reasonError.waitFor({ timeout: UI_TIMEOUT_MS });
    assert.match(await reasonError.innerText(), /^Lý do: \S/, 'the missing reason is named in Vietnamese');
    await chair.page.click('[data-testid="return-form"] button[type="button"]');

    // Approve (a second tap confirms it).
    await chair.page.click('[data-testid="minutes"] button[data-action="approve"]');
    await chair.page.click('[data-testid="minutes"] button[data-action="approve-confirm"]');
    await waitFor(chair.page, '[data-testid="minutes"][data-state="MINUTES_STATE_APPROVED"] [data-testid="minutes-approved"]', 'the minutes to be approved').catch(
      async (err) => {
        err.message += `; the page says: ${(await chair.page.locator('[data-testid="minutes"] [role="alert"]').allInnerTexts()).join(' / ')}`;
        throw err;
      },
    );
    assert.match(await chair.page.innerText('[data-testid="minutes-state"]'), /Đã duyệt/);
    assert.match(await chair.page.innerText('[data-testid="approved-by"]'), /duyệt lúc \d{2}:\d{2}/, 'the approval time is shown');
    assert.match((await chair.page.innerText('[data-testid="content-hash"]')).trim(), /^[0-9a-f]{64}$/, 'the approved content hash is shown');
    await expectTabletLayout(chair.page, chair.vp, 'minutes (approved)');
    await shot(t, chair.page, 'minutes-08-approved-portrait');

    // The minute-taker's page follows without a reload, and offers an amendment only.
    await waitFor(mt.page, '[data-testid="minutes"][data-state="MINUTES_STATE_APPROVED"] [data-testid="pdf-link"]', "the minute-taker's page to show the approval");
    assert.equal(await mt.page.locator('[data-testid="minutes"] button[data-action="amend"]').count(), 1, 'the minute-taker may amend approved minutes');
    assert.equal(await mt.page.locator('[data-testid="minutes"] textarea').count(), 0, 'approved minutes are read-only');
    await shot(t, mt.page, 'minutes-09-approved-landscape');

    // Approved minutes are immutable: a save is refused with 409.
    const locked = await mt.context.request.put(api(`/minutes/items/${encodeURIComponent(itemIds[0])}`), {
      data: { expectedVersion: String((await getMinutes(mt, api)).version), discussion: 'sửa sau khi duyệt' },
    });
    assert.equal(locked.status(), 409, 'editing approved minutes is refused');

    // 5. The PDF, as the chair's tablet downloads it.
    const pdfHref = await chair.page.getAttribute('[data-testid="pdf-link"]', 'href');
    const pdf = await chair.context.request.get(url(pdfHref));
    assert.equal(pdf.status(), 200, `the PDF answered ${pdf.status()}: ${(await pdf.text()).slice(0, 300)}`);
    assert.match(pdf.headers()['content-type'] ?? '', /^application\/pdf/, 'the PDF is served as application/pdf');
    const bytes = await pdf.body();
    assert.ok(bytes.length > 1000, `the PDF has ${bytes.length} bytes`);
    assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-', 'the download is a PDF');
    const pdfFile = `${ARTIFACTS}minutes.pdf`;
    writeFileSync(pdfFile, bytes);
    t.diagnostic(`PDF: ${pdfFile} (${bytes.length} bytes)`);
    const expected = ['BIÊN BẢN', CONCLUSION_1, MINE];
    const missing = uncoveredLetters(bytes, expected.join(''));
    assert.deepEqual(missing, [], 'letters of the minutes without a ToUnicode mapping in the PDF (its text would not copy or search)');
    const text = pdfText(pdfFile);
    if (text === null) {
      t.diagnostic('pdftotext is not installed: the PDF text was checked through its ToUnicode maps only');
    } else {
      writeFileSync(`${ARTIFACTS}minutes.txt`, text);
      const flat = flatten(text);
      for (const phrase of [...expected, chairName, takerName]) {
        assert.ok(flat.includes(flatten(phrase)), `the PDF's text has ${JSON.stringify(phrase)}; it reads: ${flat.slice(0, 600)}`);
      }
    }

    // 6. A task from the first item's conclusions, given to the member.
    mem = await tablet(t, VIEWPORTS.portrait, 'member');
    await mem.page.goto(url('/tasks'), { waitUntil: 'domcontentloaded' });
    await waitForPath(mem.page, (u) => u.pathname === '/login', 'the sign-in page for the member');
    await signIn(mem.page, demoLogin('DEMO_MEMBER'));
    await waitForPath(mem.page, (u) => u.pathname === '/tasks', 'my tasks after signing in');
    const memberId = (await (await mem.context.request.get(url('/api/v1/me'))).json()).principal.personId;
    assert.ok(memberId, "the member's person id");

    await item(0).locator('button[data-action="new-task"]').click();
    const form = item(0).locator('[data-testid="task-form"]');
    assert.equal(await form.locator('textarea[name="title"]').inputValue(), CONCLUSION_1, 'the title is prefilled from the conclusion');
    await form.locator('select[name="conclusion"]').waitFor({ timeout: UI_TIMEOUT_MS }); // two conclusions: a choice
    await form.locator('select[name="assignee_person_id"]').selectOption(memberId);
    await form.locator('button[data-action="create-task"]').click();
    const deadlineError = form.locator('[data-testid="task-form-problem"] li[data-field="deadline"]');
    await deadlineError.waitFor({ timeout: UI_TIMEOUT_MS });
    assert.match(await deadlineError.innerText(), /^Hạn hoàn thành: \S/, 'the missing deadline is named in Vietnamese');
    await expectTabletLayout(mt.page, mt.vp, 'task form');
    await shot(t, mt.page, 'minutes-10-task-form-landscape');
    const deadline = vietnamDay(7);
    await form.locator('input[name="deadline"]').fill(deadline);
    await form.locator('button[data-action="create-task"]').click();
    const taskCard = item(0).locator('li.task', { hasText: CONCLUSION_1 });
    await taskCard.waitFor({ timeout: UI_TIMEOUT_MS });
    const taskId = await taskCard.getAttribute('data-task-id');
    assert.equal(await taskCard.getAttribute('data-status'), 'TASK_STATUS_OPEN');
    assert.equal(await taskCard.locator('[data-testid="task-deadline"]').getAttribute('data-deadline'), deadline);
    await shot(t, mt.page, 'minutes-11-task-given-landscape');

    // 7. The member's "my tasks": the task arrives live (the page was open before it was given).
    const myTask = mem.page.locator(`[data-testid="my-tasks"] li.task[data-task-id="${taskId}"]`);
    await myTask.waitFor({ timeout: UI_TIMEOUT_MS }).catch(async () => {
      // Not live? Then at least a reload must show it (and the test still fails).
      await mem.page.reload();
      const afterReload = await mem.page.locator(`li.task[data-task-id="${taskId}"]`).count();
      throw new Error(`the new task did not appear on the member's open "my tasks" page (after a reload: ${afterReload ? 'shown' : 'still missing'})`);
    });
    assert.equal((await myTask.locator('[data-testid="task-title"]').innerText()).trim(), CONCLUSION_1);
    assert.equal(await myTask.locator('[data-testid="task-overdue"]').count(), 0, 'a task due next week is not overdue');
    assert.match(await myTask.locator('[data-testid="task-status"]').innerText(), /Mới giao/);
    await expectTabletLayout(mem.page, mem.vp, 'my tasks');
    await shot(t, mem.page, 'minutes-12-my-tasks-portrait');
    await myTask.locator('button[data-action="status-TASK_STATUS_IN_PROGRESS"]').click();
    await waitFor(mem.page, `li.task[data-task-id="${taskId}"][data-status="TASK_STATUS_IN_PROGRESS"]`, 'the task to be in progress');
    await myTask.locator('button[data-action="note"]').click();
    await myTask.locator('[data-testid="task-note-form"] textarea[name="text"]').fill(NOTE);
    await myTask.locator('[data-testid="task-note-form"] input[name="percent_done"]').fill('30');
    await myTask.locator('[data-testid="task-note-form"] button[type="submit"]').click();
    await waitFor(mem.page, `li.task[data-task-id="${taskId}"] [data-testid="task-percent"][data-percent="30"]`, 'the progress note to be recorded');
    assert.ok((await myTask.locator('[data-testid="task-notes"]').innerText()).includes(NOTE), 'the note is listed');
    await shot(t, mem.page, 'minutes-13-task-in-progress-portrait');

    // The minute-taker's page follows the member's progress live.
    await waitFor(mt.page, `[data-testid="minutes-item"] li.task[data-task-id="${taskId}"][data-status="TASK_STATUS_IN_PROGRESS"] [data-percent="30"]`, "the minute-taker's page to show the progress");

    // The member's tablet in English.
    await mem.page.click('button[data-lang="en"]');
    await waitFor(mem.page, 'html[lang="en"]', 'English');
    assert.equal((await mem.page.innerText('#tasks-title')).trim(), 'My tasks');
    assert.match(await myTask.locator('[data-testid="task-status"]').innerText(), /In progress/);
    await expectTabletLayout(mem.page, mem.vp, 'my tasks (English)');
    await shot(t, mem.page, 'minutes-14-my-tasks-english-portrait');

    // And the meeting page lists the meeting's tasks.
    await myTask.locator('[data-testid="task-meeting-link"]').click();
    await waitFor(mem.page, `[data-testid="meeting-tasks"] li.task[data-task-id="${taskId}"]`, "the meeting page's task list");
    await expectTabletLayout(mem.page, mem.vp, 'meeting page with tasks');
    await shot(t, mem.page, 'minutes-15-meeting-tasks-portrait');

    // 8. An amendment: the minute-taker starts revision 2 with a reason (none is refused);
    //    it is a draft again, copied from the approved text, and the approved revision's
    //    PDF stays available.
    await mt.page.click('[data-testid="minutes"] button[data-action="amend"]');
    await mt.page.click('[data-testid="amend-form"] button[type="submit"]');
    await waitFor(mt.page, '[data-testid="amend-form-problem"] li[data-field="reason"]', 'a missing amendment reason to be refused');
    await mt.page.fill('[data-testid="amend-form"] textarea[name="reason"]', 'Sửa số liệu ở phần kết luận theo đề nghị của Văn phòng.');
    await mt.page.click('[data-testid="amend-form"] button[type="submit"]');
    await waitFor(mt.page, '[data-testid="minutes"][data-revision="2"][data-state="MINUTES_STATE_DRAFT"][data-editable="true"]', 'revision 2 as an editable draft');
    assert.equal(await item(0).locator('textarea[name="discussion"]').inputValue(), MINE, 'the amendment starts from the approved text');
    await waitFor(mt.page, '[data-testid="revisions"] li[data-revision="1"] [data-testid="revision-pdf"]', "the approved revision's PDF link");
    const rev1 = await mt.context.request.get(url(await mt.page.getAttribute('[data-testid="revisions"] li[data-revision="1"] [data-testid="revision-pdf"]', 'href')));
    assert.equal(rev1.status(), 200, `the approved revision's PDF answered ${rev1.status()}`);
    assert.match(rev1.headers()['content-type'] ?? '', /^application\/pdf/);
    await expectTabletLayout(mt.page, mt.vp, 'minutes amendment');
    await shot(t, mt.page, 'minutes-16-amendment-landscape');

    assert.equal(await mt.page.evaluate(() => window.__xss), undefined, 'script from the minutes ran');
    assert.equal(await chair.page.evaluate(() => window.__xss), undefined, 'script from the minutes ran');
    for (const tab of [mt, chair, mem]) expectClean(tab);
  });
});

/** Schedules and starts the meeting on the console if it is not in progress yet. */
async function startMeeting(page) {
  const state = await page.getAttribute('[data-testid="console"]', 'data-state');
  const steps = { MEETING_STATE_DRAFT: ['schedule', 'start'], MEETING_STATE_SCHEDULED: ['start'], MEETING_STATE_IN_PROGRESS: [] }[state];
  assert.ok(steps, `the demo meeting is ${state}: load fresh demo data (ecabinet -load-demo on an empty database)`);
  const after = { schedule: 'MEETING_STATE_SCHEDULED', start: 'MEETING_STATE_IN_PROGRESS' };
  for (const verb of steps) {
    await page.click(`[data-testid="lifecycle"] button[data-action="${verb}"]`);
    await waitFor(page, `[data-testid="console"][data-state="${after[verb]}"]`, `the meeting to be ${after[verb]}`);
  }
}

async function fillItem(item, text) {
  for (const f of ['discussion', 'opinions', 'conclusions']) await item.locator(`textarea[name="${f}"]`).fill(text[f]);
}

async function waitForSaved(item, what) {
  await item
    .locator('[data-testid="item-editor"][data-save-state="saved"]')
    .waitFor({ timeout: UI_TIMEOUT_MS })
    .catch(async () => {
      const state = await item.locator('[data-testid="item-editor"]').getAttribute('data-save-state');
      const problem = await item.locator('[role="alert"]').allInnerTexts();
      throw new Error(`timed out waiting for ${what}: save state ${state}${problem.length ? `; the item says: ${problem.join(' / ')}` : ''}`);
    });
}

async function getMinutes(tab, api) {
  const res = await tab.context.request.get(api('/minutes'));
  assert.equal(res.status(), 200, `GET minutes answered ${res.status()}`);
  const { minutes } = await res.json();
  return { ...minutes, version: Number(minutes.version) };
}

/** The day n days from now in Vietnam, as YYYY-MM-DD. */
function vietnamDay(n) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Ho_Chi_Minh', year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(Date.now() + n * 86_400_000),
  );
}

/** Text compared as words: composed, one space between words, no line breaks. */
function flatten(s) {
  return s.normalize('NFC').replace(/\s+/g, ' ').trim();
}

/** The PDF's text by pdftotext (poppler-utils), or null when it is not installed. */
function pdfText(file) {
  try {
    return execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw new Error(`pdftotext could not read the PDF: ${err.message}`);
  }
}

/**
 * The letters of `text` that no ToUnicode CMap in the PDF maps to: a PDF whose embedded
 * font maps every glyph back to its Unicode letter shows, copies and searches Vietnamese
 * correctly. Streams are inflated (FlateDecode) and every bfchar/bfrange destination is
 * collected.
 */
function uncoveredLetters(pdf, text) {
  const mapped = new Set();
  let cmaps = 0;
  for (const s of pdfStreams(pdf)) {
    if (!s.includes('begincmap')) continue;
    cmaps++;
    for (const block of s.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
      for (const [, , dst] of block[1].matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/g)) addUTF16(mapped, dst);
    }
    for (const block of s.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
      for (const [, lo, hi, rest] of block[1].matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]+>|\[[^\]]*\])/g)) {
        if (rest.startsWith('[')) {
          for (const [, dst] of rest.matchAll(/<([0-9A-Fa-f]+)>/g)) addUTF16(mapped, dst);
          continue;
        }
        const first = parseInt(rest.slice(1, -1), 16);
        const n = parseInt(hi, 16) - parseInt(lo, 16);
        for (let i = 0; i <= n && i < 65536; i++) mapped.add(String.fromCodePoint(first + i));
      }
    }
  }
  if (cmaps === 0) return ['(the PDF has no ToUnicode CMap at all)'];
  const letters = new Set([...text.normalize('NFC')].filter((c) => /\S/.test(c)));
  return [...letters].filter((c) => !mapped.has(c));
}

function addUTF16(set, hex) {
  const units = [];
  for (let i = 0; i + 4 <= hex.length; i += 4) units.push(parseInt(hex.slice(i, i + 4), 16));
  for (const c of String.fromCharCode(...units)) set.add(c);
}

function pdfStreams(buf) {
  const out = [];
  let i = 0;
  for (;;) {
    i = buf.indexOf('stream', i, 'latin1');
    if (i < 0) break;
    if (buf.subarray(i - 3, i).toString('latin1') === 'end') {
      i += 6;
      continue;
    }
    let start = i + 6;
    if (buf[start] === 0x0d) start++;
    if (buf[start] === 0x0a) start++;
    const end = buf.indexOf('endstream', start, 'latin1');
    if (end < 0) break;
    const raw = buf.subarray(start, end);
    try {
      out.push(inflateSync(raw, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString('latin1'));
    } catch {
      out.push(raw.toString('latin1'));
    }
    i = end + 9;
  }
  return out;
}
