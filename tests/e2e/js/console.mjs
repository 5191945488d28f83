// Drives the debug console (/console) in headless Chromium with playwright-core, as a developer would:
// mint a token, connect, subscribe to a private and a presence channel, trigger an event from the form,
// see it arrive, trigger an invalid one and see the validation error; then a screenshot.
//
// Input: one JSON object in argv[2] {base, chromium, screenshot, sub, classId, marker}.
// Output: one JSON line on stdout with what the page showed (the Python test asserts on it).
import { chromium } from 'playwright-core';

const args = JSON.parse(process.argv[2]);
const TIMEOUT = 15000;
// Debian's Chromium on a closed network: no background services, no sandbox (CI runs as root).
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: FLAGS });
const out = { pageErrors: [], consoleErrors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (err) => out.pageErrors.push(String(err)));
  page.on('console', (msg) => { if (msg.type() === 'error') out.consoleErrors.push(msg.text()); });
  const byId = (id) => page.getByTestId(id);

  await page.goto(`${args.base}/console`);
  await page.waitForSelector('body[data-ready="true"]');

  // 1. Mint a dev token (admin, member of one class).
  await byId('mint-sub').fill(args.sub);
  await byId('mint-name').fill('Console E2E');
  await byId('mint-role').selectOption('admin');
  await byId('mint-classes').fill(args.classId);
  await byId('mint').click();
  await page.waitForFunction(() => document.getElementById('token').value.split('.').length === 3);
  out.claims = await byId('claims').textContent();

  // 2. Connect pusher-js to soketi.
  await byId('connect').click();
  await page.waitForFunction(() => document.getElementById('state').textContent === 'connected');
  out.socketId = await byId('socket-id').textContent();

  // 3. Subscribe to the user's private channel and the class's presence channel.
  const privateChannel = `private-user-${args.sub}`;
  const presenceChannel = `presence-classroom-${args.classId}`;
  for (const name of [privateChannel, presenceChannel]) {
    await byId('channel-name').fill(name);
    await byId('subscribe').click();
    await page.waitForSelector(`#subscriptions li[data-channel="${name}"][data-status="subscribed"]`);
  }
  await page.waitForSelector(`[data-members-of="${presenceChannel}"] li[data-member="${args.sub}"]`);
  out.members = await page.locator(`[data-members-of="${presenceChannel}"]`).innerText();
  out.subscriptions = await byId('subscriptions').innerText();

  // 4. Trigger a catalogued event from the form; it must show up in the live event list.
  await byId('trigger-channel').fill(privateChannel);
  await byId('trigger-event').selectOption('personal_notification');
  out.prefilled = JSON.parse(await byId('trigger-data').inputValue());
  await byId('trigger-data').fill(JSON.stringify({
    type: 'message', title: 'Hello from the console', message: args.marker,
  }));
  await byId('trigger').click();
  await page.waitForSelector('#trigger-result [data-ok="true"]');
  out.triggerResult = await byId('trigger-result').innerText();
  const row = page.locator(`#events tr[data-channel="${privateChannel}"][data-event="personal_notification"]`);
  await row.filter({ hasText: args.marker }).first().waitFor();
  out.eventRow = await row.first().innerText();

  // 5. An invalid event: the form shows the validation error, status and details.
  await byId('trigger-data').fill(JSON.stringify({ type: 'not-a-type', message: '' }));
  await byId('trigger').click();
  await page.waitForSelector('#trigger-result [data-ok="false"]');
  out.validationError = await byId('trigger-result').innerText();

  // Show the valid event again at the top of the result box for the screenshot's sake.
  await page.screenshot({ path: args.screenshot, fullPage: true });
  out.ok = true;
} catch (err) {
  out.ok = false;
  out.error = String(err && err.stack ? err.stack : err);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
