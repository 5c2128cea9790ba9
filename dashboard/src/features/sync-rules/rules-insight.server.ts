import 'server-only';
import { isSyncScopeError } from '@syncscope/core';
import type { CoverageReport } from '@syncscope/core/rules-insight/coverage/compute-coverage';
import { readCoverage } from '@syncscope/core/rules-insight/coverage/with-rules-analysis';
import { type LintFinding, readLintFindings } from '@syncscope/core/rules-insight/lint/lint-rules';
import { loadTarget } from '@/server/targets';

/** A page waits at most this long for one statement on the source (the CLI and agent allow 60 s). */
export const PAGE_STATEMENT_TIMEOUT_MS = 10_000;

export type Read<T> = { ok: true; value: T } | { ok: false; message: string };

async function read<T>(fn: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    // The code and message name the problem (unreachable source, timeout); never a stack trace.
    const message = isSyncScopeError(error) ? `${error.code}: ${error.message}` : (error as Error).message;
    return { ok: false, message };
  }
}

/** The target's lint findings, read now from its source as its least-privilege role. */
export async function rulesLint(targetName: string): Promise<Read<LintFinding[]>> {
  const target = await loadTarget(targetName);
  return read(() =>
    readLintFindings(target, {
      statementTimeoutMs: PAGE_STATEMENT_TIMEOUT_MS,
      ...(target.rulesInsight?.bucketLimit ? { bucketLimit: target.rulesInsight.bucketLimit } : {})
    })
  );
}

/** The target's coverage, computed now in one read-only snapshot of its source. */
export async function rulesCoverage(targetName: string): Promise<Read<CoverageReport>> {
  const target = await loadTarget(targetName);
  return read(() =>
    readCoverage(target, {
      statementTimeoutMs: PAGE_STATEMENT_TIMEOUT_MS,
      ...(target.rulesInsight?.sampleSize ? { sampleSize: target.rulesInsight.sampleSize } : {})
    })
  );
}
