// The online room of the demo meeting in three Chromium pages with fake cameras and
// microphones (issue 6's browser test):
//
//   1. the chair (landscape) waits on the video page until an organisation admin opens the
//      room (the page follows without a reload); a member (portrait) follows the meeting
//      page's link to the video page (the agenda beside the room); both join; each decodes the other's
//      camera: the tile of the other has a playing picture and getStats reports
//      framesDecoded > 0 for the inbound video of that tile's media section; the chair's
//      camera goes out as two simulcast layers, and the member (on loopback, nothing in
//      the way) gets the full picture; the chair
//      starts and stops a recording: the member's page shows it while it runs; the
//      documents refuse it here, the chair is told and asks again, and sees why;
//   2. the observer (portrait) joins to watch: no publishing controls, both cameras decoded;
//      when its page tries to publish anyway (a camera track added to its connection), the
//      service refuses the offer (PUBLISH_NOT_ALLOWED, shown), nobody receives a picture
//      from it, and it goes on watching;
//   3. the member raises its hand and mutes: the chair's page shows both; the chair switches
//      to the active-speaker layout;
//   4. the member's signaling connection drops: its page says it is reconnecting, comes back
//      in the same seat (same participant id, the chair never sees it leave) and decodes on;
//   5. the member is cut off for longer than the service keeps a seat (VIDEO_RESUME_GRACE,
//      8 s here): the observer sees it leave; back online, its page joins afresh (a new
//      participant) and the observer decodes its camera again;
//   6. the chair leaves: the member's page sees it go;
//   7. the observer shows the member's camera small, then large: it decodes the half
//      picture, then the full one (the page reports each tile's height to the service).
//
// It needs WebRTC on loopback only, so it runs inside a network namespace that has only
// `lo` (e2e/video_browser_test.go creates it and runs the suite, this script and Chromium
// inside); Chromium gets --allow-loopback-in-peer-connection.
//
// Environment: BASE_URL (the gateway, loopback), MEETING_ID (the demo meeting, in progress,
// no room yet), ORGANIZATION_ID and ADMIN_BEARER (to open the room as an admin), DEMO_CHAIR, DEMO_MEMBER, DEMO_OBSERVER ("username:password"), CHROMIUM_PATH.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { VIEWPORTS, demoLogin, expectTabletLayout, poll, signIn, waitFor } from './lib.mjs';

const BASE_URL = process.env.BASE_URL;
const MEETING_ID = process.env.MEETING_ID;
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('./artifacts/video/', import.meta.url));
// Bounds on waiting for media to flow, not assertions about speed.
const MEDIA_TIMEOUT_MS = 30_000;
const UI_TIMEOUT_MS = 15_000;

function fatal(msg) {
  console.error(`e2e/browser/video.mjs: ${msg}`);
  process.exit(2);
}

const { ORGANIZATION_ID, ADMIN_BEARER } = process.env;
if (!BASE_URL || !MEETING_ID || !ORGANIZATION_ID || !ADMIN_BEARER) {
  fatal('BASE_URL, MEETING_ID, ORGANIZATION_ID and ADMIN_BEARER must be set (e2e/video_browser_test.go sets them)');
}
const base = new URL(BASE_URL);
if (!/^(127(\.\d{1,3}){3}|localhost|\[::1\])$/.test(base.hostname)) fatal(`BASE_URL must be on loopback, not ${base.hostname}`);
if (!existsSync(CHROMIUM_PATH)) fatal(`no Chromium at ${CHROMIUM_PATH}`);
rmSync(ARTIFACTS, { recursive: true, force: true });
mkdirSync(ARTIFACTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
    // A fake camera (a moving pattern) and microphone (a beep), granted without asking.
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    // The namespace has only lo; without this Chromium gathers no candidate on it.
    '--allow-loopback-in-peer-connection',
  ],
});
after(() => browser.close());

// Recorded in every page before the app runs: its peer connections (for getStats) and its
// WebSockets (to cut the signaling connection as a dropped Wi-Fi would).
function instrument() {
  const PC = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends PC {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
  const WS = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends WS {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
    }
  };
}

