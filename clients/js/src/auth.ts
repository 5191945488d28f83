/**
 * Channel authorization and user authentication requests that keep the server's answer.
 *
 * pusher-js 8's default `ajax` authorizer (src/runtimes/isomorphic/auth/xhr_auth.ts) turns any non-200
 * into an `HTTPAuthError` whose message is generic text: the error model's body
 * (`{"code", "message", "request_id"}`) is dropped, so an app cannot tell `token_expired` (refresh the
 * token) from `not_own_user_channel`. pusher-js's supported `customHandler` option replaces that request;
 * these handlers send the same request (POST, `application/x-www-form-urlencoded` body
 * `socket_id=…&channel_name=…`, the configured headers) and keep the body of a refusal.
 */
import type {
  ChannelAuthorizationCallback,
  ChannelAuthorizationHandler,
  UserAuthenticationCallback,
  UserAuthenticationHandler,
} from 'pusher-js';

import { isRecord, readJson, refusal } from './http.js';

/** A refused auth request: the HTTP status (0: no answer) and the error model's fields. */
export class AuthRequestError extends Error {
  readonly status: number;
  /** The error model's `code` (e.g. `token_expired`), or `http_{status}` / `network_error`. */
  readonly code: string;
  /** Seconds from `Retry-After` (429), when the server sent it. */
  readonly retryAfter: number | undefined;
  /** The error model's `request_id`, to quote to the API's operators. */
  readonly requestId: string | undefined;

  constructor(status: number, code: string, message: string, retryAfter?: number, requestId?: string) {
    super(message);
    this.name = 'AuthRequestError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.requestId = requestId;
  }
}

/** What the handlers need from the client. */
export interface AuthRequestOptions {
  endpoint: string;
  headers: () => Record<string, string>;
  fetch: typeof fetch;
  /** Called with every refusal before pusher-js hears of it (the client keeps it for `toolboxai:auth_error`). */
  onFailure: (error: AuthRequestError, channelName: string | undefined) => void;
}

/**
 * POSTs `form` to `endpoint` as pusher-js does and returns the parsed 200 body.
 *
 * Raises `AuthRequestError`: status 0 / `network_error` without an answer; the answer's status, its
 * error-model `code`, `message`, `request_id` and `Retry-After` for any non-200; status 200 /
 * `invalid_auth_response` for a 200 whose body is not a JSON object.
 */
export async function postAuth(
  endpoint: string,
  form: Record<string, string>,
  headers: Record<string, string>,
  fetchImpl: typeof fetch,
): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetchImpl(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
  } catch (error) {
    throw new AuthRequestError(0, 'network_error', `The auth request to ${endpoint} failed: ${String(error)}`);
  }
  const body = await readJson(response);
  if (response.status !== 200) {
    const r = refusal(response, body, `The auth endpoint answered ${response.status}.`);
    throw new AuthRequestError(r.status, r.code, r.message, r.retryAfter, r.requestId);
  }
  if (!isRecord(body)) {
    throw new AuthRequestError(200, 'invalid_auth_response', `The auth endpoint ${endpoint} answered 200 without a JSON object.`);
  }
  return body;
}

function failure(error: unknown): AuthRequestError {
  return error instanceof AuthRequestError ? error : new AuthRequestError(0, 'network_error', String(error));
}

/** pusher-js `channelAuthorization.customHandler`. */
export function channelAuthorizationHandler(options: AuthRequestOptions): ChannelAuthorizationHandler {
  return (params, callback: ChannelAuthorizationCallback) => {
    postAuth(
      options.endpoint,
      { socket_id: params.socketId, channel_name: params.channelName },
      options.headers(),
      options.fetch,
    ).then(
      (data) => callback(null, data as unknown as Parameters<ChannelAuthorizationCallback>[1]),
      (error: unknown) => {
        const refused = failure(error);
        options.onFailure(refused, params.channelName);
        callback(refused, null);
      },
    );
  };
}

/** pusher-js `userAuthentication.customHandler` (used by `pusher.signin()`). */
export function userAuthenticationHandler(options: AuthRequestOptions): UserAuthenticationHandler {
  return (params, callback: UserAuthenticationCallback) => {
    postAuth(options.endpoint, { socket_id: params.socketId }, options.headers(), options.fetch).then(
      (data) => callback(null, data as unknown as Parameters<UserAuthenticationCallback>[1]),
      (error: unknown) => {
        const refused = failure(error);
        options.onFailure(refused, undefined);
        callback(refused, null);
      },
    );
  };
}
