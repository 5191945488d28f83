import { defineConfig } from 'vitest/config';

// Two projects: `unit` (a fake pusher-js, no network; hooks in jsdom per file) and `e2e` (the real local
// stack, started once per run by test/e2e/global-setup.ts, with real pusher-js).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.{ts,tsx}'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.{ts,tsx}'],
          environment: 'node',
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // One stack, one soketi: the files run one after another so their timings do not interfere.
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
