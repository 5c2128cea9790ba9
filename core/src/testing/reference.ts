import { existsSync, readFileSync } from 'node:fs';
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

/** One file of the reference captures, as text. */
export function readReference(file: string): string {
  return readFileSync(path.join(referencePath(), file), 'utf8');
}

/** A captured NDJSON stream, one parsed object per line. */
// biome-ignore lint/suspicious/noExplicitAny: capture lines are read loosely by tests
export type CaptureLine = Record<string, any>;

export function readReferenceLines(file: string): CaptureLine[] {
  return readReference(file)
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as CaptureLine);
}
