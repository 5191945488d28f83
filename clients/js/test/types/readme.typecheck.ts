// The README's configuration example (section "Front-end: `@toolboxai/realtime`", the first ```ts
// block), between the BEGIN/END lines, type-checked by `npm run check`; test/unit/readme.test.ts fails
// when the README and this copy differ. The names it takes from the app are declared here.
declare function getToken(): string;
declare function updateProgressBar(progress: number): void;
declare function toast(title: string, message: string): void;
declare function addUserToList(member: { id: string; info: { name?: string } }): void;
declare function reloadNotifications(): void;
declare function signIn(): void;
declare function refreshToken(): void;
declare const userId: string;
declare const classId: string;

// ---- BEGIN README
import { ToolBoxAIPusher } from '@toolboxai/realtime';
// From your app: getToken() returns the signed-in user's current access token (the JWT your login
// issues; `make token` mints one locally); userId is that user's id (the token's `sub`), classId one
// of their classes; updateProgressBar, toast, addUserToList, reloadNotifications, refreshToken and
// signIn are your UI's functions.

export const pusherClient = new ToolBoxAIPusher({
  key: 'toolboxai-local-key',                 // PUSHER_KEY
  cluster: 'mt1',
  wsHost: '127.0.0.1', wsPort: 6001, forceTLS: false,   // make dev's soketi; omit all three for Pusher itself
  authEndpoint: 'http://127.0.0.1:8008/pusher/auth',
  userAuthEndpoint: 'http://127.0.0.1:8008/pusher/user-auth',   // for pusherClient.pusher.signin()
  apiBase: 'http://127.0.0.1:8008',           // the history route: recovery of missed events
  authHeaders: () => ({ Authorization: `Bearer ${getToken()}` }), // called for every request: tokens expire
});

const content = pusherClient.subscribeToPublic('content-generation');
content.bind('progress_update', (d) => updateProgressBar(d.progress));       // d: ContentGenerationUpdate & {event_id}
const mine = pusherClient.subscribeToPrivate(`user-${userId}`);              // private-user-…
mine.bind('personal_notification', (n) => toast(n.title, n.message));        // n.type: 'grade' | 'assignment' | 'message' | 'system'
const room = pusherClient.subscribeToPresence(`classroom-${classId}`);       // presence-classroom-…
room.bind('pusher:member_added', (m) => addUserToList(m));                    // m: {id, info: {name, role, …}}
mine.bind('toolboxai:history_gap', () => reloadNotifications());              // see "Delivery guarantee"
mine.bind('toolboxai:auth_error', (e) => {                                    // 401 / 403 / 429, with the server's code
  if (e.code === 'token_expired') refreshToken();                            // then subscribe again
  else if (e.status === 401) signIn();                                       // e.code: invalid_signature, malformed_token, …
});
// A private channel is usable once pusher:subscription_succeeded fired (`mine.subscribed` is then true):
const mineReady = new Promise<void>((resolve, reject) => {
  if (mine.subscribed) resolve();
  mine.bind('pusher:subscription_succeeded', () => resolve());              // fires again after each reconnect
  mine.bind('toolboxai:auth_error', (e) => reject(new Error(`${e.status} ${e.code}: ${e.message}`)));
});
// unsubscribe('private-user-12345') takes the full name; disconnect() ends the session (see below).
// ---- END README

export { mineReady };
