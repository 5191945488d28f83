// Prints the figures recorded in docs/benchmarks.md ("TypeScript client"):
//  1. bundle sizes, minified and gzipped: each entry bundled by esbuild for the browser (ES2020, minify),
//     once with pusher-js left out (what this package adds) and once with it in (what a page ships);
//     React is always left out (the app has it).
//  2. recovery time: a client on the real local stack (started here on free ports) is disconnected,
//     20 events are published, and it reconnects: time from connect() to pusher:subscription_succeeded
//     (pusher-js alone, the baseline in the same run) and to the 20th missed event delivered.
// Run: `make js-measure`, or `npm run build && npm run measure` in clients/js. RUNS=n sets the repetitions.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import Pusher from 'pusher-js';
import { ToolBoxAIPusher } from '../dist/index.js';
import { mintToken, startStack, trigger } from './local-stack.mjs';

const RUNS = Number(process.env.RUNS ?? 7);

const DIST = new URL('../dist/', import.meta.url).pathname;

/** Minified and gzipped bytes of a bundle of `code` (an ES module importing the entries to measure). */
async function bundleSize(code, external) {
  const result = await build({
    stdin: { contents: code, resolveDir: DIST, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    external,
    logLevel: 'silent',
  });
  const bytes = result.outputFiles[0].contents;
  return { min: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

function kb(n) {
  return `${(n / 1024).toFixed(1)} KiB`;
}

async function sizes() {
  const core = "export * from './index.js';";
  const react = "export * from './react/index.js';";
  const rows = [
    ['core (pusher-js external)', core, ['pusher-js']],
    ['react entry alone', react, ['pusher-js', 'react']],
    ['core + react entry (pusher-js external)', core + react, ['pusher-js', 'react']],
    ['core + react entry + pusher-js', core + react, ['react']],
    ['pusher-js alone (baseline)', "export { default } from 'pusher-js';", []],
  ];
  console.log('bundle sizes (esbuild --bundle --minify, browser, es2020; gzip -9; react always external)');
  for (const [name, code, external] of rows) {
    const { min, gzip } = await bundleSize(code, external);
    console.log(`  ${name.padEnd(42)} minified ${kb(min).padStart(10)}   gzipped ${kb(gzip).padStart(9)}`);
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function recovery() {
  Pusher.log = () => {};
  const stack = await startStack();
  try {
    const user = `bench${Date.now().toString(36)}`;
    const jwt = await mintToken(stack.env, { sub: user });
    const admin = await mintToken(stack.env, { sub: 'bench-admin', role: 'admin' });
    const channelName = `private-user-${user}`;
    const toSubscribed = [];
    const toLast = [];
    for (let run = 0; run < RUNS; run += 1) {
      const client = new ToolBoxAIPusher({
        key: stack.env.PUSHER_KEY,
        cluster: 'mt1',
        wsHost: '127.0.0.1',
        wsPort: Number(stack.env.PUSHER_PORT),
        forceTLS: false,
        authEndpoint: `${stack.base}/pusher/auth`,
        authHeaders: { Authorization: `Bearer ${jwt}` },
        apiBase: stack.base,
      });
      const channel = client.subscribeToPrivate(`user-${user}`);
      const got = [];
      let subscribedAt = 0;
      let waiters = [];
      const check = () => (waiters = waiters.filter((w) => !w()));
      channel.bind('personal_notification', (d) => {
        got.push(d);
        check();
      });
      channel.bind('pusher:subscription_succeeded', () => {
        subscribedAt = performance.now();
        check();
      });
      const until = (predicate) => new Promise((resolve) => {
        const w = () => (predicate() ? (resolve(), true) : false);
        if (!w()) waiters.push(w);
      });
      await until(() => subscribedAt > 0);
      await trigger(stack.base, admin, { channel: channelName, event: 'personal_notification', data: { type: 'message', title: 'warm', message: 'up' } });
      await until(() => got.length === 1);
      client.pusher.disconnect();
      for (let n = 0; n < 20; n += 1) {
        await trigger(stack.base, admin, { channel: channelName, event: 'personal_notification', data: { type: 'message', title: `#${n}`, message: 'missed' } });
      }
      subscribedAt = 0;
      const started = performance.now();
      client.pusher.connect();
      await Promise.race([until(() => got.length === 21), new Promise((_, reject) => setTimeout(() => reject(new Error(`run ${run}: ${got.length - 1} of 20 missed events after 30 s`)), 30_000))]);
      toSubscribed.push(subscribedAt - started);
      toLast.push(performance.now() - started);
      client.disconnect();
    }
    const sub = median(toSubscribed);
    const last = median(toLast);
    console.log(`recovery of 20 missed events (local stack, ${RUNS} runs, median)`);
    console.log(`  connect() -> pusher:subscription_succeeded (pusher-js baseline)  ${sub.toFixed(1)} ms`);
    console.log(`  connect() -> 20th missed event delivered                        ${last.toFixed(1)} ms`);
    console.log(`  catch-up after re-subscription (history read + delivery)        ${(last - sub).toFixed(1)} ms  (x${(last / sub).toFixed(2)} the baseline)`);
    console.log(`  all runs, ms to last event: ${toLast.map((v) => v.toFixed(0)).join(' ')}`);
  } finally {
    await stack.stop();
  }
}

await sizes();
if (!process.argv.includes('--sizes-only')) await recovery();
