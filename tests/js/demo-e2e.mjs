// Drives the example apps' demo page end to end in headless Chromium (Debian's /usr/bin/chromium,
// through playwright-core pinned by package-lock.json). The app must run in emulator mode.
//
//   node demo-e2e.mjs <app-base-url> <screenshot-path>
//
// Steps: logged out, "Get a Beams Token" shows the auth route's 401; log in as `zoë +test`; wait
// until the device is registered and linked, the token's claims are shown and the live stream is
// connected; "Notify me"; wait until the notification is listed and its delivery report (from the
// emulator's webhooks to the app) says "delivered to 1 device(s)" and "acknowledged"; press Open
// and wait for "opened"; full-page screenshot.
// Success: exit 0 and one JSON summary on stdout. Failure: exit 1 and a message on stderr with the
// page's console errors, failed requests and visible text (plus a screenshot next to the asked one,
// `*.failed.png`). Every step is bounded (STEP_MS) and so is the whole run (TOTAL_MS).
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CHROMIUM = '/usr/bin/chromium';
const STEP_MS = 15_000;
const TOTAL_MS = 120_000;
const USER = 'zoë +test';
const TITLE = 'Hello, zoë!';
const BODY = 'Sent by POST /notify, delivered here live.';
const NOT_LOGGED_IN =
  'Unexpected status code 401: Unauthorized, You must be logged in to get a Beams Token.';

const [baseArg, screenshot] = process.argv.slice(2);
if (!baseArg || !screenshot) {
  console.error('usage: node demo-e2e.mjs <app-base-url> <screenshot-path>');
  process.exit(2);
}
const base = baseArg.replace(/\/$/, '');
const failedScreenshot = screenshot.replace(/(\.png)?$/, '.failed.png');

function die(message) {
  console.error(`demo-e2e: ${message}`);
  process.exit(1);
}

if (!existsSync(CHROMIUM)) {
  die(`${CHROMIUM} is missing: install Debian's chromium (run ./scripts/test.sh, which does it)`);
}
// playwright-core comes from $BEAMS_TEST_NODE_DIR/node_modules (default: next to this script).
const nodeDir = process.env.BEAMS_TEST_NODE_DIR || dirname(fileURLToPath(import.meta.url));
let chromium;
try {
  const entry = createRequire(join(nodeDir, 'package.json')).resolve('playwright-core');
  const playwright = await import(pathToFileURL(entry).href);
  chromium = playwright.chromium ?? playwright.default?.chromium;
  if (!chromium) throw new Error(`${entry} has no chromium export`);
} catch (error) {
  die(`cannot load playwright-core from ${nodeDir}/node_modules (${error.message}): run ./scripts/test.sh (it runs npm ci in tests/js)`);
}

// Never hang: whatever happens, the process ends within TOTAL_MS.
const watchdog = setTimeout(() => {
  console.error(`demo-e2e: FAILED: the whole run took more than ${TOTAL_MS} ms`);
  process.exit(1);
}, TOTAL_MS);

const started = Date.now();
const timings = {};
const consoleErrors = [];
const pageErrors = [];
const failedRequests = [];
const authRequests = [];
let step = 'launching chromium';
let lastMark = started;

