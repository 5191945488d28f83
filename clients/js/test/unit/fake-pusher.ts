/**
 * A fake of the pusher-js 8 surface this package uses, for unit tests (`vi.mock('pusher-js', …)`).
 *
 * It mirrors pusher-js's own flow (src/core/channels/channel.ts, presence_channel.ts, pusher.ts):
 * `handleEvent` turns `pusher_internal:subscription_succeeded` into `pusher:subscription_succeeded`
 * and emits other events with `(data, metadata)`; `emit` calls global callbacks then the event's
 * callbacks; a reconnect re-subscribes every channel. The socket is replaced by the `server*` helpers.
 */
type Callback = (...args: unknown[]) => void;

class Dispatcher {
  callbacks = new Map<string, Array<{ fn: Callback; context: unknown }>>();
  globalCallbacks: Callback[] = [];

  bind(eventName: string, fn: Callback, context?: unknown): this {
    const list = this.callbacks.get(eventName) ?? [];
    list.push({ fn, context });
    this.callbacks.set(eventName, list);
    return this;
  }

  unbind(eventName?: string, fn?: Callback, context?: unknown): this {
    if (eventName === undefined && fn === undefined && context === undefined) {
      this.callbacks.clear();
      return this;
    }
    for (const [name, list] of this.callbacks) {
      if (eventName !== undefined && name !== eventName) continue;
      this.callbacks.set(
        name,
        list.filter((b) => (fn !== undefined && b.fn !== fn) || (context !== undefined && b.context !== context)),
      );
    }
    return this;
  }

  bind_global(fn: Callback): this {
    this.globalCallbacks.push(fn);
    return this;
  }

  unbind_global(fn?: Callback): this {
    this.globalCallbacks = fn ? this.globalCallbacks.filter((c) => c !== fn) : [];
    return this;
  }

  emit(eventName: string, data?: unknown, metadata?: unknown): this {
    for (const fn of this.globalCallbacks) fn(eventName, data);
    const args = metadata ? [data, metadata] : data ? [data] : [];
    for (const b of this.callbacks.get(eventName) ?? []) b.fn.apply(b.context, args);
    return this;
  }
}

export class FakeMembers {
  members: Record<string, unknown> = {};
  count = 0;
  myID: string | null = null;
  me: { id: string; info: unknown } | null = null;

  get(id: string): { id: string; info: unknown } | null {
    return id in this.members ? { id, info: this.members[id] } : null;
  }

  each(callback: (member: { id: string; info: unknown }) => void): void {
    for (const [id, info] of Object.entries(this.members)) callback({ id, info });
  }
}

export class FakeChannel extends Dispatcher {
  subscribed = false;
  subscriptionPending = false;
  members = new FakeMembers();

  constructor(
    public name: string,
    public pusher: FakePusher,
  ) {
    super();
  }

  get isPresence(): boolean {
    return this.name.startsWith('presence-');
  }

  /** pusher-js Channel.handleEvent / PresenceChannel.handleEvent, reduced to what the server sends. */
  handleEvent(event: { event: string; data?: unknown; user_id?: string }): void {
    if (event.event === 'pusher_internal:subscription_succeeded') {
      this.subscriptionPending = false;
      this.subscribed = true;
      if (this.isPresence) {
        const presence = (event.data as { presence: { hash: Record<string, unknown> } }).presence;
        this.members.members = { ...presence.hash };
        this.members.count = Object.keys(presence.hash).length;
        this.members.me = this.members.myID ? this.members.get(this.members.myID) : null;
        this.emit('pusher:subscription_succeeded', this.members);
      } else {
        this.emit('pusher:subscription_succeeded', event.data);
      }
    } else if (event.event === 'pusher_internal:member_added') {
      const { user_id, user_info } = event.data as { user_id: string; user_info: unknown };
      this.members.members[user_id] = user_info;
      this.members.count += 1;
      this.emit('pusher:member_added', { id: user_id, info: user_info });
    } else if (event.event === 'pusher_internal:member_removed') {
      const { user_id } = event.data as { user_id: string };
      const info = this.members.members[user_id];
      delete this.members.members[user_id];
      this.members.count -= 1;
      this.emit('pusher:member_removed', { id: user_id, info });
    } else if (!event.event.startsWith('pusher_internal:')) {
      this.emit(event.event, event.data, event.user_id ? { user_id: event.user_id } : {});
    }
  }

