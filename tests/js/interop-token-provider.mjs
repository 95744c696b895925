// Drives the official web SDK's TokenProvider (@pusher/push-notifications-web 2.1.0, pinned in
// package-lock.json) from Node 20, with Node's global fetch standing in for the browser's.
//
// stdin:  [{"url": "<absolute auth URL>", "userId": "...",
//           "options": {"queryParams": {...}, "headers": {...}, "credentials": "..."}}, ...]
//         `options` is passed to `new TokenProvider({url, ...options})` as it is.
// stdout: one entry per case, in order:
//         {"ok": true,  "value": <what fetchToken resolved to>, "requests": [...]}
//         {"ok": false, "error": "<the Error's message>",     "requests": [...]}
//         where `requests` lists what the SDK handed to fetch: {url, headers, credentials}.
//
// Loading the SDK in Node: the package's `main` (dist/push-notifications-esm.js) is an ES
// module in a package without "type": "module". Node >= 20.19 detects the ES syntax and
// imports it; older Node 20 releases (or --no-experimental-detect-module) load it as CommonJS
// and fail (SyntaxError, or ERR_REQUIRE_CYCLE_MODULE on 20.19+), and then the same file is
// imported from a data: URL (it has no imports of its own). TokenProvider touches no browser global
// (window, navigator, indexedDB, service workers are only used by Client), so nothing else is
// shimmed. How the module was loaded is printed on stderr.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

async function loadWebSdk() {
  try {
    const sdk = await import('@pusher/push-notifications-web');
    return { sdk, via: 'import' };
  } catch (e) {
    const file = createRequire(import.meta.url).resolve('@pusher/push-notifications-web');
    const source = readFileSync(file);
    const sdk = await import(`data:text/javascript;base64,${source.toString('base64')}`);
    return { sdk, via: `a data: URL (the plain import failed: ${e.code ?? e.name}: ${e.message.split('\n')[0]})` };
  }
}

const { sdk, via } = await loadWebSdk();
process.stderr.write(`@pusher/push-notifications-web loaded via ${via}\n`);
const { TokenProvider } = sdk;
if (typeof TokenProvider !== 'function') {
  throw new Error('@pusher/push-notifications-web exports no TokenProvider');
}

// Observe (not alter) what the SDK asks fetch for.
const realFetch = globalThis.fetch;
let requests = [];
globalThis.fetch = (resource, init = {}) => {
  requests.push({
    url: String(resource),
    headers: init.headers ?? {},
    credentials: init.credentials ?? null,
  });
  return realFetch(resource, init);
};

const cases = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const { url, userId, options } of cases) {
  requests = [];
  const provider = new TokenProvider({ url, ...(options ?? {}) });
  try {
    const value = await provider.fetchToken(userId);
    results.push({ ok: true, value, requests });
  } catch (e) {
    results.push({ ok: false, error: String(e && e.message ? e.message : e), requests });
  }
}
process.stdout.write(JSON.stringify(results));
