// A front end on its own dev server calls the local API from another origin, in headless Chromium:
// the page is served as http://localhost:3000 (an allowed origin) and as http://localhost:4999 (not
// allowed) by a loopback server of the test, which Chromium reaches under those names
// (--host-resolver-rules: a page intercepted in the browser would have no address, and Chromium's
// local network access check would refuse its requests to loopback), and from each it makes a pusher-js-style authorization request
// (form body, bearer token: a preflighted request) and a simple GET.
//
// Input: one JSON object in argv[2] {base, chromium, token, channel, pagePort}.
// Output: one JSON line on stdout {allowed: {...}, refused: {...}} with what fetch() saw on each page.
import { chromium } from 'playwright-core';

const args = JSON.parse(process.argv[2]);
const FLAGS = [
  `--host-resolver-rules=MAP localhost:3000 127.0.0.1:${args.pagePort}, MAP localhost:4999 127.0.0.1:${args.pagePort}`,
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function fromOrigin(browser, origin) {
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  const consoleErrors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  await page.goto(`${origin}/`);
  const result = await page.evaluate(async ({ base, token, channel }) => {
    const out = {};
    try {
      const resp = await fetch(`${base}/pusher/auth`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `socket_id=123.456&channel_name=${channel}`,
      });
      out.auth = { status: resp.status, body: await resp.json(), requestId: resp.headers.get('apigw-requestid') };
    } catch (err) {
      out.auth = { error: String(err) };
    }
    try {
      const resp = await fetch(`${base}/realtime/channels`);
      out.get = { status: resp.status, body: await resp.json(), retryAfterVisible: resp.headers.has('apigw-requestid') };
    } catch (err) {
      out.get = { error: String(err) };
    }
    return out;
  }, args);
  await page.close();
  return { ...result, consoleErrors };
}

const browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: FLAGS });
try {
  const allowed = await fromOrigin(browser, 'http://localhost:3000');
  const refused = await fromOrigin(browser, 'http://localhost:4999');
  console.log(JSON.stringify({ allowed, refused }));
} finally {
  await browser.close();
}
