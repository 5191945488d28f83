/**
 * `ToolBoxAIPusher`: the documentation's client class ("Client Integration"), as a package.
 *
 * Same constructor config and methods as the documentation, plus what local and production use need
 * (`wsHost`, `wsPort`, `forceTLS`, `userAuthEndpoint`, `apiBase`, `authHeaders` as a function). The
 * channels it returns are pusher-js channels; their catalog events are typed per channel family and
 * delivered exactly once, in order, across reconnects (see `delivery.ts` and README "Front-end").
 */
import Pusher, { type Channel, type Options } from 'pusher-js';
import { AuthRequestError, channelAuthorizationHandler, userAuthenticationHandler } from './auth.js';
import { ChannelDelivery, type DeliveryStats } from './delivery.js';
import type { FamilyOf, TypedChannel, TypedPresenceChannel, UserAuthErrorData } from './types.js';

/** Request headers for the auth endpoints and the history route: fixed, or read anew for every request. */
export type AuthHeaders = Record<string, string> | (() => Record<string, string>);

export interface ToolBoxAIPusherConfig {
  /** The Pusher app key (locally `toolboxai-local-key`). */
  key: string;
  /** The Pusher cluster, e.g. `mt1` (ignored by pusher-js when `wsHost` is set). */
  cluster: string;
  /** Channel authorization endpoint, e.g. `http://127.0.0.1:8008/pusher/auth`. */
  authEndpoint: string;
  /**
   * Headers for the auth requests and the history reads, typically `{Authorization: 'Bearer …'}`. A
   * function is called for every request (pusher-js `headersProvider`), so an expired token is replaced
   * by the app's current one.
   */
  authHeaders?: AuthHeaders;
  /** User authentication endpoint for `signin()` (default: `{apiBase}/pusher/user-auth` when `apiBase` is set). */
  userAuthEndpoint?: string;
  /** The API's base URL (`http://127.0.0.1:8008` locally): enables recovery of missed events from history. */
  apiBase?: string;
  /** WebSocket host (soketi: `127.0.0.1`); pusher-js's `wsHost`. */
  wsHost?: string;
  /** WebSocket port (soketi: `6001`); pusher-js's `wsPort` (and `wssPort` unless that is given). */
  wsPort?: number;
  /** TLS port, pusher-js's `wssPort`. */
  wssPort?: number;
  /** Use TLS (`false` for `make dev`); pusher-js's `forceTLS`. */
  forceTLS?: boolean;
  /** `Pusher.logToConsole` (the documentation turns it on in development). */
  debug?: boolean;
  /** Further pusher-js options; the ones above win. */
  pusherOptions?: Partial<Options>;
  /** Event ids remembered per channel to drop duplicates (default 1000). */
  rememberIds?: number;
  /** Events per history page (default 100, the route's page size in the contract). */
  historyPageSize?: number;
  /** Waits before retrying a failed history read, in ms (default [500, 2000]: three tries). */
  historyRetryDelaysMs?: readonly number[];
  /** Timeout of one history request in ms (default 10000); a timeout is retried like a network error. */
  historyTimeoutMs?: number;
  /** Ask for the newest stored event id when a channel is first subscribed (default true with `apiBase`). */
  anchorOnSubscribe?: boolean;
  /** `fetch` for the auth endpoints and the history route (default: the global one). */
  fetch?: typeof fetch;
}

/** pusher-js 8 connection states (`initialized`, then what ConnectionManager.updateState sets). */
export type ConnectionState = 'initialized' | 'connecting' | 'connected' | 'unavailable' | 'failed' | 'disconnected';

export class ToolBoxAIPusher {
  /** The underlying pusher-js client, for what this class does not wrap (`signin()`, `connection`). */
  readonly pusher: Pusher;
  private channels: Record<string, Channel> = {};
  private deliveries: Record<string, ChannelDelivery> = {};
  private holders: Record<string, number> = {};
  /** The last refusal of each channel's auth request, until its `pusher:subscription_error` takes it. */
  private authFailures: Record<string, AuthRequestError> = {};
  private userAuthListeners = new Set<(error: UserAuthErrorData) => void>();
  private readonly config: ToolBoxAIPusherConfig;

