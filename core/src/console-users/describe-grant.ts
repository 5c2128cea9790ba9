import type { ConsoleGrant } from './console-users.ts';

/**
 * A grant as people read it: `operator on staging`, `admin on all targets`. Its own module (types only)
 * so the console's browser code can use it without bundling password hashing.
 */
export function describeGrant(grant: ConsoleGrant): string {
  return `${grant.role} on ${grant.target === null ? 'all targets' : grant.target}`;
}
