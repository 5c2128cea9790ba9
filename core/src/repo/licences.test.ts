import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** OSI-approved licences seen in the tree (https://opensource.org/licenses). */
const OSI_APPROVED = new Set([
  '0BSD',
  'Apache-2.0',
  'BlueOak-1.0.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'ISC',
  'LGPL-3.0-or-later',
  'MIT',
  'MPL-2.0',
  'PostgreSQL'
]);

interface InstalledPackage {
  name: string;
  licence: string;
}

/** Every installed package (nested node_modules too), with its package.json licence. */
function installedPackages(dir: string, found = new Map<string, InstalledPackage>()) {
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('.')) continue;
    const where = path.join(dir, entry);
    if (entry.startsWith('@')) {
      installedPackages(where, found);
      continue;
    }
    const manifest = path.join(where, 'package.json');
    if (!existsSync(manifest)) continue;
    const json = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; license?: unknown };
    if (json.name && !json.name.startsWith('@syncscope/'))
      found.set(json.name, { name: json.name, licence: String(json.license ?? 'none') });
    installedPackages(path.join(where, 'node_modules'), found);
  }
  return found;
}

/** True when some alternative of an SPDX expression (`A OR B`, `(A OR B)`) is OSI-approved. */
function osiApproved(expression: string): boolean {
  return expression
    .replaceAll(/[()]/g, ' ')
    .split(/\s+OR\s+/)
    .some((alternative) => alternative.split(/\s+AND\s+/).every((id) => OSI_APPROVED.has(id.trim())));
}

describe('licences', () => {
  it('SyncScope itself is Apache-2.0, in LICENSE and every package.json', () => {
    expect(readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toContain('Apache License');
    for (const dir of ['.', 'agent', 'core', 'dashboard', 'demo', 'powersync', 'reporter']) {
      const json = JSON.parse(readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8'));
      expect(json.license, dir).toBe('Apache-2.0');
    }
  });

  it("the README's Licences section names every installed dependency whose licence is not OSI-approved", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Licences'));
    expect(section.length).toBeGreaterThan(200);
    const packages = [...installedPackages(path.join(ROOT, 'node_modules')).values()];
    expect(packages.length).toBeGreaterThan(100);
    const unnamed = packages
      .filter((p) => !osiApproved(p.licence))
      .filter((p) => !section.includes(`\`${p.name}\``) || !section.includes(p.licence))
      .map((p) => `${p.name} (${p.licence})`);
    expect(unnamed, 'add these to the README: ## Licences').toEqual([]);
    // The two the issue names, whatever the tree holds today.
    expect(section).toMatch(/`@powersync\/service-sync-rules`[^\n]*FSL-1\.1-ALv2/);
    expect(section).toMatch(/`@powersync\/service-jsonbig`[^\n]*FSL-1\.1-ALv2/);
  });
});
