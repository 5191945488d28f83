/**
 * Reading the API's answers: its JSON error model (`{"code", "message", "request_id"}`, README
 * "Endpoints") and `Retry-After`, shared by the auth requests and the history reads.
 */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body as JSON, or `undefined` when it is not JSON (a proxy's HTML error page). */
export async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

/** A refusal as the error model describes it; `code` falls back to `http_{status}`. */
export interface ApiRefusal {
  status: number;
  code: string;
  message: string;
  /** Seconds from `Retry-After` (429, 503), when the server sent it. */
  retryAfter: number | undefined;
  requestId: string | undefined;
}

/** The error model of a non-200 answer, with `fallbackMessage` when the body does not carry one. */
export function refusal(response: Response, body: unknown, fallbackMessage: string): ApiRefusal {
  const field = (name: string): string | undefined =>
    isRecord(body) && typeof body[name] === 'string' ? body[name] : undefined;
  const retryAfterHeader = Number(response.headers.get('retry-after'));
  return {
    status: response.status,
    code: field('code') ?? `http_${response.status}`,
    message: field('message') ?? fallbackMessage,
    retryAfter: Number.isFinite(retryAfterHeader) && retryAfterHeader > 0 ? retryAfterHeader : undefined,
    requestId: field('request_id'),
  };
}
