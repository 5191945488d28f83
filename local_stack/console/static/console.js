// The ToolBoxAI Realtime debug console (local only, served by the local gateway at /console).
//
// pusher-js connects to the stack's soketi with the same settings the front end uses (channel
// authorization at /pusher/auth with the bearer token below); events are shown as they arrive, presence
// members as they come and go, and catalogued events can be triggered through POST /realtime/trigger.
// Everything received is rendered as text (textContent), never as HTML.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const MAX_EVENTS = 300;
  const PARAM = '[A-Za-z0-9_\\-=@,.;]+';
  const state = { pusher: null, config: null, families: [], channels: new Map() };

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  const token = () => $('token').value.trim();
  const ids = (text) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  const clock = () => new Date().toISOString().slice(11, 23);

  // ------------------------------------------------------------------------------------------ token

  function showClaims() {
    const parts = token().split('.');
    if (parts.length !== 3) { $('claims').textContent = token() ? 'not a JWT' : ''; return; }
    try {
      const claims = JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/')));
      const exp = claims.exp ? ` · expires ${new Date(claims.exp * 1000).toLocaleTimeString()}` : '';
      $('claims').textContent = `sub ${claims.sub} · role ${claims.role || 'student'}` +
        (claims.class_ids ? ` · classes ${claims.class_ids.join(', ')}` : '') +
        (claims.lesson_ids ? ` · lessons ${claims.lesson_ids.join(', ')}` : '') +
        (claims.scope ? ` · scope ${claims.scope}` : '') + exp;
    } catch (err) {
      $('claims').textContent = 'cannot read the token claims';
    }
  }

  async function mint(event) {
    event.preventDefault();
    const form = new FormData($('mint-form'));
    const body = {
      sub: form.get('sub'),
      role: form.get('role'),
      name: form.get('name') || null,
      class_ids: ids(form.get('class_ids') || ''),
      lesson_ids: ids(form.get('lesson_ids') || ''),
      scopes: form.get('trigger_scope') ? ['realtime:trigger'] : [],
    };
    const res = await fetch('/_local/token', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    const answer = await res.json();
    if (!res.ok) { $('claims').textContent = `${res.status} ${answer.code}: ${answer.message}`; return; }
    $('token').value = answer.token;
    showClaims();
    fillHints();
  }

  // ------------------------------------------------------------------------------------- connection

  function pusherLog(message) {
    const log = $('pusher-log');
    log.textContent += `${clock()} ${message}\n`;
    log.scrollTop = log.scrollHeight;
  }

  function setDebug() {
    const on = $('debug').checked;
    Pusher.log = on ? pusherLog : undefined;
    $('pusher-log').classList.toggle('hidden', !on);
  }

  function connect() {
    if (state.pusher) state.pusher.disconnect();
    const c = state.config;
    const auth = { headersProvider: () => (token() ? { Authorization: `Bearer ${token()}` } : {}) };
    const pusher = new Pusher(c.key, {
      cluster: c.cluster,
      wsHost: c.wsHost,
      wsPort: c.wsPort,
      wssPort: c.wsPort,
      forceTLS: c.forceTLS,
      enabledTransports: ['ws', 'wss'],
      disableStats: true,
      channelAuthorization: { endpoint: c.channelAuthorizationEndpoint, ...auth },
      userAuthentication: { endpoint: c.userAuthenticationEndpoint, ...auth },
    });
    state.pusher = pusher;
    pusher.connection.bind('state_change', ({ current }) => {
      $('state').textContent = current;
      $('connect').disabled = current === 'connected';
      $('disconnect').disabled = current === 'disconnected';
      if (current !== 'connected') $('socket-id').textContent = '—';
    });
    pusher.connection.bind('connected', () => {
      $('socket-id').textContent = pusher.connection.socket_id;
      if (c.userAuthentication) pusher.signin();
    });
    pusher.connection.bind('error', (err) => addEvent('(connection)', 'error', err, true));
    for (const name of state.channels.keys()) bindChannel(name);
  }

  function disconnect() {
    if (state.pusher) state.pusher.disconnect();
    state.pusher = null;
    $('state').textContent = 'disconnected';
    $('connect').disabled = false;
    $('disconnect').disabled = true;
    for (const entry of state.channels.values()) entry.status = 'not connected';
    renderChannels();
  }

  // --------------------------------------------------------------------------------------- channels

  function subscribe(event) {
    event.preventDefault();
    const name = $('channel-name').value.trim();
    if (!name) return;
    if (!state.pusher) connect();
    state.channels.set(name, { status: 'pending', detail: '' });
    bindChannel(name);
    $('channel-name').value = '';
    if (!$('trigger-channel').value) { $('trigger-channel').value = name; channelChanged(); }
    fillHints();
  }

  function bindChannel(name) {
    const entry = state.channels.get(name);
    entry.status = 'pending';
    const channel = state.pusher.subscribe(name);
    channel.bind('pusher:subscription_succeeded', () => {
      entry.status = 'subscribed'; entry.detail = '';
      renderChannels(); renderMembers();
    });
    channel.bind('pusher:subscription_error', (err) => {
      entry.status = 'error';
      entry.detail = err && err.status ? `HTTP ${err.status}` : (err && err.error) || 'refused';
      renderChannels();
    });
    channel.bind('pusher:member_added', renderMembers);
    channel.bind('pusher:member_removed', renderMembers);
    channel.bind_global((eventName, data) => addEvent(name, eventName, data, eventName.startsWith('pusher')));
    renderChannels();
  }

  function unsubscribe(name) {
    if (state.pusher) state.pusher.unsubscribe(name);
    state.channels.delete(name);
    renderChannels(); renderMembers(); fillHints();
  }

  function renderChannels() {
    const list = $('subscriptions');
    list.replaceChildren(...[...state.channels].map(([name, entry]) => el('li', { 'data-channel': name, 'data-status': entry.status },
      el('code', {}, name),
      el('span', { class: `badge ${entry.status}` }, entry.detail ? `${entry.status} · ${entry.detail}` : entry.status),
      el('button', { class: 'link', title: 'unsubscribe', onclick: () => unsubscribe(name) }, '✕'))));
  }

  function renderMembers() {
    const box = $('members');
    const blocks = [];
    for (const name of state.channels.keys()) {
      const channel = state.pusher && state.pusher.channel(name);
      if (!name.startsWith('presence-') || !channel || !channel.subscribed) continue;
      const items = [];
      channel.members.each((member) => {
        const info = member.info || {};
        const me = channel.members.me && channel.members.me.id === member.id ? ' (you)' : '';
        const extra = [info.role, info.status, info.current_activity].filter(Boolean).join(', ');
        items.push(el('li', { 'data-member': member.id }, `${info.name || member.id}${me} · ${member.id}${extra ? ` · ${extra}` : ''}`));
      });
      blocks.push(el('div', { class: 'members-channel', 'data-members-of': name },
        el('strong', {}, `${name} · ${channel.members.count} member${channel.members.count === 1 ? '' : 's'}`),
        el('ul', {}, ...items)));
    }
    box.replaceChildren(...(blocks.length ? blocks
      : [el('p', { class: 'muted' }, 'Subscribe to a presence-… channel to see who is there.')]));
  }

  // ---------------------------------------------------------------------------------------- events

  function addEvent(channel, event, data, internal = false) {
    // Pusher's own events (subscription_succeeded carries every member) stay on one line.
    const text = typeof data === 'string' ? data : JSON.stringify(data, null, internal ? 0 : 2);
    const row = el('tr', { class: internal ? 'internal' : '', 'data-channel': channel, 'data-event': event },
      el('td', {}, clock()), el('td', {}, el('code', {}, channel)), el('td', {}, el('code', {}, event)),
      el('td', {}, el('pre', {}, text === undefined ? '' : text)));
    const body = $('events');
    body.prepend(row);
    while (body.children.length > MAX_EVENTS) body.lastChild.remove();
  }

  // --------------------------------------------------------------------------------------- trigger

  function familyOf(name) {
    for (const family of state.families) {
      const names = [];
      const pattern = family.template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{(\w+)\\?\}/g, (_, param) => {
        names.push(param);
        return `(${PARAM})`;
      });
      const found = new RegExp(`^${pattern}$`).exec(name);
      if (found) return { family, params: Object.fromEntries(names.map((p, i) => [p, found[i + 1]])) };
    }
    return null;
  }

  function channelChanged() {
    const match = familyOf($('trigger-channel').value.trim());
    const select = $('trigger-event');
    const previous = select.value;
    const events = match ? Object.keys(match.family.events) : [];
    select.replaceChildren(...events.map((name) => el('option', { value: name }, name)));
    if (events.includes(previous)) select.value = previous;
    eventChanged();
  }

  function eventChanged() {
    const match = familyOf($('trigger-channel').value.trim());
    const spec = match && match.family.events[$('trigger-event').value];
    if (!spec) return;
    const example = { ...spec.example };
    for (const [param, value] of Object.entries(match.params)) if (param in example) example[param] = value;
    for (const key of ['timestamp', 'sent_at', 'created_at']) if (key in example) example[key] = new Date().toISOString();
    $('trigger-data').value = JSON.stringify(example, null, 2);
  }

  function showResult(ok, title, lines = []) {
    $('trigger-result').replaceChildren(el('div', { class: ok ? 'result-ok' : 'result-error', 'data-ok': String(ok) },
      el('strong', {}, title), ...(lines.length ? [el('ul', {}, ...lines.map((line) => el('li', {}, line)))] : [])));
  }

  async function trigger(event) {
    event.preventDefault();
    let data;
    try {
      data = JSON.parse($('trigger-data').value);
    } catch (err) {
      showResult(false, 'The data is not valid JSON.', [String(err.message || err)]);
      return;
    }
    const body = { channel: $('trigger-channel').value.trim(), event: $('trigger-event').value, data };
    const socketId = state.pusher && state.pusher.connection.socket_id;
    if ($('exclude-me').checked && socketId) body.socket_id = socketId;
    const res = await fetch(state.config.triggerEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token() ? { Authorization: `Bearer ${token()}` } : {}) },
      body: JSON.stringify(body),
    });
    let answer = {};
    try { answer = await res.json(); } catch (err) { answer = { message: res.statusText }; }
    if (res.ok) {
      showResult(true, `${res.status} · ${answer.message || 'published'}`,
        [`publish_id ${answer.publish_id}`, `channels ${(answer.channels || []).join(', ')}`]);
      return;
    }
    const details = Array.isArray(answer.details) ? answer.details.map((d) => (d && d.loc
      ? `${d.loc.join('.')}: ${d.msg}` : JSON.stringify(d))) : [];
    showResult(false, `${res.status} ${answer.code || ''}: ${answer.message || ''}`, details);
  }

  // ----------------------------------------------------------------------------------------- start

  function fillHints() {
    const hints = new Set(['dashboard-updates', 'content-generation', 'agent-status', ...state.channels.keys()]);
    const claims = (() => { try { return JSON.parse(atob(token().split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))); } catch (e) { return {}; } })();
    if (claims.sub) hints.add(`private-user-${claims.sub}`);
    for (const id of claims.class_ids || []) { hints.add(`private-class-${id}`); hints.add(`presence-classroom-${id}`); }
    for (const id of claims.lesson_ids || []) hints.add(`presence-lesson-${id}`);
    $('channel-hints').replaceChildren(...[...hints].map((name) => el('option', { value: name })));
  }

  async function start() {
    const [config, catalog] = await Promise.all([
      fetch('/_local/config').then((r) => r.json()),
      fetch('/_local/catalog').then((r) => r.json()),
    ]);
    state.config = config;
    state.families = catalog.families;
    $('mint-form').addEventListener('submit', mint);
    $('token').addEventListener('input', () => { showClaims(); fillHints(); });
    $('connect').addEventListener('click', connect);
    $('disconnect').addEventListener('click', disconnect);
    $('debug').addEventListener('change', setDebug);
    $('subscribe-form').addEventListener('submit', subscribe);
    $('trigger-form').addEventListener('submit', trigger);
    $('trigger-channel').addEventListener('input', channelChanged);
    $('trigger-event').addEventListener('change', eventChanged);
    $('clear-events').addEventListener('click', () => $('events').replaceChildren());
    fillHints();
    document.body.dataset.ready = 'true';
  }

  start();
})();
