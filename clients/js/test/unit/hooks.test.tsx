// @vitest-environment jsdom
import { act, cleanup, render, renderHook } from '@testing-library/react';
import { StrictMode, type ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('pusher-js', () => import('./fake-pusher.js'));

import FakePusher from './fake-pusher.js';
import { FakeHistory, settle } from './history-server.js';
import { ToolBoxAIPusher } from '../../src/index.js';
import {
  ToolBoxAIProvider,
  useContentGeneration,
  usePresence,
  useRealtimeNotifications,
} from '../../src/react/index.js';

let client: ToolBoxAIPusher;
let fake: FakePusher;

function wrapper({ children }: { children?: ReactNode }) {
  return <ToolBoxAIProvider client={client}>{children}</ToolBoxAIProvider>;
}

beforeEach(() => {
  FakePusher.instances.length = 0;
  client = new ToolBoxAIPusher({
    key: 'k',
    cluster: 'mt1',
    authEndpoint: 'http://api/pusher/auth',
    apiBase: 'http://api',
    fetch: new FakeHistory().fetch,
  });
  fake = FakePusher.latest();
});

afterEach(cleanup);

function note(message: string, id: string) {
  return { type: 'message', title: 'T', message, event_id: id };
}

function boundCount(name: string): number {
  const channel = fake.channel(name);
  if (!channel) return 0;
  return [...channel.callbacks.values()].reduce((n, list) => n + list.length, 0);
}

describe('useRealtimeNotifications', () => {
  it('lists personal notifications newest first and reports the subscription', () => {
    const { result } = renderHook(() => useRealtimeNotifications('5'), { wrapper });
    expect(result.current.connected).toBe(false);
    act(() => fake.serverSubscribed('private-user-5'));
    expect(result.current.connected).toBe(true);
    act(() => {
      fake.serverEvent('private-user-5', 'personal_notification', note('first', 'a'));
      fake.serverEvent('private-user-5', 'personal_notification', note('second', 'b'));
      fake.serverEvent('private-user-5', 'personal_notification', note('second', 'b'));
    });
    expect(result.current.notifications.map((n) => n.message)).toEqual(['second', 'first']);
    act(() => fake.connection.setState('unavailable'));
    expect(result.current.connected).toBe(false);
  });

  it('reports a refused subscription', () => {
    const { result } = renderHook(() => useRealtimeNotifications('5'), { wrapper });
    act(() => fake.serverRefused('private-user-5', 403));
    expect(result.current.error).toMatchObject({ status: 403, reason: 'forbidden' });
    expect(result.current.connected).toBe(false);
  });

  it('subscribes to nothing without a user id', () => {
    renderHook(() => useRealtimeNotifications(null), { wrapper });
    expect(fake.channels.size).toBe(0);
  });

  it('unbinds and unsubscribes on unmount, and moves to the new channel when the user changes', () => {
    const { rerender, unmount } = renderHook(({ id }) => useRealtimeNotifications(id), {
      wrapper,
      initialProps: { id: '5' },
    });
    expect(boundCount('private-user-5')).toBeGreaterThan(0);
    rerender({ id: '6' });
    expect(fake.unsubscribed).toEqual(['private-user-5']);
    expect(fake.channels.has('private-user-6')).toBe(true);
    const channel = fake.channel('private-user-6');
    unmount();
    expect(fake.unsubscribed).toEqual(['private-user-5', 'private-user-6']);
    expect([...(channel?.callbacks.values() ?? [])].flat()).toEqual([]);
  });

  it('shares one channel between components: the last one to unmount unsubscribes', () => {
    function Both({ show }: { show: boolean }) {
      return (
        <>
          <One />
          {show && <One />}
        </>
      );
    }
    function One() {
      const { notifications } = useRealtimeNotifications('5');
      return <span>{notifications.length}</span>;
    }
    const view = render(<Both show />, { wrapper });
    act(() => fake.serverEvent('private-user-5', 'personal_notification', note('x', 'a')));
    expect(view.container.textContent).toBe('11');
    view.rerender(<Both show={false} />);
    expect(fake.unsubscribed).toEqual([]);
    view.unmount();
    expect(fake.unsubscribed).toEqual(['private-user-5']);
    expect(FakePusher.instances).toHaveLength(1);
  });

  it('works under StrictMode (effects mounted, cleaned up and mounted again)', () => {
    const strict = ({ children }: { children?: ReactNode }) => (
      <StrictMode>
        <ToolBoxAIProvider client={client}>{children}</ToolBoxAIProvider>
      </StrictMode>
    );
    const { result, unmount } = renderHook(() => useRealtimeNotifications('5'), { wrapper: strict });
    act(() => fake.serverSubscribed('private-user-5'));
    act(() => fake.serverEvent('private-user-5', 'personal_notification', note('once', 'a')));
    expect(result.current.notifications.map((n) => n.message)).toEqual(['once']);
    unmount();
    expect(fake.channels.has('private-user-5')).toBe(false);
  });

  it('needs a provider', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => renderHook(() => useRealtimeNotifications('5'))).toThrow(/ToolBoxAIProvider/);
  });
});

