// FamilyOf (src/types.ts) maps channel names to families at compile time; this keeps it in step with the
// server's channel table (toolboxai_realtime/channels.py, CHANNELS) and the catalog.
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';

const root = new URL('../../../../', import.meta.url);

it('FamilyOf has a case for every channel template of the server and every catalog family', async () => {
  const channels = await readFile(new URL('layers/shared/toolboxai_realtime/channels.py', root), 'utf8');
  const templates = [...channels.matchAll(/ChannelFamily\("([^"]+)"/g)].map((m) => m[1] as string);
  const schema = JSON.parse(await readFile(new URL('schema/catalog.schema.json', root), 'utf8')) as {
    'x-channels': Record<string, unknown>;
  };
  const types = await readFile(new URL('../../src/types.ts', import.meta.url), 'utf8');
  expect(templates.length).toBeGreaterThan(5);
  const families = templates.map((t) => t.split('-{')[0] as string);
  expect(new Set(families)).toEqual(new Set(Object.keys(schema['x-channels'])));
  for (const template of templates) {
    const family = template.split('-{')[0] as string;
    const pattern = template.includes('{') ? `\`${family}-\${string}\`` : `'${family}'`;
    expect(types, template).toContain(pattern);
  }
});
