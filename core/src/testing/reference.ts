import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The captures from the real PowerSync service 1.25 that live in ../shared beside the repo. */
export function referencePath(): string {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const candidates = [
    process.env.SYNCSCOPE_REFERENCE_DIR,
    path.join(repoRoot, '../shared/reference/powersync-service-1.25')
  ].filter((p): p is string => Boolean(p));
  const found = candidates.find((p) => existsSync(path.join(p, 'seed.sql')));
  if (!found) {
    throw new Error(
      `Reference captures not found (looked in ${candidates.join(', ')}). Set SYNCSCOPE_REFERENCE_DIR to the folder holding seed.sql.`
    );
  }
  return found;
}