describe('useContentGeneration', () => {
  const CG = 'content-generation';
  const update = (content: string, progress: number, id: string, extra: Record<string, unknown> = {}) => ({
    content_id: content,
    progress,
    stage: 's',
    event_id: id,
    ...extra,
  });

  it('follows one content id through started, progress, completed', () => {
    const { result } = renderHook(() => useContentGeneration('c1'), { wrapper });
    expect(result.current).toMatchObject({ progress: 0, status: 'idle', error: null });
    act(() => fake.serverEvent(CG, 'generation_started', update('c1', 0, 'a')));
    expect(result.current.status).toBe('generating');
    act(() => fake.serverEvent(CG, 'progress_update', update('other', 90, 'b')));
    act(() => fake.serverEvent(CG, 'progress_update', update('c1', 40, 'c')));
    expect(result.current.progress).toBe(40);
    act(() => fake.serverEvent(CG, 'generation_completed', update('c1', 100, 'd')));
    expect(result.current).toMatchObject({ progress: 100, status: 'completed', error: null });
  });

  it('reports a failure, and follows any content without an id', () => {
    const { result } = renderHook(() => useContentGeneration(), { wrapper });
    act(() => fake.serverEvent(CG, 'generation_failed', update('z', 10, 'a', { error: 'model timeout' })));
    expect(result.current).toMatchObject({ status: 'error', error: 'model timeout' });
  });

  it('reads a new content id without re-subscribing, and cleans up on unmount', () => {
    const { result, rerender, unmount } = renderHook(({ id }) => useContentGeneration(id), {
      wrapper,
      initialProps: { id: 'c1' },
    });
    rerender({ id: 'c2' });
    act(() => fake.serverEvent(CG, 'progress_update', update('c1', 50, 'a')));
    expect(result.current.progress).toBe(0);
    act(() => fake.serverEvent(CG, 'progress_update', update('c2', 60, 'b')));
    expect(result.current.progress).toBe(60);
    expect(fake.unsubscribed).toEqual([]);
    unmount();
    expect(fake.unsubscribed).toEqual([CG]);
  });
});

describe('usePresence', () => {
  const P = 'presence-classroom-101';

  it('lists members and me, and who joined and left', async () => {
    const joins: string[] = [];
    const { result, unmount } = renderHook(() => usePresence('classroom-101', { onJoin: (m) => joins.push(m.id) }), {
      wrapper,
    });
    act(() => fake.serverSubscribed(P, { me: '1', hash: { '1': { name: 'Ada' }, '2': { name: 'Bo' } } }));
    expect(result.current.members.map((m) => m.id)).toEqual(['1', '2']);
    expect(result.current.me).toEqual({ id: '1', info: { name: 'Ada' } });
    expect(result.current.subscribed).toBe(true);
    act(() => fake.serverEvent(P, 'pusher_internal:member_added', { user_id: '3', user_info: { name: 'Cy' } }));
    expect(result.current.joined).toEqual({ id: '3', info: { name: 'Cy' } });
    expect(result.current.members).toHaveLength(3);
    act(() => fake.serverEvent(P, 'pusher_internal:member_removed', { user_id: '2' }));
    expect(result.current.left).toEqual({ id: '2', info: { name: 'Bo' } });
    expect(result.current.members.map((m) => m.id)).toEqual(['1', '3']);
    expect(joins).toEqual(['3']);
    await settle();
    unmount();
    expect(fake.unsubscribed).toEqual([P]);
  });
});