  subscribe(): void {
    if (this.subscribed) return;
    this.subscriptionPending = true;
  }

  disconnect(): void {
    this.subscribed = false;
    this.subscriptionPending = false;
  }
}

class FakeConnection extends Dispatcher {
  state = 'connecting';

  setState(next: string): void {
    const previous = this.state;
    this.state = next;
    this.emit('state_change', { previous, current: next });
    this.emit(next);
  }
}

export default class FakePusher {
  static instances: FakePusher[] = [];
  static logToConsole = false;

  channels = new Map<string, FakeChannel>();
  connection = new FakeConnection();
  unsubscribed: string[] = [];
  disconnected = false;

  constructor(
    public key: string,
    public options: Record<string, unknown>,
  ) {
    FakePusher.instances.push(this);
  }

  static latest(): FakePusher {
    const last = FakePusher.instances.at(-1);
    if (!last) throw new Error('no FakePusher was constructed');
    return last;
  }

  subscribe(name: string): FakeChannel {
    let channel = this.channels.get(name);
    if (!channel) {
      channel = new FakeChannel(name, this);
      this.channels.set(name, channel);
    }
    channel.subscribe();
    return channel;
  }

  unsubscribe(name: string): void {
    this.channels.delete(name);
    this.unsubscribed.push(name);
  }

  channel(name: string): FakeChannel | undefined {
    return this.channels.get(name);
  }

  disconnect(): void {
    this.disconnected = true;
    for (const channel of this.channels.values()) channel.disconnect();
    this.connection.setState('disconnected');
  }

  /** pusher-js `connect()`: once connected, `subscribeAll` re-subscribes every channel it still holds. */
  connect(): void {
    this.disconnected = false;
    this.connection.setState('connecting');
    this.connection.setState('connected');
    for (const channel of this.channels.values()) channel.subscribe();
  }

  // ---- the server side, for tests

  /** The server confirms the subscription (as soketi does after a successful auth). */
  serverSubscribed(name: string, presence?: { me: string; hash: Record<string, unknown> }): void {
    const channel = this.mustChannel(name);
    if (presence) {
      channel.members.myID = presence.me;
      channel.handleEvent({ event: 'pusher_internal:subscription_succeeded', data: { presence: { hash: presence.hash } } });
    } else {
      channel.handleEvent({ event: 'pusher_internal:subscription_succeeded', data: {} });
    }
  }

  /** The server sends an event on a channel. */
  serverEvent(name: string, event: string, data: unknown, userId?: string): void {
    this.mustChannel(name).handleEvent({ event, data, ...(userId ? { user_id: userId } : {}) });
  }

  /** The auth endpoint refused the subscription (pusher-js emits this from Channel.subscribe). */
  serverRefused(name: string, status: number): void {
    this.mustChannel(name).emit('pusher:subscription_error', {
      type: 'AuthError',
      error: `Unable to retrieve auth string from channel-authorization endpoint - received status: ${status}`,
      status,
    });
  }

  /**
   * The channel authorization as pusher-js 8 runs it (Channel.subscribe → the configured
   * `channelAuthorization.customHandler`): on an error it emits `pusher:subscription_error` with
   * `status` only for its own HTTPAuthError, which a custom handler cannot create — so none here.
   * Resolves with the auth data, or undefined after a refusal.
   */
  serverAuthorize(name: string, socketId = '123.456'): Promise<unknown> {
    const channel = this.mustChannel(name);
    const auth = this.options['channelAuthorization'] as {
      customHandler: (params: { socketId: string; channelName: string }, cb: (e: Error | null, d: unknown) => void) => void;
    };
    return new Promise((resolve) => {
      auth.customHandler({ socketId, channelName: name }, (error, data) => {
        if (error) {
          channel.emit('pusher:subscription_error', { type: 'AuthError', error: error.message });
          resolve(undefined);
        } else resolve(data);
      });
    });
  }

  /** The socket drops and comes back: every channel is re-subscribed (call serverSubscribed again). */
  dropAndReconnect(): void {
    for (const channel of this.channels.values()) channel.disconnect();
    this.connection.setState('connecting');
    this.connection.setState('connected');
    for (const channel of this.channels.values()) channel.subscribe();
  }

  private mustChannel(name: string): FakeChannel {
    const channel = this.channels.get(name);
    if (!channel) throw new Error(`not subscribed to ${name}`);
    return channel;
  }
}
