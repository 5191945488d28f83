// The real local stack (moto, soketi, the gateway: `python -m local_stack` at the repository root) on
// free ports, as tests/e2e/conftest.py starts it; plus dev tokens and triggers against it. Used by the
// e2e tests (test/e2e/global-setup.ts) and by scripts/measure.mjs.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root, with a trailing slash. (From a string, not `new URL(…)`: under jsdom the global
 * URL is jsdom's, which node:url's fileURLToPath refuses.)
 */
export function repoRoot() {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../..') + sep;
}

function python() {
  return process.env.REALTIME_PYTHON ?? `${repoRoot()}.venv/bin/python`;
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The local defaults (local_stack/config.py LOCAL_DEFAULTS): one source for the key, secrets and JWT key. */
export function localDefaults() {
  const code = 'import json; from local_stack.config import LOCAL_DEFAULTS; print(json.dumps(LOCAL_DEFAULTS))';
  return JSON.parse(execFileSync(python(), ['-c', code], { cwd: repoRoot(), encoding: 'utf8' }));
}

/**
 * Starts the stack and resolves when it prints its ready line (GET /health answered 200).
 * @returns {Promise<{env: Record<string,string>, base: string, stop: () => Promise<number|null>, output: string[]}>}
 */
export async function startStack({ timeoutMs = 90_000, extraEnv = {} } = {}) {
  const env = { ...process.env };
  delete env.AWS_ENDPOINT_URL_DYNAMODB;
  Object.assign(env, localDefaults(), {
    REALTIME_PORT: String(await freePort()),
    PUSHER_PORT: String(await freePort()),
    DYNAMODB_PORT: String(await freePort()),
    SOKETI_METRICS_PORT: String(await freePort()),
    POWERTOOLS_METRICS_DISABLED: 'true',
    AUTH_RATE_LIMIT_PER_MINUTE: '1000',
    ...extraEnv,
  });
  const proc = spawn(python(), ['-m', 'local_stack'], { cwd: repoRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  const base = `http://127.0.0.1:${env.REALTIME_PORT}`;
  const stop = () =>
    new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve(proc.exitCode);
      const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      proc.once('exit', (code) => {
        clearTimeout(killer);
        resolve(code);
      });
      proc.kill('SIGTERM');
    });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail('did not become ready in time'), timeoutMs);
    function fail(why) {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`local stack ${why}:\n${output.slice(-40).join('')}`));
    }
    const onData = (chunk) => {
      const text = String(chunk);
      output.push(text);
      if (output.length > 400) output.splice(0, output.length - 400);
      if (text.includes('ready:')) {
        clearTimeout(timer);
        resolve(undefined);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => fail(`exited with ${code}`));
  });
  return { env, base, stop, output };
}

/**
 * A dev token from the project's own minting tool (`make token`, local_stack/token.py), signed with the
 * stack's JWT_SECRET (the claims of CONTRACT.md "Bearer tokens"). ~0.5 s a token (a Python start).
 * @param {Record<string, string>} env the stack's environment
 * @param {{sub: string, role?: 'student'|'teacher'|'admin', name?: string, classIds?: string[],
 *   lessonIds?: string[], scopes?: string[], ttl?: number}} claims
 * @returns {Promise<string>}
 */
export function mintToken(env, { sub, role = 'student', name, classIds = [], lessonIds = [], scopes = [], ttl = 3600 }) {
  const args = ['-m', 'local_stack.token', '--sub', sub, '--role', role, '--ttl', String(ttl)];
  if (name) args.push('--name', name);
  for (const id of classIds) args.push('--class', id);
  for (const id of lessonIds) args.push('--lesson', id);
  for (const scope of scopes) args.push('--scope', scope);
  return new Promise((resolve, reject) => {
    execFile(
      python(),
      args,
      { cwd: repoRoot(), env: { ...process.env, ...env, PYTHONPATH: `${repoRoot()}layers/shared` }, encoding: 'utf8' },
      (error, stdout, stderr) => (error ? reject(new Error(`make token failed: ${stderr}`)) : resolve(stdout.trim())),
    );
  });
}

/**
 * POST /realtime/trigger with a service token; resolves to the parsed answer, throws on non-200.
 * @param {string} base @param {string} token @param {Record<string, unknown>} body
 * @returns {Promise<Record<string, unknown>>}
 */
export async function trigger(base, token, body) {
  const response = await fetch(`${base}/realtime/trigger`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (response.status !== 200) throw new Error(`trigger answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}
