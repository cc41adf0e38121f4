// The system-health page (/status) at both tablet sizes, in Vietnamese and English. It needs
// no sign-in: it is what a tablet shows when nothing else works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARTIFACTS,
  READY_TIMEOUT_MS,
  VIEWPORTS,
  expectClean,
  expectTabletLayout,
  shot,
  tablet,
  url,
  waitFor,
} from './lib.mjs';

const PARTS = ['meetings', 'documents', 'voting', 'video', 'postgres', 'nats', 'minio'];
const TEXT = {
  vi: { ready: 'Hệ thống sẵn sàng', ok: 'Hoạt động tốt', title: 'Tình trạng hệ thống', live: 'Kênh trực tiếp:' },
  en: { ready: 'System ready', ok: 'Working', title: 'System health', live: 'Live channel:' },
};

for (const vp of Object.values(VIEWPORTS)) {
  test(`health page at ${vp.width}×${vp.height} (${vp.name})`, async (t) => {
    const tab = await tablet(t, vp, 'health');
    const { page } = tab;
    try {
      await page.goto(url('/status'), { waitUntil: 'domcontentloaded' });
      await expectBuiltApp(page);

      // Vietnamese by default.
      await waitForReady(page, READY_TIMEOUT_MS);
      assert.equal(await page.getAttribute('html', 'lang'), 'vi', '<html lang> on first visit');
      await expectPage(page, 'vi');
      await expectTabletLayout(page, vp, 'health');
      await shot(t, page, `health-vi-${vp.name}`);

      // Switch to English.
      await page.click('button[data-lang="en"]');
      await waitFor(page, 'html[lang="en"]', 'the page to switch to English (<html lang="en">)');
      await expectPage(page, 'en');
      await expectTabletLayout(page, vp, 'health');
      await shot(t, page, `health-en-${vp.name}`);

      // The choice is kept on this tablet.
      await page.reload({ waitUntil: 'domcontentloaded' });
      await waitForReady(page, READY_TIMEOUT_MS);
      assert.equal(await page.getAttribute('html', 'lang'), 'en', '<html lang> after reload: English choice not kept');
      await expectPage(page, 'en');

      expectClean(tab);
    } catch (err) {
      await page.screenshot({ path: `${ARTIFACTS}failure-health-${vp.name}.png`, fullPage: true }).catch(() => {});
      err.message += `\n  page now: ${await describe(page)}\n  screenshot: ${ARTIFACTS}failure-health-${vp.name}.png`;
      throw err;
    }
  });
}

// A binary built before `npm run build` serves gateway/web/placeholder/index.html, which
// has no #app: say so at once instead of timing out on a status that never comes.
export async function expectBuiltApp(page) {
  if ((await page.locator('#app').count()) === 0) {
    throw new Error(
      'the gateway serves the "web app was not built" placeholder: run `npm ci && npm run build` ' +
        'in gateway/web before building the ecabinet binary',
    );
  }
}

async function waitForReady(page, timeout) {
  await waitFor(
    page,
    '[data-testid="overall"][data-state="ready"]',
    `the suite to report ready (waited ${timeout} ms; READY_TIMEOUT_MS)`,
    timeout,
  );
}

async function expectPage(page, lang) {
  const want = TEXT[lang];
  const text = (sel) => page.locator(sel).first().innerText();

  assert.equal((await text('.page-title')).trim(), want.title, `[${lang}] page title`);
  assert.equal((await text('.overall-headline')).trim(), want.ready, `[${lang}] overall status`);
  assert.ok((await page.title()).startsWith(want.title), `[${lang}] document.title is ${JSON.stringify(await page.title())}`);

  for (const part of PARTS) {
    const row = page.locator(`[data-check="${part}"]`);
    assert.equal(await row.count(), 1, `[${lang}] part "${part}" is not shown on the page`);
    const ok = await row.getAttribute('data-ok');
    const rowText = (await row.innerText()).replace(/\s+/g, ' ').trim();
    assert.equal(ok, 'true', `[${lang}] part "${part}" is not healthy: ${rowText}`);
    assert.ok(rowText.includes(want.ok), `[${lang}] part "${part}" shows ${JSON.stringify(rowText)}, want "${want.ok}"`);
  }
  // The icons are decoration; the state must be readable as text.
  const liveText = (await text('[data-testid="live"]')).trim();
  assert.ok(liveText.startsWith(want.live), `[${lang}] live footer shows ${JSON.stringify(liveText)}`);
}

// describe summarises what the page shows, for failure messages.
async function describe(page) {
  try {
    return await page.evaluate(() => {
      const q = (s) => document.querySelector(s)?.textContent?.replace(/\s+/g, ' ').trim() ?? '(none)';
      const rows = [...document.querySelectorAll('[data-check]')].map(
        (li) => `${li.getAttribute('data-check')}=${li.getAttribute('data-ok') === 'true' ? 'ok' : 'FAILING'}` +
          (li.querySelector('.check-error') ? ` (${li.querySelector('.check-error').textContent})` : ''),
      );
      const overall = ['.overall-headline', '.overall-detail', '.overall-time'].map(q).join(' / ');
      return `lang=${document.documentElement.lang} overall="${overall}" parts=[${rows.join(', ') || 'none shown'}]`;
    });
  } catch (err) {
    return `(could not read the page: ${err.message})`;
  }
}
