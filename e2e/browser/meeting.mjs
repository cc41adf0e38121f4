// The meeting day on tablets, against the demo data (`ecabinet -load-demo`):
//
//   1. the minute-taker signs in (landscape tablet), finds today's meeting, opens the
//      console, schedules it if it is still a draft and starts it, edits the agenda (an
//      empty title is refused with the field named in Vietnamese; an item whose title is
//      HTML shows as text, moves up, is edited and removed), and moves to the first item;
//   2. the room screen shows a QR code; its pixels decode to the check-in URL it shows;
//   3. a member's tablet (portrait, a second browser context) opens that URL, signs in,
//      comes back to it and is checked in; the minute-taker's console shows them present
//      without a reload; the member replies to the invitation (absent without a reason is
//      refused) and downloads the .ics; the minute-taker marks someone present online and
//      the member's page and quorum follow;
//   4. the minute-taker advances the agenda: the member's meeting page and the room screen
//      show the new current item without a reload; the member asks to speak and the
//      minute-taker gives them the floor, which their page shows live; the member switches
//      to English; a forged check-in code is refused;
//   5. the observer from the higher-level committee opens the meeting and sees it, without
//      the minute-taker's controls;
//   6. the chair's console, cut off from live events, presses "end" on a stale version:
//      refused, reloaded, and told; the console and the screen also fit in portrait.
//
// Screenshots of every step are kept in ./artifacts.
//
// Environment (demo logins as printed by `ecabinet -load-demo`, "username:password"):
//   DEMO_MINUTE_TAKER, DEMO_MEMBER, DEMO_OBSERVER, DEMO_CHAIR (defaults below match the
//   demo loader); DEMO_MEETING_TITLE optionally picks the meeting (default: the first of
//   today's meetings in which the minute-taker takes the minutes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import decodeQR from '@paulmillr/qr/decode.js';
import {
  UI_TIMEOUT_MS,
  VIEWPORTS,
  base,
  demoLogin as login,
  expectClean,
  expectTabletLayout,
  findMeeting,
  newPage,
  shot,
  signIn,
  tablet,
  url,
  waitFor,
  waitForPath,
  withFailureShots,
} from './lib.mjs';

// An agenda title that would run script if the app ever rendered server text as HTML.
const HTML_TITLE = `<img src=x onerror="window.__xss=1"><b>Kiểm tra hiển thị</b> & "trích dẫn"`;

