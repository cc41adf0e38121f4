// Browser tests of the web app against a running suite: playwright-core drives the
// machine's Chromium at the two tablet sizes we support and keeps screenshots in
// ./artifacts.
//
//   BASE_URL=http://127.0.0.1:8080 node run.mjs      (or: npm test)
//
//   health.mjs   the system-health page, in Vietnamese and English (no sign-in needed)
//   meeting.mjs  the meeting day on three tablets, against the demo data
//                (`ecabinet -load-demo` must have run against the suite's database)
//   voting.mjs   a secret motion on four tablets: the ballot shown live, a receipt kept
//                across a dropped connection, the result and each receipt verified, the
//                result in the minutes (needs DEMO_ADMIN to give two more members logins)
//   reader.mjs   an agenda paper in the reader: the first page, a private note on two
//                tablets, following the presenter, reading on with the network cut
//   minutes.mjs  the minutes (written, a conflict merged, submitted, approved, the PDF)
//                and the tasks from their conclusions, on the same demo meeting
//
// Environment:
//   BASE_URL          the gateway (required; loopback only, as all our test traffic)
//   CHROMIUM_PATH     the browser (default /usr/bin/chromium: `apt-get install -y chromium`)
//   READY_TIMEOUT_MS  how long the suite may take to become ready (default 60000)
//   DEMO_MINUTE_TAKER, DEMO_MEMBER, DEMO_OBSERVER, DEMO_CHAIR, DEMO_ADMIN
//                     demo logins as "username:password" (defaults: see meeting.mjs)
//   DEMO_MEETING_TITLE  which of today's meetings to run (default: the minute-taker's)
import { after } from 'node:test';
import { checkEnvironment, closeBrowser } from './lib.mjs';

checkEnvironment();
after(closeBrowser);

// One after the other: the meeting test changes the demo meeting's state, the voting test
// votes in it while it runs (the result must reach minutes not yet approved), and the
// minutes test carries on from where they leave it (or starts the meeting itself).
await import('./health.mjs');
await import('./meeting.mjs');
await import('./reader.mjs');
await import('./voting.mjs');
await import('./minutes.mjs');
