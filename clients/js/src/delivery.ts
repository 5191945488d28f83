/**
 * Exactly-once, in-order delivery for one pusher-js channel, across reconnects.
 *
 * pusher-js has no hook between "an event arrived" and "the bound callbacks run", so `ChannelDelivery`
 * wraps the channel instance's `emit` (the one method every event, live or internal, goes through —
 * pusher-js 8 `Channel.handleEvent` / `PresenceChannel.handleEvent` call it). The channel stays the
 * pusher-js object: `bind`, `unbind`, `bind_global`, `members`, `trigger` are untouched.
 *
 * - Every catalog event's data carries `event_id`. An id already delivered is dropped (a retried
 *   publish, or an event that arrives both live and from history); the ids remembered are bounded
 *   (`rememberIds`, oldest forgotten first).
 * - The first `pusher:subscription_succeeded` anchors the channel: when no event has been delivered
 *   yet, the id of the newest stored event (`history?limit=1`) becomes the point to recover from.
 * - Every later `pusher:subscription_succeeded` (pusher-js re-subscribes after each reconnect) starts a
 *   catch-up: history after the last delivered id, page by page while `has_more`; live events that
 *   arrive meanwhile wait in a buffer and follow the missed ones, so callbacks see publish order.
 * - A 404 `history_not_kept` (presence, encrypted and canary channels keep no history) ends history
 *   reads for the channel, quietly: there is nothing to recover from.
 * - A 410 `history_expired` becomes `toolboxai:history_gap`; other history failures (after retries for
 *   network errors, 429 and 5xx) `toolboxai:history_error`; a refused subscription (401/403/429 in
 *   `pusher:subscription_error`, which gets back the status pusher-js drops for a custom handler)
 *   `toolboxai:auth_error` with the server's `code` and `message`. The buffered live events are then delivered.
 */
import type { Channel } from 'pusher-js';
import { fetchHistoryPage, HistoryRequestError, type HistoryPage } from './history.js';
import type { AuthRequestError } from './auth.js';
import type { AuthErrorData, HistoryErrorData, HistoryGapData, SubscriptionErrorData } from './types.js';

type Emit = (eventName: string, data?: unknown, metadata?: unknown) => unknown;

/** What a channel's delivery needs from its client. */
export interface DeliveryOptions {
  /** The API's base URL; without it there is no recovery (de-duplication still applies). */
  apiBase: string | undefined;
  headers: () => Record<string, string>;
  fetch: typeof fetch;
  pageSize: number;
  rememberIds: number;
  /** Waits before retrying a failed history read (ms); `Retry-After` wins when it is longer. */
  retryDelaysMs: readonly number[];
  /** Anchor on the first subscription (see above). */
  anchor: boolean;
  /** Timeout of one history request, in ms. */
  timeoutMs: number;
  /** The auth endpoint's refusal for this channel, taken once (see `auth.ts`); undefined if none. */
  takeAuthFailure: () => AuthRequestError | undefined;
}

/** Counters a test or a dashboard can read. */
export interface DeliveryStats {
  delivered: number;
  duplicatesDropped: number;
  recovered: number;
  recoveries: number;
}

const EXPIRED = 'history_expired';
/** The answer for a family that keeps no history (presence, encrypted, canary channels). */
const NOT_KEPT = 'history_not_kept';

