import 'server-only';
import { REASON_CODE_SQL } from '@/features/probes/probe-runs.server';
import { opsPool } from '@/server/ops-pool';

export interface TargetVerdicts {
  target: string;
  /** The last 30 verdicts, oldest first. */
  recent: { id: string; verdict: string; userId: string; startedAt: Date }[];
  last24h: Record<string, number>;
}

export interface OpenProblem {
  id: string;
  target: string;
  userId: string;
  verdict: string;
  reasonCode: string | null;
  summary: string;
  startedAt: Date;
}

/** `scope`: the targets to include, null for all (see Access.scope). */
export async function verdictTrends(scope: string[] | null): Promise<TargetVerdicts[]> {
  const { rows } = await opsPool().query<TargetVerdicts>(
    `SELECT t.target,
       (SELECT coalesce(jsonb_agg(x ORDER BY x."startedAt"), '[]') FROM (
          SELECT id, verdict, user_id AS "userId", started_at AS "startedAt" FROM syncscope.probe_runs r
          WHERE r.target = t.target ORDER BY started_at DESC LIMIT 30) x) AS recent,
       (SELECT coalesce(jsonb_object_agg(verdict, n), '{}') FROM (
          SELECT verdict, count(*) AS n FROM syncscope.probe_runs r
          WHERE r.target = t.target AND started_at > now() - interval '24 hours' GROUP BY verdict) c) AS "last24h"
     FROM (SELECT DISTINCT target FROM syncscope.probe_runs WHERE $1::text[] IS NULL OR target = ANY($1)) t
     ORDER BY t.target`,
    [scope]
  );
  return rows;
}

/** Users whose latest probe is not consistent, newest first: what needs attention. */
export async function openProblems(scope: string[] | null, limit = 20): Promise<OpenProblem[]> {
  const { rows } = await opsPool().query<OpenProblem>(
    `SELECT * FROM (
       SELECT DISTINCT ON (target, user_id) id, target, user_id AS "userId", verdict,
         ${REASON_CODE_SQL} AS "reasonCode", summary, started_at AS "startedAt"
       FROM syncscope.probe_runs WHERE started_at > now() - interval '7 days'
         AND ($2::text[] IS NULL OR target = ANY($2))
       ORDER BY target, user_id, started_at DESC) latest
     WHERE verdict <> 'consistent' ORDER BY "startedAt" DESC LIMIT $1`,
    [limit, scope]
  );
  return rows;
}