test('meeting day: QR check-in and the agenda followed live on tablets', async (t) => {
  const minuteTaker = login('DEMO_MINUTE_TAKER');
  const member = login('DEMO_MEMBER');
  const observer = login('DEMO_OBSERVER');

  const mt = await tablet(t, VIEWPORTS.landscape, 'minute-taker');
  const mem = await tablet(t, VIEWPORTS.portrait, 'member');
  const obs = await tablet(t, VIEWPORTS.portrait, 'observer');
  let screen = null;
  let chair = null;
  const pages = () => ({ minuteTaker: mt.page, screen, member: mem.page, observer: obs.page, chair: chair?.page });

  await withFailureShots(pages, 'meeting', async () => {
    // 1. The minute-taker signs in: any page first sends them to the login page and back.
    await mt.page.goto(url('/'), { waitUntil: 'domcontentloaded' });
    await waitForPath(mt.page, (u) => u.pathname === '/login', 'the sign-in page (not signed in yet)');
    assert.equal(await mt.page.getAttribute('html', 'lang'), 'vi', 'the app starts in Vietnamese');
    await expectTabletLayout(mt.page, mt.vp, 'login');
    await shot(t, mt.page, '01-login-landscape');
    await signIn(mt.page, minuteTaker);
    await waitForPath(mt.page, (u) => u.pathname === '/', 'my meetings after signing in');

    // Today's meeting.
    await waitFor(mt.page, '[data-testid="meeting-list"][data-tab="today"] :is(.card, .empty)', "today's meetings");
    const card = await findMeeting(mt.page);
    await expectTabletLayout(mt.page, mt.vp, 'my meetings');
    await shot(t, mt.page, '02-my-meetings-landscape');
    await card.locator('[data-testid="meeting-link"]').click();
    await waitFor(mt.page, '[data-testid="meeting-page"]', 'the meeting page');
    const meetingId = await mt.page.getAttribute('[data-testid="meeting-page"]', 'data-meeting-id');
    const title = (await mt.page.innerText('[data-testid="meeting-title"]')).trim();
    t.diagnostic(`meeting ${meetingId}: ${title}`);

    // The console: schedule (if still a draft) and start.
    await mt.page.click('[data-testid="console-link"]');
    await waitFor(mt.page, '[data-testid="console"]', 'the console');
    let state = await mt.page.getAttribute('[data-testid="console"]', 'data-state');
    if (state === 'MEETING_STATE_DRAFT') {
      await mt.page.click('[data-testid="lifecycle"] button[data-action="schedule"]');
      await waitForState(mt.page, 'MEETING_STATE_SCHEDULED');
      state = 'MEETING_STATE_SCHEDULED';
    }
    if (state === 'MEETING_STATE_SCHEDULED') {
      await expectTabletLayout(mt.page, mt.vp, 'console (scheduled)');
      await shot(t, mt.page, '03-console-scheduled-landscape');
      await mt.page.click('[data-testid="lifecycle"] button[data-action="start"]');
      await waitForState(mt.page, 'MEETING_STATE_IN_PROGRESS');
    } else {
      assert.equal(state, 'MEETING_STATE_IN_PROGRESS', `the demo meeting is ${state}: load fresh demo data (ecabinet -load-demo on an empty database)`);
    }

    // Agenda editing: an item titled with HTML shows as typed, and moves and goes again.
    await expectNoProblem(mt.page);
    const itemsBefore = await agendaIds(mt.page, '[data-testid="agenda-editor"]');
    assert.ok(itemsBefore.length >= 2, `the demo meeting needs at least two agenda items, has ${itemsBefore.length}`);
    await mt.page.click('[data-testid="add-item"]');
    const form = mt.page.locator('[data-testid="agenda-editor"] [data-testid="item-form"]');
    // Without a title the server refuses, and the form says which field, in Vietnamese.
    await form.locator('button[type="submit"]').click();
    const titleError = form.locator('[role="alert"] li[data-field="title"]');
    await titleError.waitFor({ timeout: UI_TIMEOUT_MS }).catch(async () => {
      throw new Error(`no field error for an empty agenda title; the form shows: ${await form.innerText()}`);
    });
    assert.match(await titleError.innerText(), /^Tên nội dung: \S/, 'the field error names the field in Vietnamese and gives the reason');
    await shot(t, mt.page, '04a-console-field-error-landscape');
    await form.locator('input[name="title"]').fill(HTML_TITLE);
    await form.locator('input[name="duration_minutes"]').fill('5');
    await form.locator('button[type="submit"]').click();
    const added = await waitForNewItem(mt.page, itemsBefore);
    const addedRow = mt.page.locator(`[data-testid="agenda-editor"] li[data-item-id="${added}"]`);
    assert.equal((await addedRow.locator('.agenda-title').innerText()).trim(), HTML_TITLE.trim(), 'an HTML title is shown as text');
    assert.equal(await mt.page.locator('[data-testid="agenda-editor"] img').count(), 0, 'an HTML title must not create elements');
    await addedRow.locator('button[data-action="up"]').click();
    await mt.page.waitForFunction(
      (id) => {
        const ids = [...document.querySelectorAll('[data-testid="agenda-editor"] li[data-item-id]')].map((li) => li.dataset.itemId);
        return ids.indexOf(id) === ids.length - 2;
      },
      added,
      { timeout: UI_TIMEOUT_MS },
    );
    await addedRow.locator('button[data-action="edit"]').click();
    const editForm = addedRow.locator('[data-testid="item-form"]');
    await editForm.locator('input[name="title"]').fill(`${HTML_TITLE} (sửa)`);
    await editForm.locator('button[type="submit"]').click();
    await addedRow.locator('.agenda-title', { hasText: '(sửa)' }).waitFor({ timeout: UI_TIMEOUT_MS });
    await shot(t, mt.page, '04-console-agenda-edited-landscape');
    await addedRow.locator('button[data-action="remove"]').click();
    await addedRow.locator('button[data-action="remove-confirm"]').click();
    await mt.page.locator(`[data-testid="agenda-editor"] li[data-item-id="${added}"]`).waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    assert.deepEqual(await agendaIds(mt.page, '[data-testid="agenda-editor"]'), itemsBefore, 'the agenda after adding, moving and removing an item');

    // Onto an agenda item, so that the member has a current item to follow.
    const firstCurrent = await advance(mt.page);
    await expectTabletLayout(mt.page, mt.vp, 'console (in progress)');
    await shot(t, mt.page, '05-console-in-progress-landscape');
    await expectNoProblem(mt.page);

    // 2. The room screen: a QR code whose pixels say the check-in URL shown beside it.
    screen = await newPage(mt);
    await screen.goto(url(`/meetings/${encodeURIComponent(meetingId)}/screen`), { waitUntil: 'domcontentloaded' });
    await waitFor(screen, '[data-testid="checkin"][data-checkin-url^="http"] [data-testid="qr"]', 'the check-in QR code on the room screen');
    const checkInURL = await screen.getAttribute('[data-testid="checkin"]', 'data-checkin-url');
    assert.equal((await screen.innerText('[data-testid="checkin-link"]')).trim(), checkInURL, 'the visible link is the URL in the QR code');
    const u = new URL(checkInURL);
    assert.equal(u.origin, base.origin, 'the check-in URL points at this server');
    assert.equal(u.pathname, '/checkin');
    assert.equal(u.searchParams.get('meeting'), meetingId, 'the check-in URL names this meeting');
    assert.ok(u.searchParams.get('token'), 'the check-in URL carries a token');
    assert.equal(await readQR(screen), checkInURL, 'the QR code decodes to the check-in URL');
    assert.equal(await currentItemId(screen), firstCurrent, 'the room screen shows the current item');
    await expectTabletLayout(screen, mt.vp, 'room screen');
    await shot(t, screen, '06-room-screen-landscape');

    // 3. The member's tablet opens the scanned URL: sign in first, then back to check in.
    await mem.page.goto(checkInURL, { waitUntil: 'domcontentloaded' });
    await waitForPath(mem.page, (x) => x.pathname === '/login', 'the sign-in page before checking in');
    assert.equal(new URL(mem.page.url()).searchParams.get('next'), u.pathname + u.search, 'login returns to the check-in URL');
    await expectTabletLayout(mem.page, mem.vp, 'login');
    await signIn(mem.page, member);
    await waitForPath(mem.page, (x) => x.pathname === '/checkin', 'the check-in page after signing in');
    await waitFor(mem.page, '[data-testid="checkin-result"]', 'the check-in result');
    const ok = await mem.page.getAttribute('[data-testid="checkin-result"]', 'data-ok');
    assert.equal(ok, 'true', `check-in failed: ${await mem.page.innerText('[data-testid="checkin-result"]')}`);
    assert.equal(
      await mem.page.getAttribute('[data-testid="checkin-result"] [data-testid="attendance"]', 'data-attendance'),
      'ATTENDANCE_PRESENT',
      'the member is shown as present',
    );
    await expectTabletLayout(mem.page, mem.vp, 'check-in');
    await shot(t, mem.page, '07-member-checked-in-portrait');

    await mem.page.click('[data-testid="open-meeting"]');
    await waitFor(mem.page, '[data-testid="meeting-page"]', "the member's meeting page");
    assert.equal(await mem.page.getAttribute('[data-testid="my-attendance"]', 'data-attendance'), 'ATTENDANCE_PRESENT', "the member's own attendance");
    assert.equal(await currentItemId(mem.page), firstCurrent, 'the member sees the current item');
    assert.equal(await mem.page.locator('[data-testid="console-link"]').count(), 0, 'a member gets no console link');
    const memberId = await mem.page.getAttribute('[data-testid="participants"] li:has(.person-you)', 'data-person-id');
    assert.ok(memberId, 'the member is marked as "you" in the participant list');
    // The member's reply: "absent" needs a reason (the server says so, next to the form),
    // "in person" is taken at once.
    const mine = mem.page.locator('[data-testid="my-part"]');
    await mine.locator('button[data-rsvp="RSVP_ABSENT"]').click();
    await mine.locator('form button[type="submit"]').click();
    await waitFor(mem.page, '[data-testid="rsvp-problem"] li[data-field="absence_reason"]', 'the missing absence reason to be reported');
    await mine.locator('form button[type="button"]').click();
    await mine.locator('button[data-rsvp="RSVP_IN_PERSON"]').click();
    await waitFor(mem.page, '[data-testid="my-rsvp"][data-rsvp="RSVP_IN_PERSON"]', 'the reply "in person" to be recorded');
    assert.equal(await mem.page.locator('[data-testid="rsvp-problem"]').count(), 0, 'the earlier error is gone');

    // The invitation as a calendar file, with the member's session.
    const ics = await mem.context.request.get(url(await mem.page.getAttribute('[data-testid="ics-link"]', 'href')));
    assert.equal(ics.status(), 200, `the .ics download answered ${ics.status()}`);
    assert.match(ics.headers()['content-type'] ?? '', /^text\/calendar/);
    assert.match(await ics.text(), /^BEGIN:VCALENDAR\r?\n/);

    // Papers: the minute-taker uploads a small PDF from the meeting page (another tab, so
    // the console stays open); the member's page lists it live, and its /documents/:id page
    // (where its QR code points) shows its title.
    const paperTitle = `Tài liệu kiểm thử ${Date.now()}`;
    const upload = await newPage(mt);
    await upload.goto(url(`/meetings/${encodeURIComponent(meetingId)}`), { waitUntil: 'domcontentloaded' });
    await waitFor(upload, '[data-testid="upload-form"]', 'the upload form for the minute-taker');
    await upload.setInputFiles('[data-testid="upload-form"] input[type="file"]', { name: 'kiem-thu.pdf', mimeType: 'application/pdf', buffer: tinyPDF() });
    await upload.fill('[data-testid="upload-form"] input[name="title"]', paperTitle);
    await upload.selectOption('[data-testid="upload-form"] select[name="classification"]', 'CLASSIFICATION_INTERNAL');
    // The first answer is lost on the way (the file reached the server, the Wi-Fi dropped
    // before the reply): the page says it failed; uploading again does not store it twice.
    await upload.route('**/api/v1/documents:upload*', async (route) => {
      await route.fetch();
      await route.abort('internetdisconnected');
    }, { times: 1 });
    await upload.click('[data-testid="upload-submit"]');
    await waitFor(upload, '[data-testid="upload-problem"]', 'the lost answer to be reported');
    await upload.click('[data-testid="upload-submit"]');
    await waitFor(upload, '[data-testid="upload-done"]', 'the upload to be confirmed');
    await expectNoProblem(upload);
    const listed = await upload.evaluate(async (id) => {
      const res = await fetch(`/api/v1/meetings/${encodeURIComponent(id)}/documents`, { headers: { Accept: 'application/json' } });
      return (await res.json()).documents ?? [];
    }, meetingId);
    assert.equal(listed.filter((d) => d.title === paperTitle).length, 1, 'the paper is stored once after the retry');
    await expectTabletLayout(upload, mt.vp, 'meeting page with the upload form');
    await upload.close();
    const row = mem.page.locator('[data-testid="document-row"]', { hasText: paperTitle });
    await row.waitFor({ timeout: UI_TIMEOUT_MS });
    const docId = await row.getAttribute('data-document-id');
    assert.ok(docId, 'the listed paper has an id');
    assert.equal(await mem.page.locator('[data-testid="upload-form"]').count(), 0, 'a member has no upload form');
    const docPage = await newPage(mem);
    await docPage.goto(url(`/documents/${encodeURIComponent(docId)}`), { waitUntil: 'domcontentloaded' });
    await waitFor(docPage, '[data-testid="document-title"]', 'the document page');
    assert.equal((await docPage.innerText('[data-testid="document-title"]')).trim(), paperTitle, 'the document page shows the title');
    await waitFor(docPage, '[data-testid="version-row"][data-version="1"]', 'the first version listed');
    await expectTabletLayout(docPage, mem.vp, 'document page');
    await docPage.close();

    await expectTabletLayout(mem.page, mem.vp, 'meeting page');
    await shot(t, mem.page, '08-member-meeting-portrait');

    // The console took the check-in from the live channel, without a reload.
    await waitFor(
      mt.page,
      `[data-testid="attendance-desk"] li[data-person-id="${memberId}"][data-attendance="ATTENDANCE_PRESENT"]`,
      'the console to show the member present',
    );

    // The minute-taker marks someone present online; the member's page shows it, and the
    // quorum count moves, without a reload.
    const presentBefore = Number(await mem.page.getAttribute('[data-testid="quorum"]', 'data-present'));
    const other = await mt.page.getAttribute(
      `[data-testid="attendance-desk"] li[data-person-id]:not([data-person-id="${memberId}"]):not([data-attendance^="ATTENDANCE_PRESENT"])`,
      'data-person-id',
    );
    await mt.page.click(`[data-testid="attendance-desk"] li[data-person-id="${other}"] button[data-mark="ATTENDANCE_PRESENT_ONLINE"]`);
    await waitFor(
      mem.page,
      `[data-testid="participants"] li[data-person-id="${other}"][data-attendance="ATTENDANCE_PRESENT_ONLINE"]`,
      "the member's page to show the participant marked present online",
    );
    const presentAfter = Number(await mem.page.getAttribute('[data-testid="quorum"]', 'data-present'));
    // Only voting members count towards the quorum.
    const votes = await mt.page.getAttribute(`[data-testid="attendance-desk"] li[data-person-id="${other}"]`, 'data-voting');
    assert.equal(presentAfter, presentBefore + (votes === 'true' ? 1 : 0), 'the quorum count after marking someone present');

    // 4. The minute-taker advances the agenda; the member's page follows without a reload.
    await mem.page.evaluate(() => {
      window.__sameDocument = true;
    });
    const secondCurrent = await advance(mt.page);
    assert.notEqual(secondCurrent, firstCurrent, 'the agenda moved on');
    const secondTitle = (await mt.page.innerText('[data-testid="advance"] .current-title')).trim();
    await waitFor(mem.page, `[data-testid="current-item"][data-item-id="${secondCurrent}"]`, "the member's page to show the new current item");
    await waitFor(mem.page, `[data-testid="agenda"] li[data-item-id="${secondCurrent}"][aria-current="step"]`, 'the new current item highlighted in the agenda');
    assert.equal(await mem.page.evaluate(() => window.__sameDocument === true), true, "the member's page was reloaded to show the change");
    assert.equal((await mem.page.innerText('[data-testid="current-item"] .current-title')).trim(), secondTitle, 'the member sees the title of the new item');
    await shot(t, mem.page, '09-member-followed-live-portrait');
    await waitFor(screen, `[data-testid="current-item"][data-item-id="${secondCurrent}"]`, 'the room screen to show the new current item');
    await shot(t, screen, '10-room-screen-advanced-landscape');

    // The speakers list: the member asks to speak from the tablet, the minute-taker gives
    // them the floor on the console, and the member's page shows it live.
    await waitFor(mem.page, '[data-testid="my-speak"]', "the member's request-to-speak controls");
    if ((await mem.page.getAttribute('[data-testid="my-speak"]', 'data-state')) === 'none') {
      await mem.page.click('[data-testid="speak-request"]');
      await mem.page.fill('input[name="speak_note"]', 'Về nội dung đang thảo luận');
      await mem.page.click('[data-testid="speak-send"]');
    }
    await waitFor(mem.page, '[data-testid="my-speak"]:is([data-state="SPEAKER_STATE_WAITING"], [data-state="SPEAKER_STATE_SPEAKING"])', "the member's request to speak");
    const memberSpeaker = `[data-testid="speaker-desk"] li[data-person-id="${memberId}"]`;
    await waitFor(mt.page, memberSpeaker, 'the console to show the request to speak');
    if ((await mt.page.getAttribute(memberSpeaker, 'data-state')) === 'SPEAKER_STATE_WAITING') {
      await mt.page.click(`${memberSpeaker} button[data-action="speak"]`);
    }
    await waitFor(mem.page, `[data-testid="speakers"] li[data-person-id="${memberId}"][data-state="SPEAKER_STATE_SPEAKING"]`, "the member's page to show them speaking");
    await waitFor(mem.page, '[data-testid="my-speak"][data-state="SPEAKER_STATE_SPEAKING"]', 'the member told they have the floor');
    assert.equal(await mem.page.evaluate(() => window.__sameDocument === true), true, "the member's page was reloaded to show the speaker");
    await shot(t, mem.page, '10a-member-speaking-portrait');

    // The member's tablet in English: the same page, other words.
    await mem.page.click('button[data-lang="en"]');
    await waitFor(mem.page, 'html[lang="en"]', 'English');
    assert.match(await mem.page.innerText('[data-testid="current-item"] .current-label'), /now discussing/i);
    await expectTabletLayout(mem.page, mem.vp, 'meeting page (English)');
    await shot(t, mem.page, '11-member-english-portrait');

    // A forged code is refused, and the page says what to do.
    await mem.page.goto(url(`/checkin?meeting=${encodeURIComponent(meetingId)}&token=forged-${Date.now()}`), { waitUntil: 'domcontentloaded' });
    await waitFor(mem.page, '[data-testid="checkin-result"][data-ok="false"] [data-testid="checkin-problem"]', 'a forged check-in code to be refused');
    await shot(t, mem.page, '11a-member-forged-code-portrait');

    // 5. The observer opens the meeting and sees it as it is, without the console.
    await obs.page.goto(url(`/meetings/${encodeURIComponent(meetingId)}`), { waitUntil: 'domcontentloaded' });
    await waitForPath(obs.page, (x) => x.pathname === '/login', 'the sign-in page for the observer');
    await signIn(obs.page, observer);
    await waitFor(obs.page, '[data-testid="meeting-page"]', "the observer's meeting page");
    assert.equal((await obs.page.innerText('[data-testid="meeting-title"]')).trim(), title);
    assert.equal(await currentItemId(obs.page), secondCurrent, 'the observer sees the current item');
    assert.equal(await obs.page.locator('[data-testid="console-link"]').count(), 0, 'an observer gets no console link');
    await expectTabletLayout(obs.page, obs.vp, 'meeting page (observer)');
    await shot(t, obs.page, '12-observer-meeting-portrait');

    // 6. A stale console: the chair's tablet has lost the live channel (its socket stays
    //    open but silent), the minute-taker moves the agenda on, and the chair presses
    //    "end". The server refuses the stale version; the console reloads the meeting and
    //    says so, and the meeting is still in progress.
    chair = await tablet(t, VIEWPORTS.landscape, 'chair');
    await chair.page.routeWebSocket(/\/api\/v1\/live/, () => {}); // accepted, never forwarded
    await chair.page.goto(url(`/meetings/${encodeURIComponent(meetingId)}/console`), { waitUntil: 'domcontentloaded' });
    await waitForPath(chair.page, (x) => x.pathname === '/login', 'the sign-in page for the chair');
    await signIn(chair.page, login('DEMO_CHAIR'));
    await waitFor(chair.page, '[data-testid="console"][data-state="MEETING_STATE_IN_PROGRESS"]', "the chair's console");
    const seen = Number(await chair.page.getAttribute('[data-testid="console"]', 'data-version'));
    const thirdCurrent = await advance(mt.page);
    await chair.page.click('[data-testid="lifecycle"] button[data-action="end"]');
    await chair.page.click('[data-testid="lifecycle"] button[data-action="end-confirm"]');
    await waitFor(chair.page, '[data-testid="console-notice"]', 'the console to report the stale version');
    const reloaded = Number(await chair.page.getAttribute('[data-testid="console"]', 'data-version'));
    assert.ok(reloaded > seen, `the console reloaded the meeting (version ${seen} → ${reloaded})`);
    assert.equal(await chair.page.getAttribute('[data-testid="console"]', 'data-state'), 'MEETING_STATE_IN_PROGRESS', 'a stale "end" must not end the meeting');
    assert.equal(await currentItemId(chair.page), thirdCurrent, 'the reloaded console shows the current item');
    await shot(t, chair.page, '15-chair-stale-console-landscape');
    expectClean(chair);

    // The minute-taker's tablet turned to portrait: the console and the screen still fit.
    for (const page of [mt.page, screen]) await page.setViewportSize({ width: VIEWPORTS.portrait.width, height: VIEWPORTS.portrait.height });
    await expectTabletLayout(mt.page, VIEWPORTS.portrait, 'console');
    await shot(t, mt.page, '13-console-portrait');
    await expectTabletLayout(screen, VIEWPORTS.portrait, 'room screen');
    await shot(t, screen, '14-room-screen-portrait');

    assert.equal(await mt.page.evaluate(() => window.__xss), undefined, 'script from an agenda title ran');
    for (const tab of [mt, mem, obs]) expectClean(tab);
  });
});