function eventIdOf(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    const id = (data as Record<string, unknown>)['event_id'];
    if (typeof id === 'string' && id.length > 0) return id;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Pending {
  eventName: string;
  data: unknown;
  metadata: unknown;
}

export class ChannelDelivery {
  readonly stats: DeliveryStats = { delivered: 0, duplicatesDropped: 0, recovered: 0, recoveries: 0 };
  private lastId: string | undefined;
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];
  private subscribedBefore = false;
  /** Bumped by every (re)subscription and by `close()`: a catch-up of an older generation stops. */
  private generation = 0;
  private catchingUp = false;
  private readonly buffer: Pending[] = [];
  private readonly emit: Emit;
  private closed = false;
  /** False once the server said this channel's family keeps no history: no more history reads. */
  private historyKept = true;

  constructor(
    private readonly channel: Channel,
    private readonly options: DeliveryOptions,
  ) {
    const target = channel as unknown as { emit: Emit };
    this.emit = target.emit.bind(channel);
    target.emit = (eventName, data, metadata) => {
      this.onEmit(eventName, data, metadata);
      return channel;
    };
  }

  /** The last event id delivered (or the anchor), the point a catch-up starts after. */
  get lastEventId(): string | undefined {
    return this.lastId;
  }

  /** True while missed events are being fetched (live events are held back meanwhile). */
  get recovering(): boolean {
    return this.catchingUp;
  }

  /** Stops any catch-up; the channel's events pass through unfiltered from now on. */
  close(): void {
    this.closed = true;
    this.generation += 1;
    this.catchingUp = false;
    this.buffer.length = 0;
    (this.channel as unknown as { emit: Emit }).emit = this.emit;
  }

  private onEmit(eventName: string, data: unknown, metadata: unknown): void {
    if (eventName === 'pusher:subscription_error') {
      this.onSubscriptionError(data as SubscriptionErrorData | undefined, metadata);
      return;
    }
    if (eventName.startsWith('pusher:') || eventName.startsWith('toolboxai:')) {
      this.emit(eventName, data, metadata);
      if (eventName === 'pusher:subscription_succeeded') this.onSubscribed();
      return;
    }
    if (this.catchingUp) {
      this.buffer.push({ eventName, data, metadata });
      return;
    }
    this.deliver(eventName, data, metadata);
  }

  /** Hands one event to the callbacks unless its id was delivered already. */
  private deliver(eventName: string, data: unknown, metadata: unknown): boolean {
    const id = eventIdOf(data);
    if (id !== undefined) {
      if (this.seen.has(id)) {
        this.stats.duplicatesDropped += 1;
        return false;
      }
      this.remember(id);
      this.lastId = id;
    }
    this.stats.delivered += 1;
    // pusher-js passes metadata ({} or {user_id}) to channel callbacks; keep that shape.
    this.emit(eventName, data, metadata ?? {});
    return true;
  }

  private remember(id: string): void {
    this.seen.add(id);
    this.seenOrder.push(id);
    while (this.seenOrder.length > this.options.rememberIds) {
      const oldest = this.seenOrder.shift();
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  private onSubscribed(): void {
    if (this.closed) return;
    this.generation += 1;
    const generation = this.generation;
    const first = !this.subscribedBefore;
    this.subscribedBefore = true;
    if (this.options.apiBase === undefined || !this.historyKept || first || this.lastId === undefined) {
      // Nothing to recover from (a catch-up this subscription replaces may have left events waiting).
      this.flush();
      if (first && this.options.apiBase !== undefined && this.historyKept && this.options.anchor && this.lastId === undefined) {
        void this.anchor(generation);
      }
      return;
    }
    this.catchingUp = true;
    this.stats.recoveries += 1;
    void this.catchUp(generation, this.lastId);
  }

  /**
   * pusher-js emits `pusher:subscription_error` with `status` only for its own `HTTPAuthError` (a class
   * it does not export); with our `customHandler` the refusal's status and code come from the request
   * this client made, so they are put back here before the app's callbacks see the event.
   */
  private onSubscriptionError(data: SubscriptionErrorData | undefined, metadata: unknown): void {
    const refused = this.options.takeAuthFailure();
    const error: SubscriptionErrorData = {
      ...(data ?? { type: 'AuthError', error: '' }),
      ...(refused && refused.status !== 0 ? { status: refused.status, code: refused.code } : {}),
    };
    this.emit('pusher:subscription_error', error, metadata);
    const status = error.status;
    if (status !== 401 && status !== 403 && status !== 429) return;
    const reason = status === 401 ? 'unauthenticated' : status === 403 ? 'forbidden' : 'rate_limited';
    const payload: AuthErrorData = {
      channel: this.channel.name,
      status,
      reason,
      code: refused?.code ?? `http_${status}`,
      message: refused?.message ?? error.error,
      ...(refused?.retryAfter !== undefined ? { retryAfter: refused.retryAfter } : {}),
      ...(refused?.requestId !== undefined ? { requestId: refused.requestId } : {}),
    };
    this.emit('toolboxai:auth_error', payload);
  }

  private async page(after: string | undefined, limit: number, generation: number): Promise<HistoryPage | undefined> {
    const delays = this.options.retryDelaysMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await fetchHistoryPage({
          apiBase: this.options.apiBase as string,
          channel: this.channel.name,
          after,
          limit,
          headers: this.options.headers(),
          fetch: this.options.fetch,
          timeoutMs: this.options.timeoutMs,
        });
      } catch (error) {
        const delay = delays[attempt];
        if (!(error instanceof HistoryRequestError) || !error.retryable || delay === undefined) throw error;
        await sleep(Math.max(delay, (error.retryAfter ?? 0) * 1000));
        if (generation !== this.generation) return undefined;
      }
    }
  }

  private async anchor(generation: number): Promise<void> {
    try {
      const page = await this.page(undefined, 1, generation);
      const newest = page?.events.at(-1);
      if (generation === this.generation && this.lastId === undefined && newest !== undefined) {
        this.lastId = newest.event_id;
      }
    } catch (error) {
      if (generation === this.generation) this.reportFailure(error, undefined);
    }
  }

  private async catchUp(generation: number, after: string): Promise<void> {
    let cursor = after;
    try {
      for (;;) {
        const page = await this.page(cursor, this.options.pageSize, generation);
        if (page === undefined || generation !== this.generation) return;
        for (const event of page.events) {
          if (this.deliver(event.event, event.data, {})) this.stats.recovered += 1;
          cursor = event.event_id;
        }
        if (!page.has_more || page.events.length === 0) break;
      }
    } catch (error) {
      if (generation !== this.generation) return;
      this.reportFailure(error, cursor);
    }
    if (generation === this.generation) this.flush();
  }

  /** Ends a catch-up: live events that arrived meanwhile, in arrival order (those history gave are dropped). */
  private flush(): void {
    this.catchingUp = false;
    while (this.buffer.length > 0 && !this.catchingUp) {
      const next = this.buffer.shift() as Pending;
      this.deliver(next.eventName, next.data, next.metadata);
    }
  }

  private reportFailure(error: unknown, after: string | undefined): void {
    const failure =
      error instanceof HistoryRequestError ? error : new HistoryRequestError(0, 'history_failed', String(error));
    if (failure.status === 404 && failure.code === NOT_KEPT) {
      // Not an error: this family has no history (README "Delivery guarantee"); de-duplication goes on.
      this.historyKept = false;
      return;
    }
    if (failure.status === 410 && failure.code === EXPIRED && after !== undefined) {
      const gap: HistoryGapData = { channel: this.channel.name, after, code: failure.code, message: failure.message };
      // The app reloads its state now; the next recovery starts from the newest stored event, not from
      // an id that will never be found again (unless a live event comes first).
      this.lastId = undefined;
      if (this.options.anchor) void this.anchor(this.generation);
      this.emit('toolboxai:history_gap', gap);
      return;
    }
    const payload: HistoryErrorData = {
      channel: this.channel.name,
      after,
      status: failure.status,
      code: failure.code,
      message: failure.message,
    };
    this.emit('toolboxai:history_error', payload);
  }
}