function mark(name) {
  const now = Date.now();
  timings[name] = now - lastMark;
  lastMark = now;
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const userDataDir = mkdtempSync(join(tmpdir(), 'beams-demo-e2e-'));
let context;
let page;
let summary;
let failure;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    viewport: { width: 1000, height: 800 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  mark('launch');
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(STEP_MS);
  page.setDefaultNavigationTimeout(STEP_MS);
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`${msg.text()} (${msg.location().url || 'page'})`);
  });
  page.on('pageerror', (error) => pageErrors.push(String(error.stack || error)));
  page.on('requestfailed', (req) => {
    // Closing the page aborts the live stream; that is not a failure.
    if (step !== 'done') failedRequests.push(`${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) failedRequests.push(`${res.request().method()} ${res.url()}: HTTP ${res.status()}`);
  });
  page.on('request', async (req) => {
    if (new URL(req.url()).pathname === '/pusher/beams-auth') {
      authRequests.push({ url: req.url(), method: req.method(), headers: await req.allHeaders().catch(() => ({})) });
    }
  });

  step = 'loading the page';
  await page.goto(base + '/', { waitUntil: 'load' });
  await page.locator('#login-form').waitFor({ state: 'visible' });
  const modeLine = await page.locator('#mode-line').innerText();
  check(modeLine.startsWith('Emulator mode'), `the app is not in emulator mode: ${JSON.stringify(modeLine)}`);
  check(await page.locator('#notify-button').isDisabled(), '"Notify me" is enabled while logged out');
  mark('page');

  step = 'logged out: "Get a Beams Token" shows the 401';
  await page.locator('#token-button').click();
  const tokenError = page.locator('#token-error');
  await tokenError.waitFor({ state: 'visible' });
  await page.waitForFunction(() => !document.getElementById('token-button').disabled);
  const loggedOutError = (await tokenError.innerText()).trim();
  check(loggedOutError === NOT_LOGGED_IN, `expected ${JSON.stringify(NOT_LOGGED_IN)}, the page shows ${JSON.stringify(loggedOutError)}`);
  check(await page.locator('#token-details').isHidden(), 'token claims are shown while logged out');
  check(authRequests.length === 1, `expected one auth request, saw ${authRequests.length}`);
  check(new URL(authRequests[0].url).search === '?user_id=anonymous', `logged-out auth request was ${authRequests[0].url}`);
  // The expected 401 is not a failure.
  failedRequests.length = 0;
  consoleErrors.length = 0;
  mark('loggedOut401');

  step = `logging in as ${JSON.stringify(USER)}`;
  await page.locator('#username').fill(USER);
  await page.locator('#login-button').click();
  await page.locator('#logged-in').waitFor({ state: 'visible' });
  const shownUser = await page.locator('#current-user').innerText();
  check(shownUser === USER, `the page says it is logged in as ${JSON.stringify(shownUser)}`);
  check(await tokenError.isHidden(), 'the 401 is still shown after logging in');
  mark('login');

  step = 'waiting for the token claims, the registered device and the live stream';
  await page.locator('#token-details').waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.getElementById('device-status').dataset.deviceId);
  await page.waitForFunction(() => document.getElementById('stream-status').dataset.state === 'connected');
  const visibleError = (await tokenError.isVisible()) ? await tokenError.innerText() : null;
  check(!visibleError, `the page shows an error: ${visibleError}`);
  const claims = JSON.parse(await page.locator('#token-claims').innerText());
  check(claims.sub === USER, `token claims' sub is ${JSON.stringify(claims.sub)}, expected ${JSON.stringify(USER)}`);
  check(typeof claims.exp === 'number' && claims.exp * 1000 > Date.now(), `token expiry ${claims.exp} is not in the future`);
  const deviceId = await page.locator('#device-status').getAttribute('data-device-id');
  const tokenRequest = authRequests.at(-1);
  check(authRequests.length === 2, `expected a second auth request after login, saw ${authRequests.length}`);
  const expectedSearch = '?user_id=' + encodeURIComponent(USER);
  check(new URL(tokenRequest.url).search === expectedSearch, `token request was ${tokenRequest.url}, expected the query ${expectedSearch}`);
  check(tokenRequest.method === 'GET', `token request used ${tokenRequest.method}`);
  check(Boolean(tokenRequest.headers.cookie), 'the token request carried no session cookie (credentials: same-origin)');
  mark('deviceLinkedAndStreaming');

  step = 'pressing "Notify me"';
  await page.locator('#notify-title').fill(TITLE);
  await page.locator('#notify-body').fill(BODY);
  const notifyButton = page.locator('#notify-button');
  await page.waitForFunction(() => !document.getElementById('notify-button').disabled);
  await notifyButton.click();
  await page.waitForFunction(() => {
    const s = document.getElementById('notify-status');
    return s.textContent.startsWith('Published: ') || s.className === 'error';
  });
  const notifyStatus = await page.locator('#notify-status').innerText();
  check(notifyStatus.startsWith('Published: '), `publishing failed: ${notifyStatus}`);
  const publishId = notifyStatus.slice('Published: '.length).trim();
  mark('publish');

  step = 'waiting for the notification to be listed';
  const item = page.locator('#notifications li.notification', { hasText: publishId });
  await item.waitFor({ state: 'visible' });
  const shown = {
    title: await item.locator('.title').innerText(),
    body: await item.locator('.body').innerText(),
  };
  check(shown.title === TITLE && shown.body === BODY, `the listed notification is ${JSON.stringify(shown)}`);
  const count = await page.locator('#notifications li.notification').count();
  check(count === 1, `expected one listed notification, found ${count}`);
  check(await page.locator('#empty-note').isHidden(), '"No notifications yet." is still shown');
  mark('delivered');

  step = 'waiting for the delivery report: delivered and acknowledged (webhooks)';
  const reportItem = page.locator('#reports li.report', { hasText: publishId });
  await reportItem.waitFor({ state: 'visible' });
  await page.waitForFunction((id) => {
    const li = document.querySelector(`#reports li.report[data-publish-id="${id}"]`);
    return li && li.querySelector('.attempt').textContent === 'delivered to 1 device(s)'
      && li.querySelector('.ack').textContent === 'acknowledged';
  }, publishId);
  mark('reportDeliveredAcknowledged');

  step = 'pressing Open and waiting for "opened" (webhooks)';
  await item.locator('button.open').click();
  await page.waitForFunction((id) => {
    const li = document.querySelector(`#reports li.report[data-publish-id="${id}"]`);
    return li && li.querySelector('.opened').textContent === 'opened';
  }, publishId);
  const reportShown = {
    attempt: await reportItem.locator('.attempt').innerText(),
    acknowledged: await reportItem.locator('.ack').innerText(),
    opened: await reportItem.locator('.opened').innerText(),
  };
  mark('reportOpened');

  step = 'taking the screenshot';
  await page.screenshot({ path: screenshot, fullPage: true, timeout: STEP_MS });
  check(statSync(screenshot).size > 0, 'the screenshot is empty');
  rmSync(failedScreenshot, { force: true });
  mark('screenshot');

  check(pageErrors.length === 0, `uncaught errors in the page: ${pageErrors.join(' | ')}`);
  check(failedRequests.length === 0, `failed requests after login: ${failedRequests.join(' | ')}`);
  check(consoleErrors.length === 0, `console errors after login: ${consoleErrors.join(' | ')}`);
  step = 'done';
  summary = {
    ok: true,
    base,
    loggedOutError,
    user: shownUser,
    tokenRequest: tokenRequest.url.slice(base.length),
    claims,
    deviceId,
    streamState: 'connected',
    publishId,
    notification: shown,
    report: reportShown,
    screenshot,
    timingsMs: { ...timings, total: Date.now() - started },
  };
} catch (error) {
  failure = error instanceof Error ? error : new Error(String(error));
  failure.step = step;
  if (page && !page.isClosed()) {
    await page.screenshot({ path: failedScreenshot, fullPage: true, timeout: 5_000 }).then(
      () => { failure.screenshot = failedScreenshot; },
      () => {},
    );
    failure.pageText = await page.locator('body').innerText({ timeout: 2_000 }).catch(() => '(unavailable)');
  }
} finally {
  step = 'done';
  // Closing must not hang either.
  await Promise.race([context?.close(), new Promise((r) => setTimeout(r, 10_000))]).catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
  clearTimeout(watchdog);
}

if (failure) {
  const lines = [
    `FAILED while ${failure.step}: ${failure.message}`,
    `console errors: ${consoleErrors.length ? consoleErrors.join('\n  ') : 'none'}`,
    `uncaught page errors: ${pageErrors.length ? pageErrors.join('\n  ') : 'none'}`,
    `failed requests: ${failedRequests.length ? failedRequests.join('\n  ') : 'none'}`,
    `auth requests: ${authRequests.map((r) => r.url).join(', ') || 'none'}`,
    `timings (ms): ${JSON.stringify(timings)}`,
  ];
  if (failure.screenshot) lines.push(`screenshot: ${failure.screenshot}`);
  if (failure.pageText) lines.push(`page text:\n${failure.pageText}`);
  die(lines.join('\n'));
}
console.log(JSON.stringify(summary));
process.exit(0);
