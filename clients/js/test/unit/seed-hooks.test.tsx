// @vitest-environment jsdom
// The documentation's React hooks (test/fixtures/seed/hooks.tsx, unchanged) run on this package.
import { act, cleanup, renderHook } from '@testing-library/react';
import { afterEach, expect, it, vi } from 'vitest';

vi.mock('pusher-js', () => import('./fake-pusher.js'));

import FakePusher from './fake-pusher.js';
import { useContentGeneration, useRealtimeNotifications } from '../fixtures/seed/hooks.jsx';

afterEach(cleanup);

it('runs the documentation hooks unchanged: notifications, progress, cleanup', () => {
  const fake = FakePusher.latest();
  const notes = renderHook(() => useRealtimeNotifications('12345'));
  act(() => fake.serverSubscribed('private-user-12345'));
  expect(notes.result.current.connected).toBe(true);
  act(() => {
    fake.serverEvent('private-user-12345', 'personal_notification', { type: 'system', title: 'a', message: 'one', event_id: 'x' });
    fake.serverEvent('private-user-12345', 'personal_notification', { type: 'system', title: 'a', message: 'one', event_id: 'x' });
  });
  expect(notes.result.current.notifications).toHaveLength(1);

  const gen = renderHook(() => useContentGeneration('c1'));
  act(() => fake.serverEvent('content-generation', 'progress_update', { content_id: 'c1', progress: 30, stage: 's', event_id: 'y' }));
  expect(gen.result.current.progress).toBe(30);
  notes.unmount();
  gen.unmount();
  expect(fake.unsubscribed).toEqual(['private-user-12345', 'content-generation']);
});
