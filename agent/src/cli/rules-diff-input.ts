import { readFile } from 'node:fs/promises';
import { SyncScopeError } from '@syncscope/core';
import type { UserSelection } from '@syncscope/core/rules-insight/dry-run/dry-run-report';

const inputError = (message: string) => new SyncScopeError('SYNCSCOPE_E_DRY_RUN_INPUT', message);

/** `rules diff`'s draft file and user selection, refused with the fix before anything connects. */
export async function readDraftInput(opts: {
  draft: string;
  users?: string;
  sample?: string;
}): Promise<{ draftYaml: string; users?: UserSelection }> {
  if (opts.users !== undefined && opts.sample !== undefined)
    throw inputError('Pass either --users QUERY or --sample N, not both.');
  let users: UserSelection | undefined;
  if (opts.sample !== undefined) {
    const size = /^\d+$/.test(opts.sample.trim()) ? Number(opts.sample) : Number.NaN;
    if (!Number.isSafeInteger(size) || size < 1)
      throw inputError(
        `--sample takes a positive whole number of users, not "${opts.sample}": e.g. --sample 50.`
      );
    users = { kind: 'sample', size };
  } else if (opts.users !== undefined) {
    if (!opts.users.trim())
      throw inputError("--users needs a query returning user ids: e.g. --users 'SELECT id FROM users'.");
    users = { kind: 'query', sql: opts.users };
  }
  let draftYaml: string;
  try {
    draftYaml = await readFile(opts.draft, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw inputError(
      `Cannot read the draft ${opts.draft}: ${reason}. Pass the draft sync rules file: --draft path/to/sync_rules.yaml.`
    );
  }
  return { draftYaml, ...(users ? { users } : {}) };
}
