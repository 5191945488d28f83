import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('pusher-js', () => import('./fake-pusher.js'));

import FakePusher from './fake-pusher.js';
import { FakeHistory, settle } from './history-server.js';
import { ToolBoxAIPusher, type ToolBoxAIPusherConfig } from '../../src/index.js';
import { app } from '../fixtures/seed/app.js';
import { runDocumentationUsage } from '../fixtures/seed/usage.js';

const API = 'http://127.0.0.1:8008';

function makeClient(history: FakeHistory, extra: Partial<ToolBoxAIPusherConfig> = {}) {
  const client = new ToolBoxAIPusher({
    key: 'toolboxai-local-key',
    cluster: 'mt1',
    authEndpoint: `${API}/pusher/auth`,
    authHeaders: { Authorization: 'Bearer t' },
    apiBase: API,
    fetch: history.fetch,
    historyRetryDelaysMs: [0, 0],
    ...extra,
  });
  return { client, fake: FakePusher.latest() };
}

function progress(n: number) {
  return { content_id: 'c1', progress: n, stage: 'generating' };
}

beforeEach(() => {
  FakePusher.instances.length = 0;
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('configuration', () => {
  it('passes the documented and the local options to pusher-js under its own names', () => {
    const history = new FakeHistory();
    const { fake } = makeClient(history, { wsHost: '127.0.0.1', wsPort: 6001, forceTLS: false });
    expect(fake.key).toBe('toolboxai-local-key');
    expect(fake.options).toMatchObject({
      cluster: 'mt1',
      wsHost: '127.0.0.1',
      wsPort: 6001,
      wssPort: 6001,
      forceTLS: false,
      enabledTransports: ['ws', 'wss'],
      channelAuthorization: { endpoint: `${API}/pusher/auth`, transport: 'ajax', headers: { Authorization: 'Bearer t' } },
      userAuthentication: { endpoint: `${API}/pusher/user-auth`, transport: 'ajax' },
    });
  });

  it('reads authHeaders given as a function anew for every auth request (tokens expire)', () => {
    let token = 'first';
    const history = new FakeHistory();
    const { fake } = makeClient(history, { authHeaders: () => ({ Authorization: `Bearer ${token}` }) });
    const auth = fake.options['channelAuthorization'] as { headersProvider: () => Record<string, string>; headers?: unknown };
    const user = fake.options['userAuthentication'] as { headersProvider: () => Record<string, string> };
    expect(auth.headers).toBeUndefined();
    expect(auth.headersProvider()).toEqual({ Authorization: 'Bearer first' });
    token = 'second';
    expect(auth.headersProvider()).toEqual({ Authorization: 'Bearer second' });
    expect(user.headersProvider()).toEqual({ Authorization: 'Bearer second' });
  });

  it('uses userAuthEndpoint when given', () => {
    const { fake } = makeClient(new FakeHistory(), { userAuthEndpoint: 'https://api.example/pusher/user-auth' });
    expect(fake.options['userAuthentication']).toMatchObject({ endpoint: 'https://api.example/pusher/user-auth' });
  });
});

describe('the documented methods', () => {
  it('adds private- and presence- and returns the same channel for the same name', () => {
    const { client, fake } = makeClient(new FakeHistory());
    const a = client.subscribeToPrivate('user-5');
    expect(a.name).toBe('private-user-5');
    expect(client.subscribeToPrivate('user-5')).toBe(a);
    expect(client.subscribeToPresence('classroom-101').name).toBe('presence-classroom-101');
    expect(client.subscribeToPublic('content-generation').name).toBe('content-generation');
    expect([...fake.channels.keys()]).toEqual(['private-user-5', 'presence-classroom-101', 'content-generation']);
  });

  it('unsubscribe(fullName) and disconnect() reach pusher-js and forget the channels', () => {
    const { client, fake } = makeClient(new FakeHistory());
    const first = client.subscribeToPrivate('user-5');
    client.unsubscribe('private-user-5');
    expect(fake.unsubscribed).toEqual(['private-user-5']);
    client.unsubscribe('private-user-5'); // not subscribed any more: nothing sent
    expect(fake.unsubscribed).toEqual(['private-user-5']);
    expect(client.subscribeToPrivate('user-5')).not.toBe(first);
    client.disconnect();
    expect(fake.disconnected).toBe(true);
    expect(client.lastEventId('private-user-5')).toBeUndefined();
  });

  it('runs the documentation usage example unchanged', () => {
    process.env['VITE_PUSHER_KEY'] = 'doc-key';
    process.env['VITE_PUSHER_CLUSTER'] = 'eu';
    const seen: Record<string, unknown[]> = { progress: [], done: [], notes: [], online: [], added: [], removed: [] };
    vi.spyOn(app, 'updateProgressBar').mockImplementation((p) => seen['progress']!.push(p));
    vi.spyOn(app, 'showCompletionNotification').mockImplementation((d) => seen['done']!.push(d));
    vi.spyOn(app, 'showNotification').mockImplementation((d) => seen['notes']!.push(d));
    vi.spyOn(app, 'updateOnlineUsers').mockImplementation((m) => seen['online']!.push(m));
    vi.spyOn(app, 'addUserToList').mockImplementation((m) => seen['added']!.push(m));
    vi.spyOn(app, 'removeUserFromList').mockImplementation((m) => seen['removed']!.push(m));
    vi.spyOn(console, 'log').mockImplementation(() => {});

    const { classroomChannel } = runDocumentationUsage();
    const fake = FakePusher.latest();
    expect(fake.key).toBe('doc-key');
    expect(fake.options).toMatchObject({ cluster: 'eu', channelAuthorization: { headers: { Authorization: 'Bearer token-1' } } });

    fake.serverSubscribed('content-generation');
    fake.serverEvent('content-generation', 'progress_update', { ...progress(40), event_id: 'e1' });
    fake.serverEvent('content-generation', 'generation_completed', { ...progress(100), event_id: 'e2' });
    fake.serverSubscribed('private-user-12345');
    fake.serverEvent('private-user-12345', 'personal_notification', { type: 'message', title: 'Hi', message: 'm', event_id: 'e3' });
    fake.serverSubscribed('presence-classroom-101', { me: '12345', hash: { '12345': { name: 'Ada' } } });
    fake.serverEvent('presence-classroom-101', 'pusher_internal:member_added', { user_id: '7', user_info: { name: 'Bo' } });
    fake.serverEvent('presence-classroom-101', 'pusher_internal:member_removed', { user_id: '7' });

    expect(seen['progress']).toEqual([40]);
    expect(seen['done']).toEqual([{ ...progress(100), event_id: 'e2' }]);
    expect(seen['notes']).toEqual([{ type: 'message', title: 'Hi', message: 'm', event_id: 'e3' }]);
    expect(seen['online']).toEqual([classroomChannel.members]);
    expect(classroomChannel.members.count).toBe(1);
    expect(seen['added']).toEqual([{ id: '7', info: { name: 'Bo' } }]);
    expect(seen['removed']).toEqual([{ id: '7', info: { name: 'Bo' } }]);
  });
});

describe('exactly once', () => {
  it('hands an event_id delivered twice to the callbacks once', () => {
    const { client, fake } = makeClient(new FakeHistory(), { anchorOnSubscribe: false });
    const channel = client.subscribeToPublic('content-generation');
    const got: number[] = [];
    const globals: string[] = [];
    channel.bind('progress_update', (d) => got.push(d.progress));
    channel.bind_global((name) => globals.push(name));
    fake.serverSubscribed('content-generation');
    fake.serverEvent('content-generation', 'progress_update', { ...progress(10), event_id: 'A' });
    fake.serverEvent('content-generation', 'progress_update', { ...progress(10), event_id: 'A' });
    fake.serverEvent('content-generation', 'progress_update', { ...progress(20), event_id: 'B' });
    expect(got).toEqual([10, 20]);
    expect(globals).toEqual(['pusher:subscription_succeeded', 'progress_update', 'progress_update']);
    expect(client.deliveryStats('content-generation')).toMatchObject({ delivered: 2, duplicatesDropped: 1 });
  });

  it('remembers a bounded number of ids (the oldest are forgotten first)', () => {
    const { client, fake } = makeClient(new FakeHistory(), { anchorOnSubscribe: false, rememberIds: 2 });
    const channel = client.subscribeToPublic('content-generation');
    const got: string[] = [];
    channel.bind('progress_update', (d) => got.push(d.event_id));
    fake.serverSubscribed('content-generation');
    for (const id of ['A', 'B', 'C', 'C', 'B', 'A']) fake.serverEvent('content-generation', 'progress_update', { ...progress(1), event_id: id });
    // A fell out of the window of two ids: its late duplicate is delivered again.
    expect(got).toEqual(['A', 'B', 'C', 'A']);
  });

  it('passes events without an event_id through (client events carry none)', () => {
    const { client, fake } = makeClient(new FakeHistory(), { anchorOnSubscribe: false });
    const channel = client.subscribeToPresence('classroom-101');
    const got: unknown[] = [];
    channel.bind('client-typing', (d, meta) => got.push([d, meta]));
    fake.serverSubscribed('presence-classroom-101', { me: '1', hash: { '1': {} } });
    fake.serverEvent('presence-classroom-101', 'client-typing', { on: true }, '7');
    fake.serverEvent('presence-classroom-101', 'client-typing', { on: true }, '7');
    expect(got).toEqual([
      [{ on: true }, { user_id: '7' }],
      [{ on: true }, { user_id: '7' }],
    ]);
  });
});

describe('recovery across reconnects', () => {
  const CH = 'private-user-5';

  it('delivers the twenty events missed while disconnected once each, in order, before newer live ones', async () => {
    const history = new FakeHistory();
    const { client, fake } = makeClient(history);
    const channel = client.subscribeToPrivate('user-5');
    const got: string[] = [];
    channel.bind('personal_notification', (d) => got.push(String(d['n'])));
    fake.serverSubscribed(CH);
    await settle();
    const before = history.publish(CH, 'personal_notification', { type: 'message', title: 't', message: 'm', n: 0 });
    fake.serverEvent(CH, before.event, before.data);

    // The socket drops; twenty events are published meanwhile.
    for (let n = 1; n <= 20; n += 1) history.publish(CH, 'personal_notification', { type: 'message', title: 't', message: 'm', n });
    fake.dropAndReconnect();
    fake.serverSubscribed(CH);
    // A live event published after the re-subscription, which history also has, arrives first.
    const live = history.publish(CH, 'personal_notification', { type: 'message', title: 't', message: 'm', n: 21 });
    fake.serverEvent(CH, live.event, live.data);
    expect(got).toEqual(['0']); // held back while the missed ones are fetched
    await settle();
    expect(got).toEqual(Array.from({ length: 22 }, (_, i) => String(i)));
    expect(history.historyRequests().map((u) => u.searchParams.get('after'))).toEqual([null, before.event_id]);
    expect(history.requests[1]?.headers).toMatchObject({ Authorization: 'Bearer t' });
    expect(client.deliveryStats(CH)).toMatchObject({ recovered: 21, duplicatesDropped: 1, recoveries: 1 });
  });

  it('follows has_more page by page', async () => {
    const history = new FakeHistory();
    const { client, fake } = makeClient(history, { historyPageSize: 5 });
    const channel = client.subscribeToPublic('content-generation');
    const got: number[] = [];
    channel.bind('progress_update', (d) => got.push(d.progress));
    fake.serverSubscribed('content-generation');
    const first = history.publish('content-generation', 'progress_update', progress(0));
    fake.serverEvent('content-generation', first.event, first.data);
    for (let i = 1; i <= 12; i += 1) history.publish('content-generation', 'progress_update', progress(i));
    fake.dropAndReconnect();
    fake.serverSubscribed('content-generation');
    await settle();
    expect(got).toEqual(Array.from({ length: 13 }, (_, i) => i));
    const pages = history.historyRequests().slice(1);
    expect(pages).toHaveLength(3);
    expect(pages.map((u) => u.searchParams.get('limit'))).toEqual(['5', '5', '5']);
  });

  it('recovers on a quiet channel from the anchor taken at the first subscription', async () => {
    const history = new FakeHistory();
    const old = history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'old' });
    const { client, fake } = makeClient(history);
    const channel = client.subscribeToPrivate('user-5');
    const got: string[] = [];
    channel.bind('personal_notification', (d) => got.push(d.message));
    fake.serverSubscribed(CH);
    await settle();
    expect(client.lastEventId(CH)).toBe(old.event_id);
    history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'while away' });
    fake.dropAndReconnect();
    fake.serverSubscribed(CH);
    await settle();
    expect(got).toEqual(['while away']);
  });

  it('turns 410 history_expired into toolboxai:history_gap, then delivers the live events', async () => {
    const history = new FakeHistory();
    const { client, fake } = makeClient(history, { anchorOnSubscribe: false });
    const channel = client.subscribeToPrivate('user-5');
    const got: string[] = [];
    const gaps: unknown[] = [];
    channel.bind('personal_notification', (d) => got.push(d.message));
    channel.bind('toolboxai:history_gap', (gap) => gaps.push(gap));
    fake.serverSubscribed(CH);
    const seen = history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'seen' });
    fake.serverEvent(CH, seen.event, seen.data);
    history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'lost' });
    history.expireThrough(CH, seen.event_id);
    fake.dropAndReconnect();
    fake.serverSubscribed(CH);
    const live = history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'live' });
    fake.serverEvent(CH, live.event, live.data);
    await settle();
    expect(gaps).toEqual([{ channel: CH, after: seen.event_id, code: 'history_expired', message: expect.any(String) }]);
    expect(got).toEqual(['seen', 'live']);
    expect(client.lastEventId(CH)).toBe(live.event_id);
  });

  it('after a gap on a quiet channel, recovers later events from the newest stored one', async () => {
    const history = new FakeHistory();
    const { client, fake } = makeClient(history);
    const channel = client.subscribeToPrivate('user-5');
    const got: string[] = [];
    const gaps: unknown[] = [];
    channel.bind('personal_notification', (d) => got.push(d.message));
    channel.bind('toolboxai:history_gap', (gap) => gaps.push(gap));
    fake.serverSubscribed(CH);
    await settle();
    const seen = history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'seen' });
    fake.serverEvent(CH, seen.event, seen.data);
    const lost = history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'lost' });
    history.expireThrough(CH, seen.event_id);
    fake.dropAndReconnect();
    fake.serverSubscribed(CH);
    await settle();
    expect(gaps).toHaveLength(1);
    expect(client.lastEventId(CH)).toBe(lost.event_id); // the anchor after the gap
    history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'later' });
    fake.dropAndReconnect();
    fake.serverSubscribed(CH);
    await settle();
    expect(got).toEqual(['seen', 'later']);
    expect(gaps).toHaveLength(1);
  });

  it('retries a history read that failed with 503 or 429, then recovers', async () => {
    const history = new FakeHistory();
    const { client, fake } = makeClient(history, { anchorOnSubscribe: false });
    const channel = client.subscribeToPrivate('user-5');
    const got: string[] = [];
    channel.bind('personal_notification', (d) => got.push(d.message));
    fake.serverSubscribed(CH);
    const seen = history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'seen' });
    fake.serverEvent(CH, seen.event, seen.data);
    history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'missed' });
    history.failures = [
      { status: 503, code: 'upstream_unavailable' },
      { status: 429, code: 'rate_limited' },
    ];
    fake.dropAndReconnect();
    fake.serverSubscribed(CH);
    await settle(20);
    expect(got).toEqual(['seen', 'missed']);
    expect(history.requests).toHaveLength(3);
  });

  it('gives up on a history request that does not answer, and lets the held-back live events through', async () => {
    const history = new FakeHistory();
    const hung: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const { client, fake } = makeClient(history, { anchorOnSubscribe: false, fetch: hung, historyTimeoutMs: 30, historyRetryDelaysMs: [] });
    const channel = client.subscribeToPrivate('user-5');
    const got: string[] = [];
    const errors: Array<{ status: number; code: string }> = [];
    channel.bind('personal_notification', (d) => got.push(d.message));
    channel.bind('toolboxai:history_error', (e) => errors.push(e));
    fake.serverSubscribed(CH);
    fake.serverEvent(CH, 'personal_notification', { type: 'system', title: 't', message: 'seen', event_id: 'A' });
    fake.dropAndReconnect();
    fake.serverSubscribed(CH);
    fake.serverEvent(CH, 'personal_notification', { type: 'system', title: 't', message: 'live', event_id: 'C' });
    expect(got).toEqual(['seen']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(errors.map((e) => [e.status, e.code])).toEqual([[0, 'network_error']]);
    expect(got).toEqual(['seen', 'live']);
  });

  it('reports a refused history read as toolboxai:history_error and keeps delivering live events', async () => {
    const history = new FakeHistory();
    const { client, fake } = makeClient(history, { anchorOnSubscribe: false });
    const channel = client.subscribeToPrivate('user-5');
    const got: string[] = [];
    const errors: unknown[] = [];
    channel.bind('personal_notification', (d) => got.push(d.message));
    channel.bind('toolboxai:history_error', (e) => errors.push(e));
    fake.serverSubscribed(CH);
    const seen = history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'seen' });
    fake.serverEvent(CH, seen.event, seen.data);
    history.failures = [{ status: 403, code: 'forbidden' }];
    fake.dropAndReconnect();
    fake.serverSubscribed(CH);
    const live = history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'live' });
    fake.serverEvent(CH, live.event, live.data);
    await settle();
    expect(errors).toEqual([{ channel: CH, after: seen.event_id, status: 403, code: 'forbidden', message: 'forced 403' }]);
    expect(got).toEqual(['seen', 'live']);
    expect(history.requests).toHaveLength(1); // 403 is not retried
  });

  it('a reconnect during a catch-up replaces it; nothing is delivered twice or out of order', async () => {
    const history = new FakeHistory();
    const { client, fake } = makeClient(history, { anchorOnSubscribe: false });
    const channel = client.subscribeToPrivate('user-5');
    const got: number[] = [];
    channel.bind('personal_notification', (d) => got.push(Number(d['n'])));
    fake.serverSubscribed(CH);
    const first = history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'm', n: 0 });
    fake.serverEvent(CH, first.event, first.data);
    for (let n = 1; n <= 5; n += 1) history.publish(CH, 'personal_notification', { type: 'system', title: 't', message: 'm', n });
    fake.dropAndReconnect();
    fake.serverSubscribed(CH);
    fake.dropAndReconnect(); // before the first catch-up's answer is handled
    fake.serverSubscribed(CH);
    await settle();
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('does nothing without apiBase except de-duplication', async () => {
    const history = new FakeHistory();
    const { client, fake } = makeClient(history, { apiBase: undefined });
    const channel = client.subscribeToPublic('content-generation');
    const got: number[] = [];
    channel.bind('progress_update', (d) => got.push(d.progress));
    fake.serverSubscribed('content-generation');
    fake.serverEvent('content-generation', 'progress_update', { ...progress(1), event_id: 'A' });
    fake.dropAndReconnect();
    fake.serverSubscribed('content-generation');
    fake.serverEvent('content-generation', 'progress_update', { ...progress(1), event_id: 'A' });
    await settle();
    expect(got).toEqual([1]);
    expect(history.requests).toHaveLength(0);
  });
});