async function waitForState(page, state) {
  await waitFor(page, `[data-testid="console"][data-state="${state}"]`, `the meeting to be ${state}`).catch(async (err) => {
    const problem = await page.locator('[data-testid="lifecycle-problem"]').allInnerTexts();
    if (problem.length) err.message += `; the console says: ${problem.join(' / ')}`;
    throw err;
  });
}

async function expectNoProblem(page) {
  const problems = await page.locator('[role="alert"]').allInnerTexts();
  assert.deepEqual(problems, [], 'errors shown on the page');
}

async function agendaIds(page, scope) {
  return page.$$eval(`${scope} li[data-item-id]`, (lis) => lis.map((li) => li.dataset.itemId));
}

async function waitForNewItem(page, before) {
  const handle = await page.waitForFunction(
    (known) => {
      const ids = [...document.querySelectorAll('[data-testid="agenda-editor"] li[data-item-id]')].map((li) => li.dataset.itemId);
      return ids.find((id) => !known.includes(id)) ?? null;
    },
    before,
    { timeout: UI_TIMEOUT_MS },
  ).catch(async () => {
    const problem = await page.locator('[data-testid="agenda-editor"] [role="alert"]').allInnerTexts();
    throw new Error(`the added agenda item did not appear${problem.length ? `: ${problem.join(' / ')}` : ''}`);
  });
  return handle.jsonValue();
}

