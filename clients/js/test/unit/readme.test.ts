import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';

it("the README's configuration example is the one type-checked in test/types/readme.typecheck.ts", async () => {
  const readme = await readFile(new URL('../../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Front-end: `@toolboxai/realtime`'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  const fixture = await readFile(new URL('../types/readme.typecheck.ts', import.meta.url), 'utf8');
  const copy = /\/\/ ---- BEGIN README\n([\s\S]*?)\/\/ ---- END README/.exec(fixture)?.[1];
  expect(block).toBeDefined();
  expect(copy).toBe(block);
});
