import { isSyncScopeError } from '../errors/index.ts';

/**
 * Runs a long-lived service from a CLI entry point: SIGINT/SIGTERM close it and exit 0; a start-up failure
 * prints `CODE: message` (never a stack trace for a SyncScopeError) and exits 1.
 */
export function runService(start: () => Promise<{ close(): Promise<void> }>): void {
  start()
    .then((service) => {
      const stop = async () => {
        await service.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .catch((error: unknown) => {
      console.error(isSyncScopeError(error) ? `${error.code}: ${error.message}` : error);
      process.exit(1);
    });
}
