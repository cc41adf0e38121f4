// Shared set-up of the browser tests: the configuration from the environment, one Chromium
// for all tests, tablet-sized contexts that may reach only BASE_URL, screenshots, and the
// layout checks every page must pass (no sideways scrolling, touch targets ≥ 44 px).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const VIEWPORTS = {
  portrait: { name: 'portrait', width: 800, height: 1280 },
  landscape: { name: 'landscape', width: 1280, height: 800 },
};
export const MIN_TOUCH_PX = 44;
// Bounds on waiting for the page, not assertions about speed.
export const UI_TIMEOUT_MS = 10_000;

export const BASE_URL = process.env.BASE_URL;
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const READY_TIMEOUT_MS = Number(process.env.READY_TIMEOUT_MS || 60_000);
export const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

export let base;

function fatal(msg) {
  console.error(`e2e/browser: ${msg}`);
  process.exit(2);
}

// checkEnvironment stops the run at once, with the reason, when it cannot mean anything.
export function checkEnvironment() {
  if (!BASE_URL) fatal('BASE_URL is not set (e.g. BASE_URL=http://127.0.0.1:8080 node run.mjs)');
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
}

/** An absolute URL on the suite under test. */
export function url(path) {
  return new URL(path, base).href;
}

let browserPromise;

export function browser() {
  browserPromise ??= chromium
    .launch({
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
    })
    .catch((err) => {
      throw new Error(`could not start Chromium at ${CHROMIUM_PATH}: ${err.message}`);
    });
  return browserPromise;
}

export async function closeBrowser() {
  if (browserPromise) await (await browserPromise.catch(() => null))?.close();
}

/**
 * A tablet: its own cookies and storage (a second person is a second context), touch, an
 * English browser locale on purpose (the app must still start in Vietnamese), and every
 * request to another origin refused and recorded.
 */
export async function tablet(t, vp, label) {
  const context = await (await browser()).newContext({
    viewport: { width: vp.width, height: vp.height },
    hasTouch: true,
    isMobile: true,
    locale: 'en-US',
    // Playwright's routing (the foreign-origin watch below, and tests that cut a request)
    // does not reliably see the requests of a page a service worker controls; the
    // offline test (reader.mjs) has a context of its own with the worker on.
    serviceWorkers: 'block',
  });
  t.after(() => context.close());
  const page = await context.newPage();
  const tab = { context, page, vp, label, pageErrors: [], foreign: [] };
  await watch(tab, page);
  return tab;
}

/** Another page (browser tab) in the same context, watched like the first. */
export async function newPage(tab) {
  const page = await tab.context.newPage();
  await watch(tab, page);
  return page;
}

async function watch(tab, page) {
  page.on('pageerror', (err) => tab.pageErrors.push(`${tab.label}: ${err.message}`));
  await page.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.origin === base.origin) return route.continue();
    tab.foreign.push(u.href);
    return route.abort();
  });
}

export function expectClean(tab) {
  assert.deepEqual(tab.pageErrors, [], `${tab.label}: uncaught errors in the page`);
  assert.deepEqual(tab.foreign, [], `${tab.label}: the page tried to reach other origins`);
}

export async function shot(t, page, name) {
  const file = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  t.diagnostic(`screenshot: ${file}`);
}

export async function waitFor(page, selector, what, timeout = UI_TIMEOUT_MS) {
  try {
    await page.locator(selector).first().waitFor({ state: 'attached', timeout });
  } catch {
    throw new Error(`timed out waiting for ${what} (${selector}) on ${page.url()}`);
  }
}

/**
 * Polls predicate(arg) in the page until it holds. page.evaluate awaits a predicate that
 * returns a promise (getStats, the Cache API, fetch); page.waitForFunction does not — it
 * takes the promise itself for a true answer at once — so it must not be given one.
 */
export async function poll(page, predicate, arg, what, timeout = UI_TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      if (await page.evaluate(predicate, arg)) return;
    } catch (err) {
      last = err; // a navigation in between: try again
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const shown = await page
    .evaluate(() => document.querySelector('main')?.innerText.replace(/\s+/g, ' ').slice(0, 500) ?? '')
    .catch(() => '(page closed)');
  throw new Error(`timed out waiting for ${what} on ${page.url()}; the page shows: ${shown}`, { cause: last });
}

/** Waits until page's path (and query) is the given one. */
export async function waitForPath(page, test, what, timeout = UI_TIMEOUT_MS) {
  try {
    await page.waitForURL((u) => test(new URL(u)), { timeout });
  } catch {
    throw new Error(`timed out waiting for ${what}; the page is at ${page.url()}`);
  }
}

/**
 * The layout rules of a tablet page: nothing scrolls sideways, and every control a finger
 * uses (buttons, links styled as buttons, tabs, form fields) is at least 44×44 px.
 */