describe('families without history', () => {
  it('stops reading history quietly after 404 history_not_kept (presence channels)', async () => {
    const history = new FakeHistory();
    const { client, fake } = makeClient(history);
    const channel = client.subscribeToPresence('classroom-101');
    const errors: unknown[] = [];
    const got: string[] = [];
    channel.bind('toolboxai:history_error', (e) => errors.push(e));
    channel.bind('user_joined', (d) => got.push(d.event_id));
    fake.serverSubscribed('presence-classroom-101', { me: '1', hash: { '1': {} } });
    await settle();
    fake.serverEvent('presence-classroom-101', 'user_joined', { user_id: '1', event_id: 'A' });
    fake.dropAndReconnect();
    fake.serverSubscribed('presence-classroom-101', { me: '1', hash: { '1': {} } });
    fake.serverEvent('presence-classroom-101', 'user_joined', { user_id: '1', event_id: 'A' });
    fake.serverEvent('presence-classroom-101', 'user_joined', { user_id: '1', event_id: 'B' });
    await settle();
    expect(history.requests).toHaveLength(1); // the anchor only
    expect(errors).toEqual([]);
    expect(got).toEqual(['A', 'B']);
  });
});

describe('auth failures', () => {
  it.each([
    [401, 'unauthenticated'],
    [403, 'forbidden'],
    [429, 'rate_limited'],
  ] as const)('surfaces a %i from the auth endpoint as toolboxai:auth_error (%s)', (status, reason) => {
    const { client, fake } = makeClient(new FakeHistory());
    const channel = client.subscribeToPrivate('user-5');
    const errors: unknown[] = [];
    const raw: unknown[] = [];
    channel.bind('toolboxai:auth_error', (e) => errors.push(e));
    channel.bind('pusher:subscription_error', (e) => raw.push(e.status));
    fake.serverRefused(CH_NAME, status);
    expect(raw).toEqual([status]);
    expect(errors).toEqual([
      { channel: CH_NAME, status, reason, code: `http_${status}`, message: expect.stringContaining(String(status)) },
    ]);
  });

  it('does not call a 500 from the auth endpoint an auth failure', () => {
    const { client, fake } = makeClient(new FakeHistory());
    const channel = client.subscribeToPrivate('user-5');
    const errors: unknown[] = [];
    channel.bind('toolboxai:auth_error', (e) => errors.push(e));
    fake.serverRefused(CH_NAME, 500);
    expect(errors).toEqual([]);
  });
});

