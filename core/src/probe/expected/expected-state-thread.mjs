// The expected-state worker's entry. Plain JavaScript so that it can register the TypeScript loader the
// rest of SyncScope runs with: a worker thread does not inherit the parent's loader hooks on Node 20.
import { register } from 'tsx/esm/api';

register();
await import('./expected-state-thread.ts');
