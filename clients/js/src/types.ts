/**
 * Types for channels and their events: which channel family a name belongs to (the server's channel
 * table, `toolboxai_realtime.channels.CHANNELS`), and the data type of every catalog event on it
 * (`EventCatalog`, generated from `schema/catalog.schema.json`).
 */
import type { Channel, PresenceChannel } from 'pusher-js';
import type { DeliveredEvent, EventCatalog } from './generated/catalog.js';

/** A channel family id, as in the catalog (`private-user`, `content-generation`, …). */
export type Family = keyof EventCatalog;

/**
 * The family of a full channel name, from the server's channel templates; `undefined` for a name the
 * catalog has no events for (or a plain `string`, whose family is not known until run time).
 */
export type FamilyOf<N extends string> = N extends 'dashboard-updates' | 'content-generation' | 'agent-status'
  ? N
  : N extends `private-encrypted-user-${string}`
    ? 'private-encrypted-user'
    : N extends `private-encrypted-class-${string}`
      ? 'private-encrypted-class'
      : N extends `private-user-${string}`
        ? 'private-user'
        : N extends `private-class-${string}`
          ? 'private-class'
          : N extends `private-canary-${string}`
            ? 'private-canary'
            : N extends `presence-classroom-${string}`
              ? 'presence-classroom'
              : N extends `presence-lesson-${string}`
                ? 'presence-lesson'
                : undefined;

/**
 * What every delivered event's data carries besides its catalog fields (CONTRACT.md "Delivery";
 * `DeliveredEvent` in the catalog schema): `event_id`, unique per publish, the same on every channel of
 * one publish and on its retries, sorting by publish time.
 */
export type DeliveryFields = DeliveredEvent;

/** The data of a catalog event as a bound callback receives it. */
export type Delivered<T> = T & DeliveryFields;

/** The names of the catalog events of family `F`. */
export type EventName<F extends Family | undefined> = F extends Family ? keyof EventCatalog[F] & string : never;

/** One presence member as pusher-js hands it out (`{id, info}`), `info` being the server's `user_info`. */
export interface PresenceMember {
  id: string;
  info: PresenceUserInfo;
}

/** Presence `user_info` (CONTRACT.md "Channel policy"): identity from the token, status from the client. */
export interface PresenceUserInfo {
  name?: string;
  role?: 'student' | 'teacher' | 'admin';
  avatar_url?: string;
  status?: 'active' | 'away' | 'busy';
  current_activity?: string;
  [key: string]: unknown;
}

/** `pusher:subscription_error` as pusher-js 8 emits it (`status` is there for HTTP failures). */
export interface SubscriptionErrorData {
  type: string;
  error: string;
  status?: number;
  /** The error model's `code` from the auth endpoint (added by this package; pusher-js drops it). */
  code?: string;
}

/**
 * `toolboxai:auth_error`: the channel authorization was refused (401, 403) or rate limited (429).
 * `code` and `message` are the auth endpoint's error model (README "Errors"): e.g. 401 `token_expired`
 * (refresh the token and subscribe again), 401 `invalid_token`, 403 `not_own_user_channel`.
 */
export interface AuthErrorData {
  channel: string;
  status: 401 | 403 | 429;
  reason: 'unauthenticated' | 'forbidden' | 'rate_limited';
  /** The server's error code (`http_{status}` when the answer had no error-model body). */
  code: string;
  /** The server's message. */
  message: string;
  /** Seconds from `Retry-After` on a 429, when sent. */
  retryAfter?: number;
  /** The error model's `request_id`, when sent. */
  requestId?: string;
}

/** A refused user sign-in (`pusher.signin()`), for `ToolBoxAIPusher.onUserAuthError`; status 0: no answer. */
export interface UserAuthErrorData {
  status: number;
  code: string;
  message: string;
  retryAfter?: number;
  requestId?: string;
}

/**
 * `toolboxai:history_gap`: events were missed and cannot be recovered (410 `history_expired`: the last
 * event this client saw is older than the server keeps). Reload the state this channel feeds.
 */
