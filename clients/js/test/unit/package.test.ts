// `npm pack` builds (prepack) and packs what a front end installs: both entries with their types.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

interface PackFile {
  path: string;
}

it('npm pack ships the built core and react entries with declarations, and no tests', () => {
  const cwd = new URL('../..', import.meta.url).pathname;
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--loglevel=error'], { cwd, encoding: 'utf8' });
  const [pack] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ name: string; files: PackFile[] }>;
  const files = new Set(pack?.files.map((f) => f.path));
  const manifest = JSON.parse(readFileSync(`${cwd}package.json`, 'utf8')) as {
    exports: Record<string, { types: string; import: string } | string>;
    dependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional: boolean }>;
  };
  expect(pack?.name).toBe('@toolboxai/realtime');
  for (const [entry, target] of Object.entries(manifest.exports)) {
    if (typeof target === 'string') continue;
    expect(files, entry).toContain(target.import.replace(/^\.\//, ''));
    expect(files, entry).toContain(target.types.replace(/^\.\//, ''));
  }
  expect([...files].filter((f) => f.startsWith('test/'))).toEqual([]);
  // A caret range, not an exact pin: an app that installs pusher-js 8.x itself (≥ 8.4) gets one copy,
  // so `client.pusher` is an instance of the app's own `Pusher` class.
  expect(manifest.dependencies).toEqual({ 'pusher-js': '^8.4.0' });
  expect(manifest.peerDependenciesMeta['react']?.optional).toBe(true);
}, 60_000);
