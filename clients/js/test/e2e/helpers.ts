import Pusher from 'pusher-js';
import { inject } from 'vitest';
import { mintToken, trigger } from '../../scripts/local-stack.mjs';
import { ToolBoxAIPusher, type ToolBoxAIPusherConfig } from '../../src/index.js';

// pusher-js logs through Pusher.log; keep the test output clean (and the lines, for failures).
export const pusherLog: string[] = [];
Pusher.log = (message: unknown) => {
  pusherLog.push(String(message));
};

export const stack = inject('stack');

let counter = 0;
/** A fresh id, so that tests never share channels or users. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

export function token(claims: Parameters<typeof mintToken>[1]): Promise<string> {
  return mintToken(stack.env, claims);
}

export async function adminToken(): Promise<string> {
  return token({ sub: 'e2e-admin', role: 'admin' });
}

export function publish(adminJwt: string, channel: string, event: string, data: Record<string, unknown>) {
  return trigger(stack.base, adminJwt, { channel, event, data });
}

/** A ToolBoxAIPusher configured against the test stack as the README says for `make dev`. */
export function connect(jwt: string | (() => string) | undefined, extra: Partial<ToolBoxAIPusherConfig> = {}) {
  const headers: Record<string, string> | (() => Record<string, string>) =
    typeof jwt === 'function' ? () => ({ Authorization: `Bearer ${jwt()}` }) : jwt ? { Authorization: `Bearer ${jwt}` } : {};
  return new ToolBoxAIPusher({
    key: stack.env['PUSHER_KEY'] as string,
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: Number(stack.env['PUSHER_PORT']),
    forceTLS: false,
    authEndpoint: `${stack.base}/pusher/auth`,
    authHeaders: headers,
    apiBase: stack.base,
    historyRetryDelaysMs: [200, 500],
    ...extra,
  });
}

/** Resolves when `predicate` holds (checked every 20 ms), rejects after `timeoutMs` with `what`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${pusherLog.slice(-10).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves at the channel's next pusher:subscription_succeeded. */
export function subscribed(channel: { bind: (e: string, cb: () => void) => unknown; unbind: (e: string, cb: () => void) => unknown }) {
  return new Promise<void>((resolve) => {
    const done = () => {
      channel.unbind('pusher:subscription_succeeded', done);
      resolve();
    };
    channel.bind('pusher:subscription_succeeded', done);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