export interface HistoryGapData {
  channel: string;
  /** The last event id delivered before the gap. */
  after: string;
  code: string;
  message: string;
}

/** `toolboxai:history_error`: the history could not be read (HTTP status 0 for a network failure). */
export interface HistoryErrorData {
  channel: string;
  after: string | undefined;
  status: number;
  code: string;
  message: string;
}

/** Events this package adds on every channel. */
export interface ToolBoxAIChannelEvents {
  'toolboxai:auth_error': AuthErrorData;
  'toolboxai:history_gap': HistoryGapData;
  'toolboxai:history_error': HistoryErrorData;
}

/** pusher-js's own events on every channel. */
export interface PusherChannelEvents {
  'pusher:subscription_succeeded': unknown;
  'pusher:subscription_error': SubscriptionErrorData;
  'pusher:subscription_count': { subscription_count: number };
}

/** pusher-js's events on presence channels (`subscription_succeeded` hands over the members). */
export interface PusherPresenceEvents extends Omit<PusherChannelEvents, 'pusher:subscription_succeeded'> {
  'pusher:subscription_succeeded': PresenceMembers;
  'pusher:member_added': PresenceMember;
  'pusher:member_removed': PresenceMember;
}

/** pusher-js's `Members` with its `any`s typed. */
export interface PresenceMembers {
  count: number;
  me: PresenceMember | null;
  myID: string;
  members: Record<string, PresenceUserInfo>;
  get(id: string): PresenceMember | null;
  each(callback: (member: PresenceMember) => void): void;
}

/** Second argument pusher-js passes to channel callbacks (`user_id` on client events of presence channels). */
export interface EventMetadata {
  user_id?: string;
}

type CatalogEvents<F extends Family | undefined> = F extends Family ? EventCatalog[F] : Record<never, never>;

/** The data a callback bound to `E` on a channel of family `F` receives. */
export type EventData<F extends Family | undefined, E extends string, P = PusherChannelEvents> =
  E extends keyof CatalogEvents<F>
    ? Delivered<CatalogEvents<F>[E]>
    : E extends keyof P
      ? P[E]
      : E extends keyof ToolBoxAIChannelEvents
        ? ToolBoxAIChannelEvents[E]
        : unknown;

/** Names offered by editors for `bind` (any other string is accepted and its data is `unknown`). */
type KnownName<F extends Family | undefined, P> = EventName<F> | (keyof P & string) | keyof ToolBoxAIChannelEvents;

interface TypedBinding<F extends Family | undefined, P> {
  /**
   * pusher-js's `bind`, typed: for a catalog event of this channel's family the callback receives that
   * event's data (with `event_id`); for pusher-js's and this package's events, their payload.
   */
  bind<E extends KnownName<F, P> | (string & {})>(
    eventName: E,
    callback: (data: EventData<F, E, P>, metadata?: EventMetadata) => void,
    context?: unknown,
  ): this;
  /** pusher-js's `unbind`: by event name, callback and context; all when called without arguments. */
  unbind(eventName?: string, callback?: (...args: never[]) => void, context?: unknown): this;
  /** pusher-js's `bind_global`: every event of this channel, after de-duplication and recovery. */
  bind_global(callback: (eventName: string, data: unknown) => void): this;
  unbind_global(callback?: (eventName: string, data: unknown) => void): this;
}

/** The pusher-js channel returned by `subscribeToPublic` / `subscribeToPrivate`, with typed `bind`. */
export type TypedChannel<F extends Family | undefined> = Omit<
  Channel,
  'bind' | 'unbind' | 'bind_global' | 'unbind_global'
> &
  TypedBinding<F, PusherChannelEvents>;

/** The pusher-js presence channel returned by `subscribeToPresence`, with typed `bind` and `members`. */
export type TypedPresenceChannel<F extends Family | undefined> = Omit<
  PresenceChannel,
  'bind' | 'unbind' | 'bind_global' | 'unbind_global' | 'members'
> &
  TypedBinding<F, PusherPresenceEvents> & { members: PresenceMembers };
