// A pusher-js 8 client driven over stdin/stdout with JSON lines, for the end-to-end tests.
//
// Every command is {"id": n, "op": "...", ...}; every reply is {"id": n, "ok": true|false, ...}.
// Events that arrive on subscribed channels are written as {"type": "event", ...} lines as they come.
// pusher-js runs with its DEFAULT authorization settings (form-encoded POST to the endpoint, headers
// from channelAuthorization.headers), exactly as the ToolBoxAI front end configures it.
import readline from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Pusher = require('pusher-js');

const clients = new Map();
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

// pusher-js reports some failures only through its logger (a failed signin() emits no event): keep the
// log lines so that commands can answer with them. (Setting Pusher.log also keeps them off stdout.)
const logs = [];
Pusher.log = (message) => { logs.push(String(message)); };

function makeClient(cmd) {
  const opts = {
    cluster: cmd.cluster || 'mt1',
    wsHost: cmd.wsHost,
    wsPort: cmd.wsPort,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      endpoint: cmd.authEndpoint,
      headers: cmd.token ? { Authorization: `Bearer ${cmd.token}` } : {},
      params: cmd.authParams || {},
    },
    userAuthentication: {
      endpoint: cmd.userAuthEndpoint,
      headers: cmd.token ? { Authorization: `Bearer ${cmd.token}` } : {},
    },
  };
  const stats = { batchRequests: 0 };
  if (cmd.authorizer === 'batch') {
    // The request format of the pusher-js-auth plugin: one POST for several channels, answered per channel.
    opts.channelAuthorization = { customHandler: batchAuthorizer(cmd, stats) };
  }
  const client = new Pusher(cmd.key, opts);
  client.driverStats = stats;
  return client;
}

