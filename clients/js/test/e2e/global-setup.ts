// Starts the real local stack once for the whole e2e run (free ports), and stops it afterwards.
import type { TestProject } from 'vitest/node';
import { startStack } from '../../scripts/local-stack.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: { base: string; env: Record<string, string> };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack = await startStack();
  project.provide('stack', { base: stack.base, env: stack.env });
  return async () => {
    await stack.stop();
  };
}
