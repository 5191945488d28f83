/**
 * `@toolboxai/realtime/react`: the documentation's hooks (`useRealtimeNotifications`,
 * `useContentGeneration`) and `usePresence`, over one shared `ToolBoxAIPusher`.
 *
 * Put one `<ToolBoxAIProvider client={…}>` near the root: every hook below it uses that client, so the
 * whole app has one connection. Hooks hold their channel with `retain`/`release` (two components on one
 * channel share it; the last one to unmount unsubscribes) and unbind exactly the callbacks they bound.
 */
import { createContext, createElement, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import type { Channel } from 'pusher-js';
import type { ToolBoxAIPusher } from '../client.js';
import type { ContentGenerationUpdate, UserNotification } from '../generated/catalog.js';
import type {
  AuthErrorData,
  Delivered,
  HistoryGapData,
  PresenceMember,
  PresenceMembers,
  TypedChannel,
  TypedPresenceChannel,
} from '../types.js';

const ClientContext = createContext<ToolBoxAIPusher | null>(null);

export interface ToolBoxAIProviderProps {
  client: ToolBoxAIPusher;
  children?: ReactNode;
}

/** Makes `client` the connection of every hook below it. */
export function ToolBoxAIProvider({ client, children }: ToolBoxAIProviderProps): ReactNode {
  return createElement(ClientContext.Provider, { value: client }, children);
}

/** The provider's client. Throws when there is no `<ToolBoxAIProvider>` above the component. */
export function useToolBoxAIClient(): ToolBoxAIPusher {
  const client = useContext(ClientContext);
  if (client === null) {
    throw new Error('ToolBoxAI hooks need a <ToolBoxAIProvider client={new ToolBoxAIPusher(...)}> above them.');
  }
  return client;
}

type Listener = (data: never) => void;

/**
 * Holds `fullName` while mounted, binds `handlers` and unbinds them on cleanup. `subscribed` follows the
 * subscription (and turns false while the connection is down); `error` is the last refusal.
 */
function useChannel(
  client: ToolBoxAIPusher,
  fullName: string | null,
  bindAll: (channel: Channel) => Array<[string, Listener]>,
): { subscribed: boolean; error: AuthErrorData | null; gap: HistoryGapData | null } {
  const [subscribed, setSubscribed] = useState(false);
  const [error, setError] = useState<AuthErrorData | null>(null);
  const [gap, setGap] = useState<HistoryGapData | null>(null);
  // The binder is a new function every render; the subscription's identity is (client, fullName), and
  // the callbacks it binds read what changes between renders through refs.
  const binder = useRef(bindAll);
  useEffect(() => {
    binder.current = bindAll;
  });
  useEffect(() => {
    if (fullName === null) return undefined;
    const channel = client.retain(fullName);
    const bound: Array<[string, (...args: never[]) => void]> = [];
    const on = (event: string, cb: (...args: never[]) => void): void => {
      channel.bind(event, cb);
      bound.push([event, cb]);
    };
    on('pusher:subscription_succeeded', () => {
      setSubscribed(true);
      setError(null);
    });
    on('toolboxai:auth_error', (data: AuthErrorData) => {
      setSubscribed(false);
      setError(data);
    });
    on('toolboxai:history_gap', (data: HistoryGapData) => setGap(data));
    for (const [event, cb] of binder.current(channel)) bound.push([event, cb]);
    setSubscribed(channel.subscribed);
    const stopWatching = client.onConnectionStateChange((state) => {
      if (state !== 'connected') setSubscribed(false);
    });
    return () => {
      stopWatching();
      for (const [event, cb] of bound) channel.unbind(event, cb);
      client.release(fullName);
      setSubscribed(false);
    };
  }, [client, fullName]);
  return { subscribed, error, gap };
}

function bindEach(
  channel: Channel,
  pairs: Array<[string, Listener]>,
): Array<[string, Listener]> {
  for (const [event, cb] of pairs) channel.bind(event, cb);
  return pairs;
}

/** A notification as `useRealtimeNotifications` lists it: the catalog's `UserNotification` plus `event_id`. */
export type RealtimeNotification = Delivered<UserNotification>;

export interface RealtimeNotificationsState {
  /** Newest first. */
  notifications: RealtimeNotification[];
  /** Subscribed to `private-user-{userId}` (false while the connection is down). */
  connected: boolean;
  /** The last refusal of the subscription (401, 403, 429), or null. */
  error: AuthErrorData | null;
  /** Set when events were missed beyond the server's history: reload the notifications. */
  gap: HistoryGapData | null;
}

/**
 * The documentation's hook: `personal_notification` events of `private-user-{userId}`, newest first.
 * Without a `userId` (not signed in yet) it subscribes to nothing. A new `userId` starts a new list.
 */
export function useRealtimeNotifications(userId: string | null | undefined): RealtimeNotificationsState {
  const client = useToolBoxAIClient();
  const [notifications, setNotifications] = useState<RealtimeNotification[]>([]);
  useEffect(() => setNotifications([]), [userId]);
  const { subscribed, error, gap } = useChannel(client, userId ? `private-user-${userId}` : null, (channel) =>
    bindEach(channel, [
      ['personal_notification', (data: RealtimeNotification) => setNotifications((prev) => [data, ...prev])],
    ]),
  );
  return { notifications, connected: subscribed, error, gap };
}

export type GenerationStatus = 'idle' | 'generating' | 'completed' | 'error';

export interface ContentGenerationState {
  /** Percent, 0-100. */
  progress: number;
  status: GenerationStatus;
  /** The `error` of `generation_failed`, or null. */
  error: string | null;
  /** The pipeline stage of the last event, or null. */
  stage: string | null;
  /** Subscribed to `content-generation`. */
  connected: boolean;
}

/**
 * The documentation's hook: progress of content generation from the public `content-generation`
 * channel, for one `contentId` or (without it) for any content.
 */
export function useContentGeneration(contentId?: string): ContentGenerationState {
  const client = useToolBoxAIClient();
  const [progress, setProgress] = useState(0);
  const [status, setStatus] = useState<GenerationStatus>('idle');
  const [error, setError] = useState<string | null>(null);
  const [stage, setStage] = useState<string | null>(null);
  const wanted = useRef(contentId);
  wanted.current = contentId;
  const mine = (data: ContentGenerationUpdate): boolean => !wanted.current || data.content_id === wanted.current;
  const { subscribed } = useChannel(client, 'content-generation', (channel) => {
    const typed = channel as unknown as TypedChannel<'content-generation'>;
    const pairs: Array<[string, Listener]> = [];
    const on = <E extends 'generation_started' | 'progress_update' | 'generation_completed' | 'generation_failed'>(
      event: E,
      cb: (data: Delivered<ContentGenerationUpdate>) => void,
    ): void => {
      typed.bind(event, cb);
      pairs.push([event, cb]);
    };
    on('generation_started', (data) => {
      if (!mine(data)) return;
      setStatus('generating');
      setProgress(0);
      setError(null);
      setStage(data.stage);
    });
    on('progress_update', (data) => {
      if (!mine(data)) return;
      setProgress(data.progress);
      setStage(data.stage);
    });
    on('generation_completed', (data) => {
      if (!mine(data)) return;
      setStatus('completed');
      setProgress(100);
      setStage(data.stage);
    });
    on('generation_failed', (data) => {
      if (!mine(data)) return;
      setStatus('error');
      setError(data.error ?? 'Content generation failed.');
      setStage(data.stage);
    });
    return pairs;
  });
  // A different content id starts over.
  useEffect(() => {
    setProgress(0);
    setStatus('idle');
    setError(null);
    setStage(null);
  }, [contentId]);
  return { progress, status, error, stage, connected: subscribed };
}

export interface PresenceState {
  /** Everyone on the channel (you included), in pusher-js's order. */
  members: PresenceMember[];
  /** You, as the server announced you (`user_info` from your token), once subscribed. */
  me: PresenceMember | null;
  /** The member who joined last, and who left last (null until it happens). */
  joined: PresenceMember | null;
  left: PresenceMember | null;
  subscribed: boolean;
  error: AuthErrorData | null;
}

export interface PresenceOptions {
  /** Called when someone joins (pusher-js `pusher:member_added`). */
  onJoin?: (member: PresenceMember) => void;
  /** Called when someone leaves (pusher-js `pusher:member_removed`). */
  onLeave?: (member: PresenceMember) => void;
}

function listMembers(members: PresenceMembers): PresenceMember[] {
  const list: PresenceMember[] = [];
  members.each((member) => list.push(member));
  return list;
}

/**
 * Who is on `presence-{name}` (the same name `subscribeToPresence` takes, e.g. `classroom-101`):
 * members, me, and who joined and left last. Pass `null` to stay off the channel.
 */
export function usePresence(name: string | null, options: PresenceOptions = {}): PresenceState {
  const client = useToolBoxAIClient();
  const [members, setMembers] = useState<PresenceMember[]>([]);
  const [me, setMe] = useState<PresenceMember | null>(null);
  const [joined, setJoined] = useState<PresenceMember | null>(null);
  const [left, setLeft] = useState<PresenceMember | null>(null);
  const callbacks = useRef(options);
  callbacks.current = options;
  const { subscribed, error } = useChannel(client, name === null ? null : `presence-${name}`, (channel) => {
    const typed = channel as unknown as TypedPresenceChannel<undefined>;
    const refresh = (): void => {
      setMembers(listMembers(typed.members));
      setMe(typed.members.me);
    };
    const pairs: Array<[string, Listener]> = [
      ['pusher:subscription_succeeded', refresh],
      [
        'pusher:member_added',
        (member: PresenceMember) => {
          refresh();
          setJoined(member);
          callbacks.current.onJoin?.(member);
        },
      ],
      [
        'pusher:member_removed',
        (member: PresenceMember) => {
          refresh();
          setLeft(member);
          callbacks.current.onLeave?.(member);
        },
      ],
    ];
    if (typed.subscribed) refresh();
    return bindEach(channel, pairs);
  });
  useEffect(() => {
    if (name !== null) return;
    setMembers([]);
    setMe(null);
  }, [name]);
  return { members, me, joined, left, subscribed, error };
}
