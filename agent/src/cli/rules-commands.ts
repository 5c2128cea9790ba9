import type { Command } from 'commander';
import type { SecretScrubber } from '../output/secret-scrubber.ts';

interface Io {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
  scrubber: SecretScrubber;
  setJson(value: boolean): void;
  guarded<A extends unknown[]>(body: (...args: A) => Promise<number>): (...args: A) => Promise<void>;
}

interface Options {
  target: string;
  json?: boolean;
  targets?: string;
}

/** The target, with the targets loader imported on first use (it is not needed for `--help`). */
async function targetOf(opts: Options, io: Io) {
  const { resolveTarget, targetsSource } = await import('../probe/resolve-target.ts');
  return resolveTarget(targetsSource(opts.targets, io.env), opts.target, io.scrubber);
}

interface DiffOptions extends Options {
  draft: string;
  users?: string;
  sample?: string;
}

export const RULES_DIFF_EXIT_HELP =
  'Exit codes: 0 no considered user loses a row, 1 some user would lose rows or the draft is invalid, 2 could not run.';

export const RULES_EXIT_HELP =
  'Exit codes: 0 nothing to fix, 1 findings (coverage: rows or users left out, table problems, type mismatches; lint: a finding of severity error), 2 could not run.';

/**
 * `syncscope rules coverage|lint --target T`: the whole dataset against the target's rules, read in one
 * read-only snapshot as the target's source role (docs/rules-insight.md).
 */
export function registerRulesCommands(program: Command, io: Io): void {
  const rules = program
    .command('rules')
    .description('Sync rules against the whole source: coverage, lint and a dry run of a draft.');
  const common = (c: Command) =>
    c
      .requiredOption('--target <name>', 'target name in the targets file')
      .option('--json', 'print JSON')
      .option('--targets <file>', 'targets file (default: $SYNCSCOPE_HOME/targets.yaml)')
      .addHelpText('after', `\n${RULES_EXIT_HELP}`);

  common(
    rules
      .command('coverage')
      .description(
        'Rows no user receives (with the nearest rule), users a parameter query gives nothing, filters that never match because of types, tables the service cannot replicate.'
      )
  ).action(
    io.guarded(async (opts: Options) => {
      io.setJson(Boolean(opts.json));
      const target = await targetOf(opts, io);
      const { coverageHasGaps, formatCoverage } = await import('../output/format-rules-insight.ts');
      const { readCoverage } = await import('@syncscope/core/rules-insight/coverage/with-rules-analysis');
      const report = await readCoverage(target, {
        ...(target.rulesInsight?.sampleSize ? { sampleSize: target.rulesInsight.sampleSize } : {})
      });
      io.out(
        opts.json
          ? `${JSON.stringify(report, null, 2)}\n`
          : formatCoverage(report, target.syncRulesFile ?? 'sync rules')
      );
      return coverageHasGaps(report) ? 1 : 0;
    })
  );

  common(
    rules
      .command('lint')
      .description(
        'Findings at their rules-file line with the fix: unpublished tables, type mismatches, unindexed filter columns, SELECT * over wide columns, the bucket limit for the user with the most buckets.'
      )
  ).action(
    io.guarded(async (opts: Options) => {
      io.setJson(Boolean(opts.json));
      const target = await targetOf(opts, io);
      const { formatLint } = await import('../output/format-rules-insight.ts');
      const { readLintFindings } = await import('@syncscope/core/rules-insight/lint/lint-rules');
      const findings = await readLintFindings(target, {
        ...(target.rulesInsight?.bucketLimit ? { bucketLimit: target.rulesInsight.bucketLimit } : {})
      });
      io.out(
        opts.json
          ? `${JSON.stringify({ findings }, null, 2)}\n`
          : formatLint(findings, target.syncRulesFile ?? 'sync_rules.yaml')
      );
      return findings.some((f) => f.severity === 'error') ? 1 : 0;
    })
  );

  registerDiffCommand(rules, io);
}

/** `syncscope rules diff --target T --draft FILE`: a dry run of draft rules (docs/rules-dry-run.md). */
function registerDiffCommand(rules: Command, io: Io): void {
  rules
    .command('diff')
    .description(
      'Dry run of draft rules: which users gain or lose which buckets, rows and bytes, the reprocessing volume, rows in no bucket; the draft checked against the rules library, the service and the source schema.'
    )
    .requiredOption('--target <name>', 'target name in the targets file')
    .requiredOption('--draft <file>', 'the draft sync rules YAML')
    .option('--users <query>', 'SQL returning the user ids to compare (run read-only in the snapshot)')
    .option('--sample <n>', 'compare a random sample of n users (default: every user)')
    .option('--json', 'print JSON')
    .option('--targets <file>', 'targets file (default: $SYNCSCOPE_HOME/targets.yaml)')
    .addHelpText('after', `\n${RULES_DIFF_EXIT_HELP}`)
    .action(
      io.guarded(async (opts: DiffOptions) => {
        io.setJson(Boolean(opts.json));
        const { readDraftInput } = await import('./rules-diff-input.ts');
        const { draftYaml, users } = await readDraftInput(opts);
        const target = await targetOf(opts, io);
        const { runDryRun } = await import('@syncscope/core/rules-insight/dry-run/run-dry-run');
        const { draftLosesRows } = await import('@syncscope/core/rules-insight/dry-run/dry-run-report');
        const report = await runDryRun(target, draftYaml, users ? { users } : {});
        const { formatDryRun } = await import('../output/format-rules-dry-run.ts');
        io.out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatDryRun(report, opts.draft));
        return !report.valid || draftLosesRows(report) ? 1 : 0;
      })
    );
}