/** A `fetch` for the auth endpoint: records each request and answers `status` with `body`. */
function authServer(status: number, body: unknown, headers: Record<string, string> = {}) {
  const requests: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetchImpl = ((input: RequestInfo | URL, init?: RequestInit) => {
    requests.push({ url: input instanceof Request ? input.url : input.toString(), init });
    return Promise.resolve(
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } }),
    );
  }) as typeof fetch;
  return { requests, fetchImpl };
}

describe("the auth endpoint's refusal reaches the app (pusher-js's own authorizer drops the body)", () => {
  it.each([
    [401, 'token_expired', 'unauthenticated'],
    [401, 'invalid_token', 'unauthenticated'],
    [403, 'not_own_user_channel', 'forbidden'],
  ] as const)('a %i %s carries its code and message, and pusher:subscription_error keeps the status', async (status, code, reason) => {
    const server = authServer(status, { code, message: `server says ${code}`, request_id: 'req-1' });
    const { client, fake } = makeClient(new FakeHistory(), { fetch: server.fetchImpl });
    const channel = client.subscribeToPrivate('user-5');
    const errors: unknown[] = [];
    const raw: unknown[] = [];
    channel.bind('toolboxai:auth_error', (e) => errors.push(e));
    channel.bind('pusher:subscription_error', (e) => raw.push(e));
    expect(await fake.serverAuthorize(CH_NAME)).toBeUndefined();
    expect(raw).toEqual([{ type: 'AuthError', error: `server says ${code}`, status, code }]);
    expect(errors).toEqual([
      { channel: CH_NAME, status, reason, code, message: `server says ${code}`, requestId: 'req-1' },
    ]);
  });

  it('a 429 carries Retry-After as retryAfter', async () => {
    const server = authServer(429, { code: 'rate_limited', message: 'slow down' }, { 'retry-after': '7' });
    const { client, fake } = makeClient(new FakeHistory(), { fetch: server.fetchImpl });
    const channel = client.subscribeToPrivate('user-5');
    const errors: unknown[] = [];
    channel.bind('toolboxai:auth_error', (e) => errors.push(e));
    await fake.serverAuthorize(CH_NAME);
    expect(errors).toEqual([
      { channel: CH_NAME, status: 429, reason: 'rate_limited', code: 'rate_limited', message: 'slow down', retryAfter: 7 },
    ]);
  });

  it("a body that is not the error model still gives the status (code http_{status})", async () => {
    const server = authServer(403, '<html>no</html>');
    const { client, fake } = makeClient(new FakeHistory(), { fetch: server.fetchImpl });
    const channel = client.subscribeToPrivate('user-5');
    const errors: Array<{ code: string; status: number }> = [];
    channel.bind('toolboxai:auth_error', (e) => errors.push(e));
    await fake.serverAuthorize(CH_NAME);
    expect(errors).toMatchObject([{ status: 403, code: 'http_403' }]);
  });

  it("sends pusher-js's request: POST, form body, the current headers; a 200 goes to pusher-js", async () => {
    let token = 'first';
    const server = authServer(200, { auth: 'key:sig' });
    const { client, fake } = makeClient(new FakeHistory(), {
      fetch: server.fetchImpl,
      authHeaders: () => ({ Authorization: `Bearer ${token}` }),
    });
    client.subscribeToPrivate('user-5');
    token = 'second';
    expect(await fake.serverAuthorize(CH_NAME, '1.2')).toEqual({ auth: 'key:sig' });
    const [request] = server.requests;
    expect(request?.url).toBe(`${API}/pusher/auth`);
    expect(request?.init?.method).toBe('POST');
    expect(request?.init?.body).toBe('socket_id=1.2&channel_name=private-user-5');
    expect(request?.init?.headers).toEqual({
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: 'Bearer second',
    });
  });

  it('a refused user sign-in reaches onUserAuthError with its code', async () => {
    const server = authServer(401, { code: 'token_expired', message: 'expired' });
    const { client, fake } = makeClient(new FakeHistory(), { fetch: server.fetchImpl });
    const seen: unknown[] = [];
    client.onUserAuthError((e) => seen.push(e));
    const user = fake.options['userAuthentication'] as {
      customHandler: (p: { socketId: string }, cb: (e: Error | null, d: unknown) => void) => void;
    };
    const error = await new Promise<Error | null>((resolve) => user.customHandler({ socketId: '1.2' }, (e) => resolve(e)));
    expect(error?.message).toBe('expired');
    expect(server.requests[0]?.url).toBe(`${API}/pusher/user-auth`);
    expect(server.requests[0]?.init?.body).toBe('socket_id=1.2');
    expect(seen).toEqual([{ status: 401, code: 'token_expired', message: 'expired' }]);
  });
});

