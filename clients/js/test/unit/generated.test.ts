import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { render } from '../../scripts/generate-types.mjs';

it('src/generated/catalog.ts is current with schema/catalog.schema.json (run `make schema`)', async () => {
  const committed = await readFile(new URL('../../src/generated/catalog.ts', import.meta.url), 'utf8');
  expect(committed).toBe(await render());
});

it('types every family and event of the catalog', async () => {
  const schema = JSON.parse(await readFile(new URL('../../../../schema/catalog.schema.json', import.meta.url), 'utf8'));
  const text = await readFile(new URL('../../src/generated/catalog.ts', import.meta.url), 'utf8');
  for (const [family, events] of Object.entries(schema['x-channels'] as Record<string, Record<string, unknown>>)) {
    expect(text).toContain(`'${family}': {`);
    for (const event of Object.keys(events)) expect(text).toMatch(new RegExp(`\\b${event}: `));
  }
});