// A minimal client-side batcher in the pusher-js-auth format (socket_id + channel_name[i]).
function batchAuthorizer(cmd, stats) {
  let pending = [];
  let timer = null;
  return ({ socketId, channelName }, callback) => {
    pending.push({ channelName, callback });
    if (timer) return;
    timer = setTimeout(async () => {
      const batch = pending; pending = []; timer = null;
      const body = new URLSearchParams({ socket_id: socketId });
      batch.forEach((b, i) => body.append(`channel_name[${i}]`, b.channelName));
      stats.batchRequests += 1;
      try {
        const res = await fetch(cmd.authEndpoint, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${cmd.token}` },
          body: '&' + body.toString(),
        });
        const json = await res.json();
        for (const b of batch) {
          const entry = res.status === 200 ? json[b.channelName] : null;
          if (entry && entry.status === 200) b.callback(null, entry.data);
          else b.callback(new Error(`status ${entry ? entry.status : res.status}`), null);
        }
      } catch (err) {
        for (const b of batch) b.callback(err, null);
      }
    }, cmd.batchDelayMs || 50);
  };
}

function subscribe(client, clientName, name, timeoutMs) {
  const channel = client.subscribe(name);
  channel.bind_global((event, data) => {
    if (event.startsWith('pusher:') && event !== 'pusher:member_added' && event !== 'pusher:member_removed') return;
    out({ type: 'event', client: clientName, channel: name, event, data, at: Date.now() });
  });
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve({ subscribed: false, error: 'timeout' }), timeoutMs || 10000);
    channel.bind('pusher:subscription_succeeded', () => {
      // Every (re-)subscription, also those pusher-js makes by itself after a reconnect.
      out({ type: 'subscription', client: clientName, channel: name, ok: true, at: Date.now() });
      clearTimeout(t);
      resolve({ subscribed: true, members: membersOf(channel), me: channel.members ? channel.members.me : null });
    });
    channel.bind('pusher:subscription_error', (err) => {
      out({ type: 'subscription', client: clientName, channel: name, ok: false, status: err && err.status, at: Date.now() });
      clearTimeout(t);
      client.unsubscribe(name);
      resolve({ subscribed: false, status: err && err.status, error: err && (err.error || err.type) });
    });
  });
}

function membersOf(channel) {
  const list = [];
  if (channel.members) channel.members.each((m) => list.push({ id: m.id, info: m.info }));
  return list;
}

async function handle(cmd) {
  switch (cmd.op) {
    case 'connect': {
      const client = makeClient(cmd);
      clients.set(cmd.client, client);
      client.connection.bind('state_change', (s) => out({ type: 'state', client: cmd.client, ...s }));
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('connect timeout')), cmd.timeoutMs || 10000);
        client.connection.bind('connected', () => { clearTimeout(t); resolve(); });
      });
      client.bind_global((event, data) => {
        if (!event.startsWith('pusher:')) return;
        out({ type: 'global', client: cmd.client, event, data });
      });
      return { socket_id: client.connection.socket_id };
    }
    case 'subscribe':
      return await subscribe(clients.get(cmd.client), cmd.client, cmd.channel, cmd.timeoutMs);
    case 'subscribe_many': {
      // Several subscriptions at once (so that a batching authorizer sees them together).
      const client = clients.get(cmd.client);
      const results = await Promise.all(cmd.channels.map((name) => subscribe(client, cmd.client, name, cmd.timeoutMs)));
      const byChannel = {};
      cmd.channels.forEach((name, i) => { byChannel[name] = results[i]; });
      return { results: byChannel, batchRequests: client.driverStats.batchRequests };
    }
    case 'members': {
      const channel = clients.get(cmd.client).channel(cmd.channel);
      return { members: channel ? membersOf(channel) : [] };
    }
    case 'unsubscribe': {
      clients.get(cmd.client).unsubscribe(cmd.channel);
      return {};
    }
    case 'signin': {
      // pusher-js 8: signin() POSTs to the user-auth endpoint, sends pusher:signin, and resolves
      // user.signinDonePromise when the server answers pusher:signin_success (user.user_data is then
      // set) or when it gave up (user_data stays null; an HTTP failure is only logged, as
      // "Error during signin: ... received status: NNN"). The server answers pusher:signin only when
      // user authentication is enabled for the app; otherwise this times out.
      const client = clients.get(cmd.client);
      const logStart = logs.length;
      let serverError = null;
      client.bind('pusher:error', (err) => { serverError = err; });
      client.signin();
      const done = client.user.signinDonePromise;
      const timedOut = await Promise.race([
        done.then(() => false),
        new Promise((resolve) => setTimeout(() => resolve(true), cmd.timeoutMs || 10000)),
      ]);
      const failure = logs.slice(logStart).find((line) => line.includes('Error during signin'));
      const status = failure && /received status: (\d+)/.exec(failure);
      return {
        signed_in: !timedOut && client.user.user_data !== null,
        user_data: client.user.user_data,
        status: status ? Number(status[1]) : null,
        error: timedOut ? 'timeout' : (failure || (serverError && JSON.stringify(serverError)) || null),
      };
    }
    case 'bind_user': {
      // Events sent to the signed-in user (Pusher's server-to-user channel) arrive on pusher.user.
      const client = clients.get(cmd.client);
      client.user.bind_global((event, data) => {
        if (event.startsWith('pusher:')) return;
        out({ type: 'event', client: cmd.client, channel: '#user', event, data, at: Date.now() });
      });
      return {};
    }
    case 'trigger_client': {
      // A client event (client-…) on a subscribed private/presence channel.
      const sent = clients.get(cmd.client).channel(cmd.channel).trigger(cmd.event, cmd.data);
      return { sent };
    }
    case 'state':
      return { state: clients.get(cmd.client).connection.state };
    case 'reconnect': {
      const client = clients.get(cmd.client);
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('reconnect timeout')), cmd.timeoutMs || 10000);
        client.connection.bind('connected', () => { clearTimeout(t); resolve(); });
        client.connect();
      });
      return { socket_id: client.connection.socket_id };
    }
    case 'disconnect': {
      const client = clients.get(cmd.client);
      if (client) client.disconnect();
      clients.delete(cmd.client);
      return {};
    }
    case 'exit':
      for (const c of clients.values()) c.disconnect();
      setTimeout(() => process.exit(0), 50);
      return {};
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  if (!line.trim()) return;
  let cmd;
  try { cmd = JSON.parse(line); } catch (e) { out({ ok: false, error: 'bad json' }); return; }
  try {
    const result = await handle(cmd);
    out({ id: cmd.id, ok: true, ...result });
  } catch (err) {
    out({ id: cmd.id, ok: false, error: String(err && err.message || err) });
  }
});
rl.on('close', () => process.exit(0));