async function device(t, vp, label) {
  const context = await browser.newContext({
    viewport: { width: vp.width, height: vp.height },
    hasTouch: true,
    isMobile: true,
    locale: 'en-US',
  });
  t.after(() => context.close());
  await context.addInitScript(instrument);
  const page = await context.newPage();
  const tab = { context, page, vp, label, pageErrors: [], foreign: [] };
  page.on('pageerror', (err) => tab.pageErrors.push(`${label}: ${err.message}`));
  await page.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.origin === base.origin) return route.continue();
    tab.foreign.push(u.href);
    return route.abort();
  });
  return tab;
}

async function shot(t, page, name) {
  const file = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  t.diagnostic(`screenshot: ${file}`);
}

// until is poll with the media's patience.
function until(page, fn, arg, what, timeout = MEDIA_TIMEOUT_MS) {
  return poll(page, fn, arg, what, timeout);
}

async function openRoom() {
  const res = await fetch(new URL(`/api/v1/meetings/${encodeURIComponent(MEETING_ID)}/room`, base), {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_BEARER}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ organizationId: ORGANIZATION_ID, mode: 'ROOM_MODE_MEETING' }),
  });
  assert.equal(res.status, 200, `open the room: ${res.status} ${await res.text()}`);
}

// The chair opens the video page before there is a room: it says so, and when an admin opens
// the room the page offers to join without a reload (the live channel's room_opened).
async function waitForRoom(t, tab, who) {
  const { page } = tab;
  await page.goto(new URL(`/meetings/${encodeURIComponent(MEETING_ID)}/video`, base).href, { waitUntil: 'domcontentloaded' });
  await page.waitForURL((u) => new URL(u).pathname === '/login', { timeout: UI_TIMEOUT_MS });
  await signIn(page, who);
  await waitFor(page, '[data-testid="video-page"] [data-testid="video-noroom"]', 'the video page saying the room is not open', UI_TIMEOUT_MS);
  await shot(t, page, `${tab.label}-no-room-${tab.vp.name}`);
  await openRoom();
  await waitFor(page, '[data-testid="video-page"] [data-testid="video-lobby"]', 'the video page offering to join once the room opened', UI_TIMEOUT_MS);
}

// Opens the meeting page (signing in on the way) or, with viaMeetingPage false, starts on
// the video page already; follows the link to the video page and joins.
async function join(t, tab, who, viaMeetingPage = true) {
  if (viaMeetingPage) await openVideoFromMeetingPage(tab, who);
  await joinFromLobby(t, tab);
  return tab.participantId;
}

async function openVideoFromMeetingPage(tab, who) {
  const { page } = tab;
  await page.goto(new URL(`/meetings/${encodeURIComponent(MEETING_ID)}`, base).href, { waitUntil: 'domcontentloaded' });
  await page.waitForURL((u) => new URL(u).pathname === '/login', { timeout: UI_TIMEOUT_MS });
  await signIn(page, who);
  await waitFor(page, '[data-testid="meeting-page"]', 'the meeting page', UI_TIMEOUT_MS);
  // The observer comes from the higher-level committee: the video service does not tell
  // it whether the room is open (GetRoom answers members of the organisation only), so its
  // link does not say.
  const link = tab.label === 'observer' ? '[data-testid="video-link"]' : '[data-testid="video-link"][data-room="open"]';
  await waitFor(page, link, 'the link to the video room', UI_TIMEOUT_MS);
  await page.click('[data-testid="video-link"]');
  await waitFor(page, '[data-testid="video-page"] [data-testid="video-lobby"]', 'the video page before joining', UI_TIMEOUT_MS);
}

async function joinFromLobby(t, tab) {
  const { page } = tab;
  // The meeting goes on beside the room: its agenda is on the page.
  await waitFor(page, '[data-testid="video-page"] [data-testid="agenda"]', 'the agenda beside the room', UI_TIMEOUT_MS);
  assert.equal(await page.getAttribute('html', 'lang'), 'vi', `${tab.label}: the app is in Vietnamese`);
  await page.click('[data-testid="video-join"]');
  await until(
    page,
    () => {
      const r = document.querySelector('[data-testid="video-room"]');
      return r?.dataset.phase === 'connected' && r.dataset.media === 'connected' && r.dataset.participantId !== '';
    },
    null,
    `${tab.label} in the room with media connected`,
  );
  tab.participantId = await page.getAttribute('[data-testid="video-room"]', 'data-participant-id');
  await shot(t, page, `${tab.label}-joined-${tab.vp.name}`);
}

