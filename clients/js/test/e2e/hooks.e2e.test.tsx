// @vitest-environment jsdom
// The React hooks rendered with @testing-library/react in jsdom, on real pusher-js, against the stack.
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { afterEach, expect, it } from 'vitest';
import type { ToolBoxAIPusher } from '../../src/index.js';
import { ToolBoxAIProvider, useContentGeneration, usePresence, useRealtimeNotifications } from '../../src/react/index.js';
import { adminToken, connect, publish, subscribed, token, unique } from './helpers.js';

const clients: ToolBoxAIPusher[] = [];
afterEach(() => {
  cleanup();
  for (const client of clients.splice(0)) client.disconnect();
});

function Dashboard({ userId, contentId, classId }: { userId: string; contentId: string; classId: string }) {
  const { notifications, connected } = useRealtimeNotifications(userId);
  const { progress, status } = useContentGeneration(contentId);
  const { members, me, joined } = usePresence(`classroom-${classId}`);
  return (
    <div>
      <p data-testid="connected">{String(connected)}</p>
      <ul data-testid="notifications">
        {notifications.map((n) => (
          <li key={n.event_id}>{n.message}</li>
        ))}
      </ul>
      <p data-testid="progress">
        {status} {progress}
      </p>
      <p data-testid="members">{members.map((m) => m.info.name).join(',')}</p>
      <p data-testid="me">{me?.info.name ?? ''}</p>
      <p data-testid="joined">{joined?.info.name ?? ''}</p>
    </div>
  );
}

it('shows notifications, progress and presence from the stack, and lets go of every channel on unmount', async () => {
  const userId = unique('u');
  const classId = unique('k');
  const contentId = unique('c');
  const client = connect(await token({ sub: userId, name: 'Ada', classIds: [classId] }));
  clients.push(client);
  const view = render(
    <ToolBoxAIProvider client={client}>
      <Dashboard userId={userId} contentId={contentId} classId={classId} />
    </ToolBoxAIProvider>,
  );
  await waitFor(() => expect(screen.getByTestId('connected').textContent).toBe('true'), { timeout: 15_000 });
  await waitFor(() => expect(screen.getByTestId('me').textContent).toBe('Ada'), { timeout: 15_000 });

  const admin = await adminToken();
  await act(async () => {
    await publish(admin, `private-user-${userId}`, 'personal_notification', { type: 'message', title: 'T', message: 'first' });
    await publish(admin, `private-user-${userId}`, 'personal_notification', { type: 'message', title: 'T', message: 'second' });
    await publish(admin, 'content-generation', 'generation_started', { content_id: contentId, progress: 0, stage: 'start' });
    await publish(admin, 'content-generation', 'progress_update', { content_id: contentId, progress: 55, stage: 'mid' });
  });
  await waitFor(() => expect(screen.getByTestId('notifications').textContent).toBe('secondfirst'), { timeout: 15_000 });
  await waitFor(() => expect(screen.getByTestId('progress').textContent).toBe('generating 55'), { timeout: 15_000 });

  // A classmate joins from another connection.
  const other = connect(await token({ sub: unique('u'), name: 'Bo', classIds: [classId] }));
  clients.push(other);
  await subscribed(other.subscribeToPresence(`classroom-${classId}`));
  await waitFor(() => expect(screen.getByTestId('joined').textContent).toBe('Bo'), { timeout: 15_000 });
  expect(screen.getByTestId('members').textContent?.split(',').sort()).toEqual(['Ada', 'Bo']);

  // The socket drops; three notifications are published meanwhile; after the reconnect the list has
  // each of them once, newest first, above the earlier ones.
  client.pusher.disconnect();
  await waitFor(() => expect(screen.getByTestId('connected').textContent).toBe('false'));
  for (const message of ['third', 'fourth', 'fifth']) {
    await publish(admin, `private-user-${userId}`, 'personal_notification', { type: 'message', title: 'T', message });
  }
  client.pusher.connect();
  await waitFor(() => expect(screen.getByTestId('notifications').textContent).toBe('fifthfourththirdsecondfirst'), {
    timeout: 20_000,
  });
  expect(screen.getByTestId('connected').textContent).toBe('true');

  view.unmount();
  // pusher-js drops a channel whose subscription is still pending once the server confirms it.
  await waitFor(() => expect(client.pusher.allChannels().map((c) => c.name)).toEqual([]), { timeout: 10_000 });
});