async function currentItemId(page) {
  return page.getAttribute('[data-testid="current-item"]', 'data-item-id');
}

/** Presses "next item" on the console and returns the id of the item that became current. */
async function advance(page) {
  const before = await currentItemId(page);
  await page.click('[data-testid="next-item"]');
  const handle = await page
    .waitForFunction(
      (prev) => {
        const id = document.querySelector('[data-testid="advance"] [data-testid="current-item"]')?.dataset.itemId;
        return id && id !== prev ? id : null;
      },
      before,
      { timeout: UI_TIMEOUT_MS },
    )
    .catch(async () => {
      const problem = await page.locator('[data-testid="advance"] [role="alert"]').allInnerTexts();
      throw new Error(`"next item" did not move the agenda${problem.length ? `: ${problem.join(' / ')}` : ''}`);
    });
  return handle.jsonValue();
}

// readQR renders the page's QR code (an SVG) onto a canvas, takes its pixels and decodes
// them here, so the test proves what a phone camera would read, not just an attribute.
async function readQR(page) {
  const image = await page.evaluate(async () => {
    const size = 480;
    const svg = document.querySelector('[data-testid="qr"]').cloneNode(true);
    svg.setAttribute('width', String(size));
    svg.setAttribute('height', String(size));
    const img = new Image();
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(svg))}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = size;
    canvas.height = size;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, size, size);
    ctx.drawImage(img, 0, 0, size, size);
    const data = ctx.getImageData(0, 0, size, size).data;
    let bin = '';
    for (let i = 0; i < data.length; i += 0x8000) bin += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return { width: size, height: size, data: btoa(bin) };
  });
  return decodeQR({ width: image.width, height: image.height, data: new Uint8Array(Buffer.from(image.data, 'base64')) });
}

// tinyPDF: a one-page PDF written here (with a correct xref table), so the test needs no file.
function tinyPDF() {
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets = [];
  objs.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
