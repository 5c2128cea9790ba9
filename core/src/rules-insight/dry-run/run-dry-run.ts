/**
 * A dry run of draft sync rules against a target, in one REPEATABLE READ READ ONLY snapshot of its
 * source as the source role: the draft's checks, then each considered user's buckets under both
 * versions, one evaluation pass over the synced tables, and the per-user differences
 * (docs/rules-dry-run.md).
 */
import { withSourceSession } from '../../probe/expected/source-session.ts';
import { loadSyncRules } from '../../sync-rules/load-sync-rules.ts';
import { readBucketContents } from './bucket-contents.ts';
import type { DryRunReport, UserChange, UserSelection } from './dry-run-report.ts';
import { forEachUserPage, resolvedSelection } from './dry-run-users.ts';
import { bucketResolver, type UserBucketSets } from './user-bucket-sets.ts';
import { userChange } from './user-changes.ts';
import { checkDraft, type DryRunTarget } from './validate-draft.ts';

export type { DryRunTarget } from './validate-draft.ts';
export { validateDraft } from './validate-draft.ts';

export interface DryRunOptions {
  users?: UserSelection;
  statementTimeoutMs?: number;
  signal?: AbortSignal;
}

export async function runDryRun(
  target: DryRunTarget,
  draftYaml: string,
  options: DryRunOptions = {}
): Promise<DryRunReport> {
  const selection = resolvedSelection(target, options.users);
  const current = loadSyncRules(target.syncRulesYaml, {
    ...(target.syncRulesFile ? { file: target.syncRulesFile } : {})
  });
  const { statementTimeoutMs, signal } = options;
  return withSourceSession(
    target.sourceUrl,
    { ...(statementTimeoutMs ? { statementTimeoutMs } : {}) },
    async (session) => {
      const check = await checkDraft(session.client, target, draftYaml, signal);
      const report = emptyReport(target.name, session.snapshotTakenAt, selection, check);
      if (!check.rules) return report;
      const rules = { current, draft: check.rules };
      const resolver = bucketResolver(session, rules, target.extraClaims);
      const users: UserBucketSets[] = [];
      await forEachUserPage(session.client, target, selection, async (ids) => {
        for (const id of ids) {
          signal?.throwIfAborted();
          users.push(await resolver.resolve(id));
        }
      });
      const held = {
        current: new Set(users.flatMap((u) => [...u.current.keys()])),
        draft: new Set(users.flatMap((u) => [...u.draft.keys()]))
      };
      const contents = await readBucketContents(session, rules, held, signal ? { signal } : {});
      const views = {
        current: { yaml: current.yaml, rows: contents.current },
        draft: { yaml: draftYaml, rows: contents.draft }
      };
      const changed = users
        .map((u) => userChange(u, views.current, views.draft))
        .filter((c): c is UserChange => c !== null)
        .sort((a, b) => size(b) - size(a) || (a.userId < b.userId ? -1 : 1));
      return {
        ...report,
        users: { selection, considered: users.length, changed },
        totals: totalsOf(changed),
        reprocessing: contents.reprocessing,
        uncovered: contents.uncovered
      };
    }
  );
}

const size = (c: UserChange) => c.rowsDownloaded + c.rowsDropped;

function emptyReport(
  target: string,
  snapshotTakenAt: string,
  selection: UserSelection,
  check: Awaited<ReturnType<typeof checkDraft>>
): DryRunReport {
  return {
    target,
    snapshotTakenAt,
    valid: !check.problems.some((p) => p.severity === 'error'),
    problems: check.problems,
    service: check.service,
    users: { selection, considered: 0, changed: [] },
    totals: totalsOf([]),
    reprocessing: { operations: 0, bytes: 0 },
    uncovered: []
  };
}

function totalsOf(changed: UserChange[]): DryRunReport['totals'] {
  const sum = (f: (c: UserChange) => number) => changed.reduce((a, c) => a + f(c), 0);
  return {
    usersGaining: changed.filter((c) => c.rowsDownloaded > 0 || c.gained.length > 0).length,
    usersLosing: changed.filter((c) => c.rowsDropped > 0 || c.lost.length > 0).length,
    rowsDownloaded: sum((c) => c.rowsDownloaded),
    bytesDownloaded: sum((c) => c.bytesDownloaded),
    rowsDropped: sum((c) => c.rowsDropped),
    bytesDropped: sum((c) => c.bytesDropped)
  };
}