  constructor(config: ToolBoxAIPusherConfig) {
    this.config = config;
    const headers = config.authHeaders;
    const auth = typeof headers === 'function' ? { headersProvider: headers } : { headers: headers ?? {} };
    const userAuthEndpoint =
      config.userAuthEndpoint ?? (config.apiBase ? `${config.apiBase.replace(/\/+$/, '')}/pusher/user-auth` : undefined);
    const fetchImpl = this.fetchImpl();
    // The custom handlers make the request pusher-js's ajax authorizer makes, but keep the refusal's
    // body (see auth.ts); `transport`, `endpoint` and the headers stay for anyone reading the options.
    const channelHandler = channelAuthorizationHandler({
      endpoint: config.authEndpoint,
      headers: () => this.authHeaders(),
      fetch: fetchImpl,
      onFailure: (error, channelName) => {
        if (channelName !== undefined) this.authFailures[channelName] = error;
      },
    });
    const options: Options = {
      ...config.pusherOptions,
      cluster: config.cluster,
      channelAuthorization: { transport: 'ajax', endpoint: config.authEndpoint, ...auth, customHandler: channelHandler },
      ...(userAuthEndpoint
        ? {
            userAuthentication: {
              transport: 'ajax',
              endpoint: userAuthEndpoint,
              ...auth,
              customHandler: userAuthenticationHandler({
                endpoint: userAuthEndpoint,
                headers: () => this.authHeaders(),
                fetch: fetchImpl,
                onFailure: (error) => this.onUserAuthFailure(error),
              }),
            },
          }
        : {}),
    };
    if (config.wsHost !== undefined) options.wsHost = config.wsHost;
    if (config.wsPort !== undefined) {
      options.wsPort = config.wsPort;
      options.wssPort = config.wssPort ?? config.wsPort;
    } else if (config.wssPort !== undefined) options.wssPort = config.wssPort;
    if (config.forceTLS !== undefined) options.forceTLS = config.forceTLS;
    if (config.wsHost !== undefined && options.enabledTransports === undefined) {
      // A self-hosted server (soketi) speaks WebSocket only; the HTTP fallbacks would only add noise.
      options.enabledTransports = ['ws', 'wss'];
    }
    if (config.debug) Pusher.logToConsole = true;
    this.pusher = new Pusher(config.key, options);
  }

  /** The current headers for auth and history requests. */
  authHeaders(): Record<string, string> {
    const headers = this.config.authHeaders;
    return typeof headers === 'function' ? headers() : { ...(headers ?? {}) };
  }

  /** Subscribes to a public channel, e.g. `content-generation` (the same object for the same name). */
  subscribeToPublic<N extends string>(channelName: N): TypedChannel<FamilyOf<N>> {
    return this.subscribe(channelName);
  }

  /** Subscribes to `private-{channelName}`, e.g. `subscribeToPrivate(\`user-${userId}\`)`. */
  subscribeToPrivate<N extends string>(channelName: N): TypedChannel<FamilyOf<`private-${N}`>> {
    return this.subscribe(`private-${channelName}`);
  }

  /** Subscribes to `presence-{channelName}`, e.g. `subscribeToPresence(\`classroom-${classId}\`)`. */
  subscribeToPresence<N extends string>(channelName: N): TypedPresenceChannel<FamilyOf<`presence-${N}`>> {
    return this.subscribe(`presence-${channelName}`) as unknown as TypedPresenceChannel<FamilyOf<`presence-${N}`>>;
  }

  /** Subscribes to a channel by its full name (`private-user-5`); what the three methods above call. */
  subscribe(fullName: string): Channel {
    const existing = this.channels[fullName];
    if (existing) return existing;
    const channel = this.pusher.subscribe(fullName);
    this.channels[fullName] = channel;
    this.deliveries[fullName] = new ChannelDelivery(channel, {
      apiBase: this.config.apiBase,
      headers: () => this.authHeaders(),
      fetch: this.fetchImpl(),
      takeAuthFailure: () => {
        const refused = this.authFailures[fullName];
        delete this.authFailures[fullName];
        return refused;
      },
      pageSize: this.config.historyPageSize ?? 100,
      rememberIds: this.config.rememberIds ?? 1000,
      retryDelaysMs: this.config.historyRetryDelaysMs ?? [500, 2000],
      anchor: this.config.anchorOnSubscribe ?? true,
      timeoutMs: this.config.historyTimeoutMs ?? 10_000,
    });
    return channel;
  }