// framesDecoded of the inbound video of one media section (mid), summed over the page's
// connections (a fresh join makes a new one).
async function framesDecoded(page, mid) {
  return page.evaluate(async (mid) => {
    let n = 0;
    for (const pc of window.__pcs) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video' && s.mid === mid) n += s.framesDecoded ?? 0;
      });
    }
    return n;
  }, mid);
}

// Waits until page shows from's camera playing and decodes it; returns the tile's mid and
// the frames decoded so far.
async function decodes(page, label, from, fromLabel) {
  const tile = `[data-testid="video-tile"][data-participant-id="${from}"][data-source="camera"]`;
  await until(
    page,
    (sel) => {
      const v = document.querySelector(`${sel} video`);
      return v !== null && v.videoWidth > 0 && v.readyState >= 2;
    },
    tile,
    `${label} to show ${fromLabel}'s camera`,
  );
  const mid = await page.getAttribute(tile, 'data-mid');
  assert.ok(mid, `${label}: ${fromLabel}'s tile names its media section`);
  await until(
    page,
    async (mid) => {
      let n = 0;
      for (const pc of window.__pcs) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video' && s.mid === mid) n += s.framesDecoded ?? 0;
        });
      }
      return n > 0;
    },
    mid,
    `${label} to decode ${fromLabel}'s video (getStats framesDecoded > 0)`,
  );
  const frames = await framesDecoded(page, mid);
  assert.ok(frames > 0, `${label}: framesDecoded of ${fromLabel}'s video is ${frames}`);
  return { mid, frames };
}

// The page sends its camera as simulcast: both layers it asks for (outbound-rtp with a
// rid) carry bytes.
async function sendsLayers(page, label) {
  await until(
    page,
    async () => {
      const rids = new Set();
      for (const pc of window.__pcs) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid && (s.bytesSent ?? 0) > 0) rids.add(s.rid);
        });
      }
      return rids.size > 1;
    },
    null,
    `${label} to send its camera in more than one simulcast layer (getStats outbound-rtp with a rid)`,
  );
}

// The width page decodes the inbound video of one media section at (0: nothing decoded).
function decodedWidth(page, mid) {
  return page.evaluate(async (mid) => {
    let w = 0;
    for (const pc of window.__pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video' && s.mid === mid && (s.framesDecoded ?? 0) > 0) w = s.frameWidth ?? 0;
      });
    }
    return w;
  }, mid);
}

// The width page sends its camera's simulcast layer rid at now (0: not sending it).
function sentWidth(page, rid) {
  return page.evaluate(async (rid) => {
    let w = 0;
    for (const pc of window.__pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid === rid) w = s.frameWidth ?? 0;
      });
    }
    return w;
  }, rid);
}