export async function expectTabletLayout(page, vp, where = '') {
  const layout = await page.evaluate((min) => {
    const controls = 'button, a.button, a.back-link, a.card-link, a.footer-link, a.screen-back, input, select, textarea, [role="tab"]';
    return {
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      small: [...document.querySelectorAll(controls)]
        .filter((el) => el.getClientRects().length > 0) // shown
        .map((el) => ({ text: (el.innerText || el.getAttribute('aria-label') || el.name || el.tagName).trim(), box: el.getBoundingClientRect() }))
        .filter(({ box }) => box.width < min || box.height < min)
        .map(({ text, box }) => `"${text.slice(0, 40)}" ${Math.round(box.width)}×${Math.round(box.height)}`),
    };
  }, MIN_TOUCH_PX);
  const at = `${vp.name}${where ? ` ${where}` : ''}`;
  assert.ok(
    layout.scrollWidth <= layout.innerWidth,
    `${at}: page scrolls sideways (content ${layout.scrollWidth} px wide in a ${layout.innerWidth} px viewport)`,
  );
  assert.deepEqual(layout.small, [], `${at}: touch targets smaller than ${MIN_TOUCH_PX}×${MIN_TOUCH_PX} px`);
}

/**
 * Runs fn; on failure keeps a screenshot of every page pages() names then and says where
 * they were (a function, so that pages opened during fn are included).
 */
export async function withFailureShots(pages, name, fn) {
  try {
    return await fn();
  } catch (err) {
    for (const [label, page] of Object.entries(pages())) {
      if (!page) continue;
      const file = `${ARTIFACTS}failure-${name}-${label}.png`;
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      const text = await page
        .evaluate(() => document.querySelector('main, .kiosk')?.innerText.replace(/\s+/g, ' ').slice(0, 400) ?? '')
        .catch(() => '(page closed)');
      err.message += `\n  ${label}: ${page.url()}\n    shows: ${text}\n    screenshot: ${file}`;
    }
    throw err;
  }
}

// Demo logins as printed by `ecabinet -load-demo` ("username:password" in the environment);
// the defaults match the demo loader.
const DEMO_DEFAULTS = {
  DEMO_CHAIR: 'chutri:ecabinet-demo',
  DEMO_MINUTE_TAKER: 'thuky:ecabinet-demo',
  DEMO_MEMBER: 'uyvien:ecabinet-demo',
  DEMO_OBSERVER: 'quansat:ecabinet-demo',
};

export function demoLogin(name) {
  const raw = process.env[name] || DEMO_DEFAULTS[name];
  const i = raw.indexOf(':');
  if (i <= 0) throw new Error(`${name} must be "username:password", got ${JSON.stringify(raw)}`);
  return { username: raw.slice(0, i), password: raw.slice(i + 1), from: process.env[name] ? name : `${name} (default)` };
}

/** Fills in the login form the page shows and waits until the app has left it. */
export async function signIn(page, who) {
  await page.fill('input[name="username"]', who.username);
  await page.fill('input[name="password"]', who.password);
  await page.click('[data-testid="login-submit"]');
  // Either the app leaves the login page, or it says why not.
  const result = await Promise.race([
    page.waitForURL((u) => new URL(u).pathname !== '/login', { timeout: UI_TIMEOUT_MS }).then(() => 'ok'),
    page.locator('[data-testid="login-error"], [data-testid="login-problem"]').first().waitFor({ timeout: UI_TIMEOUT_MS }).then(() => 'refused'),
  ]).catch(() => 'timeout');
  if (result === 'refused') {
    const why = await page.innerText('form[data-testid="login-form"]');
    throw new Error(
      `sign-in as ${who.username} (${who.from}) was refused: ${why.replace(/\s+/g, ' ')} ` +
        '— was the demo data loaded into this suite (ecabinet -load-demo), and do the DEMO_* logins match its output?',
    );
  }
  if (result === 'timeout') throw new Error(`sign-in as ${who.username} did not finish`);
}

/**
 * The card of the demo meeting in "my meetings" (today): DEMO_MEETING_TITLE if set, else
 * the first in which the signed-in person takes the minutes.
 */
export async function findMeeting(page) {
  const wanted = process.env.DEMO_MEETING_TITLE;
  const cards = page.locator('[data-testid="meeting-list"] .card');
  const n = await cards.count();
  for (let i = 0; i < n; i++) {
    const card = cards.nth(i);
    const title = (await card.locator('.card-title').innerText()).trim();
    if (wanted ? title === wanted : (await card.locator('[data-role="PARTICIPANT_ROLE_MINUTE_TAKER"]').count()) > 0) return card;
  }
  const shown = await page.innerText('[data-testid="meeting-list"]');
  throw new Error(
    `no meeting today ${wanted ? `titled ${JSON.stringify(wanted)}` : 'with the minute-taker as minute-taker'}; the list shows: ${shown.replace(/\s+/g, ' ')}`,
  );
}