describe('disconnect() ends the session', () => {
  it('after disconnect(), connect() and subscribing again, a live event fires only the new callback, once', () => {
    const { client, fake } = makeClient(new FakeHistory());
    const old = client.subscribeToPrivate('user-5');
    const got: string[] = [];
    old.bind('personal_notification', (d) => got.push(`old:${d.message}`));
    fake.serverSubscribed(CH_NAME);
    client.disconnect();
    // pusher-js would re-subscribe every channel it still holds on connect(): none are left.
    expect([...fake.channels.keys()]).toEqual([]);
    fake.connect();
    const fresh = client.subscribeToPrivate('user-5');
    expect(fresh).not.toBe(old);
    fresh.bind('personal_notification', (d) => got.push(`new:${d.message}`));
    fake.serverSubscribed(CH_NAME);
    fake.serverEvent(CH_NAME, 'personal_notification', { event_id: 'e9', type: 'message', title: 't', message: 'hi' });
    expect(got).toEqual(['new:hi']);
  });

  it('pusher.disconnect() then pusher.connect() is a dropped connection: the channel stays and catches up', async () => {
    const history = new FakeHistory();
    const { client, fake } = makeClient(history);
    const channel = client.subscribeToPrivate('user-5');
    const got: string[] = [];
    channel.bind('personal_notification', (d) => got.push(d.message));
    fake.serverSubscribed(CH_NAME);
    await settle();
    const first = history.publish(CH_NAME, 'personal_notification', { type: 'message', title: 't', message: 'one' });
    fake.serverEvent(CH_NAME, first.event, first.data);
    client.pusher.disconnect();
    history.publish(CH_NAME, 'personal_notification', { type: 'message', title: 't', message: 'two' });
    client.pusher.connect();
    fake.serverSubscribed(CH_NAME);
    await settle();
    expect(got).toEqual(['one', 'two']);
    expect(client.deliveryStats(CH_NAME)).toMatchObject({ recovered: 1, recoveries: 1 });
  });
});

const CH_NAME = 'private-user-5';
