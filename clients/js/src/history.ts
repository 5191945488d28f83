/**
 * The history route (CONTRACT.md "Delivery"): `GET {apiBase}/realtime/channels/{channel}/history`
 * `?after={event_id}&limit={n}` with the caller's bearer token, answering
 * `{"channel", "events": [{"event_id", "event", "data", "published_at"}], "has_more"}` in publish order,
 * or 410 `history_expired` when `after` is older than the server keeps.
 */
import { isRecord, readJson, refusal } from './http.js';

/** One stored event, as the history route returns it. */
export interface HistoryEvent {
  event_id: string;
  event: string;
  data: unknown;
  published_at: string;
}

/** One page of history. */
export interface HistoryPage {
  channel: string;
  events: HistoryEvent[];
  has_more: boolean;
}

/** A failed history read: `status` is the HTTP status (0: no answer), `code` the error model's code. */
export class HistoryRequestError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds from `Retry-After` (429, 503), when the server sent it. */
  readonly retryAfter: number | undefined;

  constructor(status: number, code: string, message: string, retryAfter?: number) {
    super(message);
    this.name = 'HistoryRequestError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** True when trying again later can help (network failure, 429, 5xx). */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export interface HistoryRequest {
  apiBase: string;
  channel: string;
  after?: string | undefined;
  limit: number;
  headers: Record<string, string>;
  fetch: typeof fetch;
  /** Give up after this many ms (a hung request must not hold live events back forever). */
  timeoutMs: number;
}

/** The URL of one history page. */
export function historyUrl(apiBase: string, channel: string, after: string | undefined, limit: number): string {
  const query = new URLSearchParams();
  if (after !== undefined) query.set('after', after);
  query.set('limit', String(limit));
  return `${apiBase.replace(/\/+$/, '')}/realtime/channels/${encodeURIComponent(channel)}/history?${query}`;
}

function isHistoryEvent(value: unknown): value is HistoryEvent {
  return (
    isRecord(value) &&
    typeof value['event_id'] === 'string' &&
    typeof value['event'] === 'string' &&
    'data' in value
  );
}

/** The answer's body checked against the contract's shape (a wrong shape is an error, not a guess). */
export function parseHistoryPage(body: unknown): HistoryPage {
  if (
    !isRecord(body) ||
    typeof body['channel'] !== 'string' ||
    !Array.isArray(body['events']) ||
    typeof body['has_more'] !== 'boolean' ||
    !body['events'].every(isHistoryEvent)
  ) {
    throw new HistoryRequestError(200, 'invalid_history_response', 'The history answer does not have the documented shape.');
  }
  return { channel: body['channel'], events: body['events'], has_more: body['has_more'] };
}

/**
 * Reads one page of history.
 *
 * Raises `HistoryRequestError`: status 0 / `network_error` when there is no answer within `timeoutMs`
 * (or no answer at all); the answer's status
 * and its error-model `code` (e.g. 410 `history_expired`, 401 `unauthorized`, 403, 429 with
 * `retryAfter`) for any non-200; `invalid_history_response` for a 200 whose body is not a history page.
 */
export async function fetchHistoryPage(request: HistoryRequest): Promise<HistoryPage> {
  const url = historyUrl(request.apiBase, request.channel, request.after, request.limit);
  let response: Response;
  try {
    response = await request.fetch(url, {
      method: 'GET',
      headers: { accept: 'application/json', ...request.headers },
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    throw new HistoryRequestError(0, 'network_error', `The history request failed: ${String(error)}`);
  }
  const body = await readJson(response);
  if (response.status !== 200) {
    const r = refusal(response, body, `The history request answered ${response.status}.`);
    throw new HistoryRequestError(r.status, r.code, r.message, r.retryAfter);
  }
  return parseHistoryPage(body);
}
