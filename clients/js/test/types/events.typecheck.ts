// Type-level tests: `npm run typecheck` (tsc --noEmit over src and test) must pass, and every line
// marked @ts-expect-error must be an error — if one starts to type-check, tsc reports the unused
// directive and the check fails. Nothing here runs.
import type { ContentGenerationUpdate, FamilyOf, ToolBoxAIPusher, UserNotification } from '../../src/index.js';
import { usePresence, useRealtimeNotifications } from '../../src/react/index.js';

declare const client: ToolBoxAIPusher;
declare const userId: string;

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

// Channel names map to the server's families.
assertType<Equal<FamilyOf<'content-generation'>, 'content-generation'>>();
assertType<Equal<FamilyOf<`private-user-${string}`>, 'private-user'>>();
assertType<Equal<FamilyOf<'private-encrypted-user-5'>, 'private-encrypted-user'>>();
assertType<Equal<FamilyOf<'presence-lesson-9'>, 'presence-lesson'>>();
assertType<Equal<FamilyOf<string>, undefined>>();
assertType<Equal<FamilyOf<'private-something-else'>, undefined>>();

// Catalog events are typed per channel family.
const content = client.subscribeToPublic('content-generation');
content.bind('progress_update', (d) => {
  const progress: number = d.progress;
  const id: string = d.event_id;
  const stage: string = d.stage;
  const contentId: ContentGenerationUpdate['content_id'] = d.content_id;
  void [progress, id, stage, contentId];
});
// @ts-expect-error progress is a number
content.bind('progress_update', (d) => d.progress.toUpperCase());
// @ts-expect-error content-generation events carry no `title`-typed string (index signature: unknown)
content.bind('generation_started', (d) => d.title.trim());

const user = client.subscribeToPrivate(`user-${userId}`);
user.bind('personal_notification', (d) => {
  const kind: 'grade' | 'assignment' | 'message' | 'system' = d.type;
  const note: UserNotification = d;
  void [kind, note];
});
// The same event name means another type on another family: progress_update on a user channel is a notification.
user.bind('progress_update', (d) => {
  const title: string = d.title;
  void title;
});
// @ts-expect-error a user notification has no numeric progress
user.bind('progress_update', (d) => d.progress.toFixed());

// Unknown events and unknown channels give `unknown`, never `any`.
// @ts-expect-error unknown event: data is unknown
content.bind('no_such_event', (d) => d.progress);
const dynamic = client.subscribeToPublic(String(Math.random()));
// @ts-expect-error family not known at compile time: data is unknown
dynamic.bind('progress_update', (d) => d.progress);

// pusher-js events pass through with their payloads.
const classroom = client.subscribeToPresence('classroom-101');
classroom.bind('pusher:member_added', (member) => {
  const name: string | undefined = member.info.name;
  void name;
});
classroom.bind('pusher:subscription_succeeded', (members) => {
  const count: number = members.count;
  void count;
});
classroom.bind('user_joined', (d) => {
  const joined: string = d.event_id;
  void joined;
});
content.bind('pusher:subscription_error', (e) => {
  const status: number | undefined = e.status;
  void status;
});
content.bind('toolboxai:history_gap', (gap) => {
  const after: string = gap.after;
  void after;
});
// @ts-expect-error presence channels only
void content.members.count;

// Hooks return the documented shapes.
export function Hooks() {
  const { notifications, connected } = useRealtimeNotifications(userId);
  const first: string | undefined = notifications[0]?.message;
  const { members, me } = usePresence('classroom-101');
  const names: Array<string | undefined> = members.map((m) => m.info.name);
  // @ts-expect-error `connected` is a boolean
  const wrong: string = connected;
  void [first, me, names, wrong];
  return null;
}
