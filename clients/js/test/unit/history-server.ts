/**
 * An in-memory history route with the contract's semantics (CONTRACT.md "Delivery"), as a `fetch`:
 * events after `after` in publish order, `limit` per page with `has_more`, the newest `limit` without
 * `after`, 410 `history_expired` for an id older than what is kept, and any status a test forces.
 */
export interface StoredEvent {
  event_id: string;
  event: string;
  data: Record<string, unknown>;
  published_at: string;
}

export class FakeHistory {
  readonly events = new Map<string, StoredEvent[]>();
  /** Ids published but no longer kept (older than the retention). */
  readonly expired = new Set<string>();
  readonly requests: Array<{ url: URL; headers: Record<string, string> }> = [];
  /** Statuses to answer before answering normally, e.g. [503] or [403]. */
  failures: Array<{ status: number; code: string; retryAfter?: number }> = [];
  private counter = 0;

  /** Records an event and returns what the server would send live (data with event_id). */
  publish(channel: string, event: string, data: Record<string, unknown>): StoredEvent {
    this.counter += 1;
    const id = `01J${String(this.counter).padStart(23, '0')}`;
    const stored = { event_id: id, event, data: { ...data, event_id: id }, published_at: new Date().toISOString() };
    const list = this.events.get(channel) ?? [];
    list.push(stored);
    this.events.set(channel, list);
    return stored;
  }

  /** Forgets every event of `channel` up to and including `id` (the retention passed them). */
  expireThrough(channel: string, id: string): void {
    const list = this.events.get(channel) ?? [];
    for (const e of list.filter((e) => e.event_id <= id)) this.expired.add(e.event_id);
    this.events.set(channel, list.filter((e) => e.event_id > id));
  }

  readonly fetch: typeof fetch = async (input, init) => {
    // A real request answers later: events published meanwhile are in the answer.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>));
    this.requests.push({ url, headers });
    const failure = this.failures.shift();
    if (failure) {
      return Response.json(
        { code: failure.code, message: `forced ${failure.status}` },
        { status: failure.status, headers: failure.retryAfter ? { 'retry-after': String(failure.retryAfter) } : {} },
      );
    }
    const match = /^\/realtime\/channels\/([^/]+)\/history$/.exec(url.pathname);
    if (!match?.[1]) return Response.json({ code: 'not_found', message: 'no route' }, { status: 404 });
    const channel = decodeURIComponent(match[1]);
    if (channel.startsWith('presence-')) {
      return Response.json({ code: 'history_not_kept', message: 'This channel keeps no history.' }, { status: 404 });
    }
    const limit = Number(url.searchParams.get('limit') ?? '100');
    const after = url.searchParams.get('after');
    const all = this.events.get(channel) ?? [];
    let selected: StoredEvent[];
    let hasMore: boolean;
    if (after === null) {
      selected = all.slice(-limit);
      hasMore = all.length > limit;
    } else {
      if (this.expired.has(after)) {
        return Response.json({ code: 'history_expired', message: 'That event is older than the history kept.' }, { status: 410 });
      }
      const newer = all.filter((e) => e.event_id > after);
      selected = newer.slice(0, limit);
      hasMore = newer.length > limit;
    }
    return Response.json({ channel, events: selected, has_more: hasMore });
  };

  historyRequests(): URL[] {
    return this.requests.map((r) => r.url);
  }
}

/** Resolves once pending promises and timers of 0 ms have run (history reads are async). */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setTimeout(resolve, 0));
}
