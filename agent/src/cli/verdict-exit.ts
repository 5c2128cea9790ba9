/** The probe commands exit with their verdict's code (docs/cli.md); the codes live in core. */
export { VERDICT_EXIT_CODES } from '@syncscope/core/probe/verdicts';

/** Commands whose exit code is their verdict's: even their refused arguments exit as `error`. */
export const PROBE_COMMANDS = new Set(['probe', 'write-probe']);

export const VERDICT_EXIT_HELP =
  'Exit codes: 0 consistent, 1 mismatch, 2 inconclusive (the service or source could not be checked; retry later), 3 error (the probe could not run: bad input, or a SyncScope bug). See docs/cli.md.';

/** Exit codes of the other commands: 0 consistent (or done), 1 mismatch, 2 the command could not run. */
export const EXIT = { ok: 0, mismatch: 1, failed: 2 } as const;
