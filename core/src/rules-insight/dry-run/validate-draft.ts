/**
 * Every check of a draft, each problem at its line: YAML, the rules library, the target service's own
 * validate (when the target has an admin API), and the live source's schema. `validateDraft` is the
 * fast path an editor calls on each pause; the dry run runs the same checks in its snapshot.
 */
import type pg from 'pg';
import { withSourceSession } from '../../probe/expected/source-session.ts';
import {
  type AdminApiTarget,
  hasAdminApi,
  validateRulesWithService
} from '../../service-admin/admin-client.ts';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';
import type { InsightTarget } from '../coverage/with-rules-analysis.ts';
import type { DraftProblem, DryRunReport } from './dry-run-report.ts';
import { compactMessage, parseDraft } from './parse-draft.ts';
import { schemaProblems } from './schema-problems.ts';

/** A target as the dry run needs it: a resolved ProbeTarget has all of it. */
export interface DryRunTarget extends InsightTarget, AdminApiTarget {
  name: string;
  /** `schedule.users_query`: lists the target's users when there is no `user_search`. */
  schedule?: { usersQuery?: string };
}

export interface ValidateDraftOptions {
  statementTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface DraftCheck {
  problems: DraftProblem[];
  service: DryRunReport['service'];
  /** The draft's rules, when nothing is fatal. */
  rules?: LoadedSyncRules;
}

/** The editor's path: parse, service validate and schema checks in a read-only session of its own. */
export async function validateDraft(
  target: DryRunTarget,
  draftYaml: string,
  options: ValidateDraftOptions = {}
): Promise<DraftProblem[]> {
  const parsed = parseDraft(draftYaml);
  if (!parsed.rules) return parsed.problems;
  const { statementTimeoutMs } = options;
  return withSourceSession(
    target.sourceUrl,
    { ...(statementTimeoutMs ? { statementTimeoutMs } : {}) },
    async (session) => (await checkDraft(session.client, target, draftYaml, options.signal)).problems
  );
}

/** All checks, the schema ones in the caller's session. */
export async function checkDraft(
  client: Pick<pg.Client, 'query'>,
  target: DryRunTarget,
  draftYaml: string,
  signal?: AbortSignal
): Promise<DraftCheck> {
  const parsed = parseDraft(draftYaml);
  const service = serviceCheck(target, draftYaml, signal);
  if (!parsed.rules) {
    const answer = await service;
    return { problems: mergeServiceProblems(parsed.problems, answer.problems), service: answer.status };
  }
  const schema = await schemaProblems(client, parsed.rules, target);
  const answer = await service;
  const problems = mergeServiceProblems([...parsed.problems, ...schema], answer.problems);
  return {
    problems,
    service: answer.status,
    ...(problems.some((p) => p.severity === 'error') ? {} : { rules: parsed.rules })
  };
}

interface ServiceAnswer {
  status: DryRunReport['service'];
  problems: DraftProblem[];
}

async function serviceCheck(
  target: DryRunTarget,
  yaml: string,
  signal?: AbortSignal
): Promise<ServiceAnswer> {
  if (!hasAdminApi(target))
    return {
      status: { checked: false, reason: 'the target has no admin API (admin_url, admin_token)' },
      problems: []
    };
  try {
    const answer = await validateRulesWithService(target, yaml, signal ? { signal } : {});
    return {
      status: { checked: true, ok: answer.valid },
      problems: (answer.errors ?? []).map(serviceProblem)
    };
  } catch (error) {
    return { status: { checked: false, reason: (error as Error).message }, problems: [] };
  }
}

/** A service message as a problem; YAML errors carry `at line N, column M`, the rest have no line. */
function serviceProblem(message: string): DraftProblem {
  const at = /at line (\d+), column (\d+)/.exec(message);
  return {
    source: 'service',
    severity: 'error',
    line: at ? Number(at[1]) : 0,
    ...(at ? { column: Number(at[2]) } : {}),
    message: compactMessage(message)
  };
}

/** The service parses with the same library: a message the library already gave at its line is not repeated. */
function mergeServiceProblems(own: DraftProblem[], service: DraftProblem[]): DraftProblem[] {
  const known = own.map((p) => p.message);
  const fresh = service.filter((s) => !known.some((m) => m.startsWith(s.message) || s.message.startsWith(m)));
  return [...own, ...fresh].sort((a, b) => a.line - b.line);
}