  /** Unsubscribes now (whoever else uses the channel) and forgets its delivered ids. */
  unsubscribe(channelName: string): void {
    if (this.channels[channelName]) {
      this.pusher.unsubscribe(channelName);
      this.forget(channelName);
    }
  }

  /**
   * Subscribes by full name and counts one more holder; `release` unsubscribes when the last holder
   * lets go. The React hooks use these so that two components on one channel share it.
   */
  retain(fullName: string): Channel {
    this.holders[fullName] = (this.holders[fullName] ?? 0) + 1;
    return this.subscribe(fullName);
  }

  /** One holder less (see `retain`); unsubscribes at zero. */
  release(fullName: string): void {
    const left = (this.holders[fullName] ?? 0) - 1;
    if (left > 0) {
      this.holders[fullName] = left;
      return;
    }
    delete this.holders[fullName];
    this.unsubscribe(fullName);
  }

  /**
   * Ends the session: unsubscribes every channel this client subscribed (pusher-js forgets them, so a
   * later `pusher.connect()` does not re-subscribe them and their callbacks never fire again), forgets
   * their delivered ids, then closes the connection. A later `subscribe…` starts afresh: a new
   * pusher-js channel (bind your callbacks again) and no recovery of what was published meanwhile.
   *
   * Recovery of missed events covers a *dropped* connection, which pusher-js re-opens by itself (and
   * re-subscribes every channel it still holds). To simulate one in a test, call
   * `client.pusher.disconnect()` and later `client.pusher.connect()`: pusher-js keeps its channels
   * across those two, so this client catches up on what was missed.
   */
  disconnect(): void {
    const names = Object.keys(this.channels);
    for (const name of names) this.unsubscribe(name);
    this.pusher.disconnect();
    // pusher-js only marks a channel whose subscription is still pending as cancelled (Pusher.unsubscribe)
    // and would re-subscribe it on the next connect; the disconnect cleared the pending state, so a
    // second call removes it from pusher-js for good.
    for (const name of names) {
      if (this.pusher.channel(name)) this.pusher.unsubscribe(name);
    }
    this.holders = {};
    this.authFailures = {};
  }

  /** Calls `listener` with every refused user sign-in (`pusher.signin()`); returns the function that stops it. */
  onUserAuthError(listener: (error: UserAuthErrorData) => void): () => void {
    this.userAuthListeners.add(listener);
    return () => {
      this.userAuthListeners.delete(listener);
    };
  }

  /** The pusher-js connection state. */
  get connectionState(): ConnectionState {
    return this.pusher.connection.state as ConnectionState;
  }

  /** Calls `listener` with every new connection state; returns the function that stops it. */
  onConnectionStateChange(listener: (state: ConnectionState) => void): () => void {
    const callback = (change: { current: ConnectionState }) => listener(change.current);
    this.pusher.connection.bind('state_change', callback);
    return () => {
      this.pusher.connection.unbind('state_change', callback);
    };
  }

  /** Delivery counters of a subscribed channel (delivered, duplicates dropped, recovered, recoveries). */
  deliveryStats(fullName: string): DeliveryStats | undefined {
    return this.deliveries[fullName]?.stats;
  }

  /** The last event id delivered on a subscribed channel. */
  lastEventId(fullName: string): string | undefined {
    return this.deliveries[fullName]?.lastEventId;
  }

  private fetchImpl(): typeof fetch {
    return this.config.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  private onUserAuthFailure(error: AuthRequestError): void {
    const data: UserAuthErrorData = {
      status: error.status,
      code: error.code,
      message: error.message,
      ...(error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {}),
      ...(error.requestId !== undefined ? { requestId: error.requestId } : {}),
    };
    for (const listener of this.userAuthListeners) listener(data);
  }

  private forget(channelName: string): void {
    this.deliveries[channelName]?.close();
    delete this.deliveries[channelName];
    delete this.channels[channelName];
  }
}
