// Browser test of the web app against a running suite: playwright-core drives the
// machine's Chromium at the two tablet sizes we support, checks the system-health page in
// Vietnamese and English, and keeps screenshots in ./artifacts.
//
//   BASE_URL=http://127.0.0.1:8080 node run.mjs      (or: npm test)
//
// Environment:
//   BASE_URL          the gateway (required; loopback only, as all our test traffic)
//   CHROMIUM_PATH     the browser (default /usr/bin/chromium: `apt-get install -y chromium`)
//   READY_TIMEOUT_MS  how long the suite may take to become ready (default 60000)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const PARTS = ['meetings', 'documents', 'voting', 'video', 'postgres', 'nats', 'minio'];
const VIEWPORTS = [
  { name: 'portrait', width: 800, height: 1280 },
  { name: 'landscape', width: 1280, height: 800 },
];
const TEXT = {
  vi: { ready: 'Hệ thống sẵn sàng', ok: 'Hoạt động tốt', title: 'Tình trạng hệ thống', live: 'Kênh trực tiếp:' },
  en: { ready: 'System ready', ok: 'Working', title: 'System health', live: 'Live channel:' },
};
const MIN_TOUCH_PX = 44;
// Bounds on waiting for the page, not assertions about speed.
const UI_TIMEOUT_MS = 10_000;

const BASE_URL = process.env.BASE_URL;
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const READY_TIMEOUT_MS = Number(process.env.READY_TIMEOUT_MS || 60_000);
const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

function fatal(msg) {
  console.error(`e2e/browser: ${msg}`);
  process.exit(2);
}

if (!BASE_URL) fatal('BASE_URL is not set (e.g. BASE_URL=http://127.0.0.1:8080 node run.mjs)');
let base;
try {
  base = new URL(BASE_URL);
} catch {
  fatal(`BASE_URL ${JSON.stringify(BASE_URL)} is not a URL`);
}
if (!/^(127(\.\d{1,3}){3}|localhost|\[::1\])$/.test(base.hostname)) {
  fatal(`BASE_URL must point at this machine (127.0.0.0/8, localhost, [::1]), not ${base.hostname}`);
}
if (!existsSync(CHROMIUM_PATH)) {
  fatal(`no Chromium at ${CHROMIUM_PATH}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
}
// Start empty, so that no screenshot from an earlier run passes for this one's.
rmSync(ARTIFACTS, { recursive: true, force: true });
mkdirSync(ARTIFACTS, { recursive: true });

let browser;

before(async () => {
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      // Without the background-networking flags Chromium calls home at start, which our
      // closed network refuses; the tests must reach only BASE_URL.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
  } catch (err) {
    throw new Error(`could not start Chromium at ${CHROMIUM_PATH}: ${err.message}`);
  }
});

after(async () => {
  await browser?.close();
});

for (const vp of VIEWPORTS) {
  test(`health page at ${vp.width}×${vp.height} (${vp.name})`, async (t) => {
    const context = await browser.newContext({
      viewport: { width: vp.width, height: vp.height },
      hasTouch: true,
      isMobile: true,
      // An English browser on purpose: the app must still start in Vietnamese.
      locale: 'en-US',
    });
    t.after(() => context.close());
    const page = await context.newPage();

    const pageErrors = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const foreign = [];
    await page.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.origin === base.origin) return route.continue();
      foreign.push(url.href);
      return route.abort();
    });

    const shot = async (name) => {
      const file = `${ARTIFACTS}health-${name}-${vp.name}.png`;
      await page.screenshot({ path: file, fullPage: true });
      t.diagnostic(`screenshot: ${file}`);
    };

    try {
      await page.goto(BASE_URL, { waitUntil: 'domcontentloaded' });
      await expectBuiltApp(page);

      // Vietnamese by default.
      await waitForReady(page, READY_TIMEOUT_MS);
      assert.equal(await page.getAttribute('html', 'lang'), 'vi', '<html lang> on first visit');
      await expectPage(page, 'vi');
      await expectTabletLayout(page, vp);
      await shot('vi');

      // Switch to English.
      await page.click('button[data-lang="en"]');
      await waitFor(page, 'html[lang="en"]', 'the page to switch to English (<html lang="en">)');
      await expectPage(page, 'en');
      await expectTabletLayout(page, vp);
      await shot('en');

      // The choice is kept on this tablet.
      await page.reload({ waitUntil: 'domcontentloaded' });
      await waitForReady(page, READY_TIMEOUT_MS);
      assert.equal(await page.getAttribute('html', 'lang'), 'en', '<html lang> after reload: English choice not kept');
      await expectPage(page, 'en');

      assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
      assert.deepEqual(foreign, [], 'the page tried to reach other origins');
    } catch (err) {
      await page.screenshot({ path: `${ARTIFACTS}failure-${vp.name}.png`, fullPage: true }).catch(() => {});
      err.message += `\n  page now: ${await describe(page)}\n  screenshot: ${ARTIFACTS}failure-${vp.name}.png`;
      throw err;
    }
  });
}

// A binary built before `npm run build` serves gateway/web/placeholder/index.html, which
// has no #app: say so at once instead of timing out on a status that never comes.
async function expectBuiltApp(page) {
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

async function waitFor(page, selector, what, timeout = UI_TIMEOUT_MS) {
  try {
    await page.locator(selector).first().waitFor({ state: 'attached', timeout });
  } catch {
    throw new Error(`timed out waiting for ${what}`);
  }
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

async function expectTabletLayout(page, vp) {
  const layout = await page.evaluate((min) => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    small: [...document.querySelectorAll('button')]
      .map((b) => ({ text: b.innerText.trim(), box: b.getBoundingClientRect() }))
      .filter(({ box }) => box.width < min || box.height < min)
      .map(({ text, box }) => `"${text}" ${Math.round(box.width)}×${Math.round(box.height)}`),
  }), MIN_TOUCH_PX);
  assert.ok(
    layout.scrollWidth <= layout.innerWidth,
    `${vp.name}: page scrolls sideways (content ${layout.scrollWidth} px wide in a ${layout.innerWidth} px viewport)`,
  );
  assert.deepEqual(layout.small, [], `${vp.name}: touch targets smaller than ${MIN_TOUCH_PX}×${MIN_TOUCH_PX} px`);
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