// page decodes the media section mid at the width sender sends its camera's layer rid at
// ('f' the full picture, 'h' the half: cameraLayers in video.ts), and the two layers'
// widths differ, so it is that layer the service forwards. The widths are read, not
// assumed: Chromium scales its layers down while its CPU is overused (a loaded machine).
// Polled here rather than with until, to say which widths there were when it times out.
async function decodesLayer(page, label, mid, sender, rid, when) {
  const deadline = Date.now() + MEDIA_TIMEOUT_MS;
  for (;;) {
    const [got, want, other] = await Promise.all([decodedWidth(page, mid), sentWidth(sender, rid), sentWidth(sender, rid === 'f' ? 'h' : 'f')]);
    if (want > 0 && got === want && want !== other) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${label} to decode layer ${rid} (sent ${want} wide, the other layer ${other}) ${when}: it decodes ${got} wide`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// Every candidate pair a page's connections used is on loopback: the network rule.
async function candidatesOnLoopback(page, label) {
  const addrs = await page.evaluate(async () => {
    const out = [];
    for (const pc of window.__pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'local-candidate' || s.type === 'remote-candidate') out.push(s.address ?? s.ip ?? '');
      });
    }
    return out;
  });
  assert.ok(addrs.length > 0, `${label}: no ICE candidates at all`);
  for (const a of addrs) assert.match(a, /^(127\.\d+\.\d+\.\d+|::1)$/, `${label}: an ICE candidate off loopback: ${a} (all: ${addrs.join(', ')})`);
}

function expectClean(tab) {
  assert.deepEqual(tab.pageErrors, [], `${tab.label}: uncaught errors in the page`);
  assert.deepEqual(tab.foreign, [], `${tab.label}: the page tried to reach other origins`);
}

test('video: two publishers decode each other, an observer watches and cannot publish', async (t) => {
  const chair = await device(t, VIEWPORTS.landscape, 'chair');
  const member = await device(t, VIEWPORTS.portrait, 'member');
  const observer = await device(t, VIEWPORTS.portrait, 'observer');
  const tabs = [chair, member, observer];
  try {
    // 1. Two publishers.
    await waitForRoom(t, chair, demoLogin('DEMO_CHAIR'));
    const chairId = await join(t, chair, null, false);
    const memberId = await join(t, member, demoLogin('DEMO_MEMBER'));
    assert.notEqual(chairId, memberId);
    for (const tab of [chair, member]) {
      assert.equal(await tab.page.getAttribute('[data-testid="video-room"]', 'data-watch-only'), 'false', `${tab.label} publishes`);
      await waitFor(tab.page, '[data-testid="video-mute"]', `${tab.label}'s mute button`);
      await waitFor(tab.page, '[data-testid="video-camera"]', `${tab.label}'s camera button`);
    }
    const memberSeenByChair = await decodes(chair.page, 'the chair', memberId, 'the member');
    const chairSeenByMember = await decodes(member.page, 'the member', chairId, 'the chair');
    await candidatesOnLoopback(chair.page, 'chair');
    await candidatesOnLoopback(member.page, 'member');
    await sendsLayers(chair.page, 'the chair');
    await decodesLayer(member.page, 'the member', chairSeenByMember.mid, chair.page, 'f', 'on loopback, where nothing holds it below the full picture');
    await until(chair.page, () => document.querySelector('[data-testid="video-quality"]')?.dataset.quality === 'good', null, 'the chair\'s connection quality to read "good" on loopback');
    await shot(t, chair.page, 'chair-sees-member-landscape');
    await shot(t, member.page, 'member-sees-chair-portrait');
    await expectTabletLayout(chair.page, chair.vp, 'video page (chair)');
    await expectTabletLayout(member.page, member.vp, 'video page (member)');

    // The chair records for a moment: everyone sees that the meeting is being recorded.
    assert.equal(await member.page.$('[data-testid="video-record"]'), null, 'a member has no recording button');
    await chair.page.click('[data-testid="video-record"][data-on="false"]');
    await waitFor(member.page, '[data-testid="video-recording"]', 'the recording indicator on the member\'s page', UI_TIMEOUT_MS);
    await waitFor(chair.page, '[data-testid="video-record"][data-on="true"]', 'the chair\'s stop-recording button', UI_TIMEOUT_MS);
    await shot(t, member.page, 'member-sees-recording');
    await chair.page.click('[data-testid="video-record"][data-on="true"]');
    await until(member.page, () => document.querySelector('[data-testid="video-recording"]') === null, null, 'the indicator gone when the recording stops', UI_TIMEOUT_MS);
    // This suite's documents refuse recordings (RECORDING_MAX_BYTES is 1, see
    // video_browser_test.go): the chair is told the recorded files (a camera and a microphone
    // at least) are not among the documents yet, and asking again shows why; the files stay.
    const undelivered = () => Number(document.querySelector('[data-testid="video-recording-undelivered"]')?.dataset.count ?? 0);
    await until(chair.page, () => Number(document.querySelector('[data-testid="video-recording-undelivered"]')?.dataset.count ?? 0) >= 2, null, 'the chair told the recorded files are not delivered', UI_TIMEOUT_MS);
    const undeliveredBefore = await chair.page.evaluate(undelivered);
    assert.equal(await member.page.$('[data-testid="video-recording-undelivered"]'), null, 'a member is not shown the undelivered files');
    await chair.page.click('[data-testid="video-recording-deliver"]');
    await until(chair.page, () => /larger than the limit/.test(document.querySelector('[data-testid="video-recording-last-error"]')?.textContent ?? ''), null, 'the reason the documents refused the recording', UI_TIMEOUT_MS);
    assert.equal(await chair.page.evaluate(undelivered), undeliveredBefore, 'the files are still undelivered, none lost');
    await shot(t, chair.page, 'chair-sees-undelivered-recording');

    // 2. The observer watches.
    const observerId = await join(t, observer, demoLogin('DEMO_OBSERVER'));
    assert.equal(await observer.page.getAttribute('[data-testid="video-room"]', 'data-watch-only'), 'true', 'the observer only watches');
    await waitFor(observer.page, '[data-testid="video-watch-only"]', 'the watch-only notice');
    for (const control of ['video-mute', 'video-camera', 'video-share']) {
      assert.equal(await observer.page.locator(`[data-testid="${control}"]`).count(), 0, `the observer has no ${control} control`);
    }
    await decodes(observer.page, 'the observer', chairId, 'the chair');
    await decodes(observer.page, 'the observer', memberId, 'the member');
    await until(observer.page, () => document.querySelector('[data-testid="video-quality"]')?.dataset.quality === 'good', null, 'the observer\'s connection quality to read "good"');
    await expectTabletLayout(observer.page, observer.vp, 'video page (observer)');

    // …and cannot publish: a camera track forced onto its connection makes the app offer
    // it; the service refuses, and the app withdraws it.
    await observer.page.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: true });
      const pc = window.__pcs.filter((p) => p.connectionState !== 'closed').at(-1);
      pc.addTrack(stream.getVideoTracks()[0], stream);
    });
    await waitFor(observer.page, '[data-testid="video-error"][data-reason="PUBLISH_NOT_ALLOWED"]', 'the refusal of the observer\'s offer', UI_TIMEOUT_MS);
    const before = await framesDecoded(observer.page, (await observer.page.getAttribute(`[data-testid="video-tile"][data-participant-id="${chairId}"][data-source="camera"]`, 'data-mid')));
    await until(
      observer.page,
      ({ chairId, before }) => {
        const mid = document.querySelector(`[data-testid="video-tile"][data-participant-id="${chairId}"][data-source="camera"]`)?.dataset.mid;
        return Promise.all(window.__pcs.filter((p) => p.connectionState !== 'closed').map((p) => p.getStats())).then((reports) => {
          let n = 0;
          for (const r of reports) r.forEach((s) => s.type === 'inbound-rtp' && s.kind === 'video' && s.mid === mid && (n += s.framesDecoded ?? 0));
          return n > before + 10;
        });
      },
      { chairId, before },
      'the observer to go on decoding after the refusal',
    );
    assert.equal(await observer.page.getAttribute('[data-testid="video-room"]', 'data-phase'), 'connected', 'the observer stays in the room');
    assert.equal(await observer.page.getAttribute('[data-testid="video-room"]', 'data-media'), 'connected', "the observer's media stays connected");
    for (const tab of [chair, member]) {
      assert.equal(
        await tab.page.locator(`[data-testid="video-tile"][data-participant-id="${observerId}"]`).count(),
        0,
        `${tab.label} shows no picture from the observer`,
      );
      const inboundVideo = await tab.page.evaluate(async () => {
        let n = 0;
        for (const pc of window.__pcs) {
          if (pc.connectionState === 'closed') continue;
          (await pc.getStats()).forEach((s) => s.type === 'inbound-rtp' && s.kind === 'video' && (s.packetsReceived ?? 0) > 0 && n++);
        }
        return n;
      });
      assert.equal(inboundVideo, 1, `${tab.label} receives exactly one picture (the other publisher's), not the observer's`);
    }
    await shot(t, observer.page, 'observer-refused-portrait');

    // 3. Hand and microphone as others see them; the active-speaker layout.
    await member.page.click('[data-testid="video-hand-button"]');
    await waitFor(chair.page, `[data-testid="video-peer"][data-participant-id="${memberId}"][data-hand="true"]`, "the member's raised hand on the chair's page", UI_TIMEOUT_MS);
    await member.page.click('[data-testid="video-mute"]');
    assert.equal(await member.page.getAttribute('[data-testid="video-mute"]', 'aria-pressed'), 'true');
    await until(
      chair.page,
      (id) => /Đã tắt micrô/.test(document.querySelector(`[data-testid="video-peer"][data-participant-id="${id}"]`)?.textContent ?? ''),
      memberId,
      "the member shown muted on the chair's page",
      UI_TIMEOUT_MS,
    );
    // The member's camera off and on again: the chair sees the placeholder, then the picture.
    const memberTile = `[data-testid="video-tile"][data-participant-id="${memberId}"][data-source="camera"]`;
    await member.page.click('[data-testid="video-camera"]');
    await until(chair.page, (sel) => document.querySelector(sel) !== null && document.querySelector(`${sel} video`) === null, memberTile, "the member's camera shown off on the chair's page", UI_TIMEOUT_MS);
    await member.page.click('[data-testid="video-camera"]');
    await until(
      chair.page,
      (sel) => {
        const v = document.querySelector(`${sel} video`);
        return v !== null && v.videoWidth > 0;
      },
      memberTile,
      "the member's camera back on the chair's page",
    );

    // The chair shares its screen: a track of its own (declared in screenMids), which the
    // member decodes beside the chair's camera; stopping it takes it away.
    await chair.page.click('[data-testid="video-share"]');
    await waitFor(chair.page, '[data-testid="video-share"][aria-pressed="true"]', 'the chair sharing', UI_TIMEOUT_MS);
    const screenTile = `[data-testid="video-tile"][data-participant-id="${chairId}"][data-source="screen"]`;
    await waitFor(member.page, screenTile, "the chair's screen on the member's page", MEDIA_TIMEOUT_MS);
    const screenMid = await member.page.getAttribute(screenTile, 'data-mid');
    const cameraMid = await member.page.getAttribute(`[data-testid="video-tile"][data-participant-id="${chairId}"][data-source="camera"]`, 'data-mid');
    assert.notEqual(screenMid, cameraMid, 'the screen comes as its own track');
    await until(
      member.page,
      async (mid) => {
        let n = 0;
        for (const pc of window.__pcs) {
          if (pc.connectionState === 'closed') continue;
          (await pc.getStats()).forEach((s) => s.type === 'inbound-rtp' && s.kind === 'video' && s.mid === mid && (n += s.framesDecoded ?? 0));
        }
        return n > 0;
      },
      screenMid,
      "the member to decode the chair's screen",
    );
    await shot(t, member.page, 'member-sees-screen-portrait');
    await chair.page.click('[data-testid="video-share"]');
    await until(member.page, (sel) => document.querySelector(sel) === null, screenTile, "the chair's screen gone from the member's page", UI_TIMEOUT_MS);

    // English is there too.
    await member.page.click('[data-lang="en"]');
    assert.equal((await member.page.innerText('[data-testid="video-leave"]')).trim(), 'Leave', 'the video page in English');
    await member.page.click('[data-lang="vi"]');
    assert.equal((await member.page.innerText('[data-testid="video-leave"]')).trim(), 'Rời phòng');
    await chair.page.click('[data-testid="video-layout-speaker"]');
    await waitFor(chair.page, '[data-testid="video-room"][data-layout="speaker"] .video-speaker-main [data-testid="video-tile"]', 'the active-speaker layout', UI_TIMEOUT_MS);
    await shot(t, chair.page, 'chair-speaker-layout-landscape');

    // 4. The member's signaling connection drops (Wi-Fi): it reconnects into the same seat.
    const framesBefore = await framesDecoded(member.page, (await member.page.getAttribute(`[data-testid="video-tile"][data-participant-id="${chairId}"][data-source="camera"]`, 'data-mid')));
    await member.context.setOffline(true);
    await member.page.evaluate(() => {
      for (const ws of window.__sockets) if (ws.url.includes('/video/signal')) ws.close();
    });
    await waitFor(member.page, '[data-testid="video-room"][data-phase="reconnecting"]', 'the member reconnecting', UI_TIMEOUT_MS);
    await shot(t, member.page, 'member-reconnecting-portrait');
    await member.context.setOffline(false);
    await until(
      member.page,
      () => document.querySelector('[data-testid="video-room"]')?.dataset.phase === 'connected',
      null,
      'the member back in the room',
    );
    assert.equal(await member.page.getAttribute('[data-testid="video-room"]', 'data-participant-id'), memberId, 'the member keeps its seat');
    await until(
      member.page,
      ({ chairId, framesBefore }) => {
        const mid = document.querySelector(`[data-testid="video-tile"][data-participant-id="${chairId}"][data-source="camera"]`)?.dataset.mid;
        return Promise.all(window.__pcs.filter((p) => p.connectionState !== 'closed').map((p) => p.getStats())).then((reports) => {
          let n = 0;
          for (const r of reports) r.forEach((s) => s.type === 'inbound-rtp' && s.kind === 'video' && s.mid === mid && (n += s.framesDecoded ?? 0));
          return n > framesBefore + 10;
        });
      },
      { chairId, framesBefore },
      "the member decoding the chair's video after reconnecting",
    );
    assert.equal(
      await chair.page.locator(`[data-testid="video-peer"][data-participant-id="${memberId}"]`).count(),
      1,
      'the chair still has the member in the room',
    );
    const again = await framesDecoded(chair.page, memberSeenByChair.mid);
    assert.ok(again > memberSeenByChair.frames, 'the chair goes on decoding the member');

    // 5. The member is away longer than its seat is kept: a fresh join when it comes back.
    //    Its join tokens are refused meanwhile, so no reconnect can slip through before the
    //    seat is given up (Chromium's offline emulation does not stop every connection).
    //    The signaling socket is closed before the page goes offline: offline, the close
    //    frame may never leave, and the gateway would find the socket dead only by its ping
    //    (25 s + 10 s), longer than this step waits.
    const noToken = (route) => route.abort('internetdisconnected');
    await member.page.route('**/video/join-token', noToken);
    await member.page.evaluate(() => {
      for (const ws of window.__sockets) if (ws.url.includes('/video/signal') && ws.readyState <= 1) ws.close();
    });
    await member.context.setOffline(true);
    await until(
      observer.page,
      (id) => document.querySelector(`[data-testid="video-peer"][data-participant-id="${id}"]`) === null,
      memberId,
      'the service to give up the member\'s seat after its grace period (the observer sees it leave)',
    );
    await member.page.unroute('**/video/join-token', noToken);
    await member.context.setOffline(false);
    await until(
      member.page,
      (old) => {
        const r = document.querySelector('[data-testid="video-room"]');
        return r?.dataset.phase === 'connected' && r.dataset.media === 'connected' && r.dataset.participantId !== '' && r.dataset.participantId !== old;
      },
      memberId,
      'the member joined afresh as a new participant',
    );
    const memberAgainId = await member.page.getAttribute('[data-testid="video-room"]', 'data-participant-id');
    await decodes(observer.page, 'the observer', memberAgainId, 'the member (joined afresh)');
    await decodes(member.page, 'the member (joined afresh)', chairId, 'the chair');
    await shot(t, member.page, 'member-joined-afresh-portrait');

    // 6. The chair leaves; the member sees it go.
    await chair.page.click('[data-testid="video-leave"]');
    await waitFor(chair.page, '[data-testid="video-ended"][data-reason="LEFT"]', 'the chair out of the room', UI_TIMEOUT_MS);
    await until(
      member.page,
      (id) => document.querySelector(`[data-testid="video-peer"][data-participant-id="${id}"]`) === null,
      chairId,
      'the chair gone from the member\'s page',
      UI_TIMEOUT_MS,
    );
    await shot(t, member.page, 'member-after-chair-left-portrait');
    // 7. View size: the observer shows the member's simulcast camera small, and the service
    //    sends it the half picture (the smallest layer at least as tall as the tile); shown
    //    large, the full picture again. The page reports its tiles' heights (ViewSize).
    const memberCam = await decodes(observer.page, 'the observer', memberAgainId, 'the member');
    const memberVideo = `[data-testid="video-tile"][data-participant-id="${memberAgainId}"][data-source="camera"] video`;
    // Through the element's style (the page's CSP refuses a style sheet from outside).
    const setHeight = (px) =>
      observer.page.$eval(memberVideo, (el, px) => el.style.setProperty('height', `${px}px`, 'important'), px);
    const observerGets = (rid, what) => decodesLayer(observer.page, 'the observer', memberCam.mid, member.page, rid, what);
    await observerGets('f', 'once its tile is the only one (the width of the page)');
    await setHeight(60);
    await observerGets('h', 'once its tile is 60 px tall');
    await shot(t, observer.page, 'observer-member-thumbnail-portrait');
    await setHeight(600);
    await observerGets('f', 'once its tile is 600 px tall');
    for (const tab of tabs) expectClean(tab);
  } catch (err) {
    for (const tab of tabs) {
      const file = `${ARTIFACTS}failure-${tab.label}.png`;
      await tab.page.screenshot({ path: file, fullPage: true }).catch(() => {});
      err.message += `\n  ${tab.label}: ${tab.page.url()} (screenshot ${file})`;
    }
    throw err;
  }
});
