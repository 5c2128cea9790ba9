import { createTestDatabase, execSql } from '@syncscope/core/testing/test-database';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateOpsDatabase } from '../../ops-db/ops-database.ts';
import { userSearchAccess } from '../../source-access/source-access.ts';
import {
  type BudgetReading,
  budgetTrends,
  describeForecast,
  latestBudgetReading,
  storeBudgetReading
} from './budget-history.ts';
import type { BudgetReport } from './compute-budgets.ts';
import { readBudgets } from './read-budgets.ts';

const RULES = `bucket_definitions:
  by_project:
    parameters: SELECT project_id FROM project_members WHERE user_id = request.user_id()
    data:
      - SELECT * FROM tasks WHERE project_id = bucket.project_id
  by_team:
    parameters: SELECT team_id FROM team_members WHERE user_id = request.user_id()
    data:
      - SELECT * FROM docs WHERE team_id = bucket.team_id
  everyone:
    data:
      - SELECT id, label FROM announcements
`;

/** Users and their projects (1 … n each); u-none has none, ghost is not in the users table. */
const PROJECTS: Record<string, number> = {
  'u-over': 1005,
  'u-near': 899,
  'u-warm': 850,
  'u-small-1': 1,
  'u-small-2': 2,
  'u-small-3': 3,
  'u-small-4': 4,
  'u-small-5': 5,
  ghost: 1200
};

let sourceUrl: string;
let ops: pg.Pool;

async function addProjects(user: string, from: number, to: number) {
  await execSql(
    sourceUrl,
    `INSERT INTO project_members (id, user_id, project_id)
     SELECT $1 || '-' || i, $1, 'p' || i FROM generate_series($2::int, $3::int) i`,
    [user, from, to]
  );
}

beforeAll(async () => {
  sourceUrl = await createTestDatabase('rules_insight_budgets');
  await execSql(
    sourceUrl,
    `CREATE TABLE users (id text PRIMARY KEY);
     -- No key over (user_id, project_id): a user's duplicate row is one bucket (a DISTINCT counts it).
     CREATE TABLE project_members (id text PRIMARY KEY, user_id text NOT NULL, project_id text NOT NULL);
     -- A key over (user_id, team_id): rows are distinct buckets, counted without a DISTINCT.
     CREATE TABLE team_members (user_id text NOT NULL, team_id text NOT NULL, PRIMARY KEY (user_id, team_id));
     CREATE TABLE tasks (id text PRIMARY KEY, project_id text);
     CREATE TABLE docs (id text PRIMARY KEY, team_id text);
     CREATE TABLE announcements (id text PRIMARY KEY, label text);
     INSERT INTO users VALUES ('u-over'), ('u-near'), ('u-warm'), ('u-small-1'), ('u-small-2'),
       ('u-small-3'), ('u-small-4'), ('u-small-5'), ('u-none');
     INSERT INTO team_members VALUES ('u-over', 't1'), ('u-over', 't2'), ('u-near', 't1');`
  );
  for (const [user, n] of Object.entries(PROJECTS)) await addProjects(user, 1, n);
  await execSql(sourceUrl, "INSERT INTO project_members VALUES ('dup', 'u-over', 'p1')");
  const opsUrl = await createTestDatabase('rules_insight_budget_runs');
  await migrateOpsDatabase(opsUrl);
  ops = new pg.Pool({ connectionString: opsUrl, max: 2 });
});
afterAll(() => ops?.end());

const target = {
  sourceUrl: '',
  syncRulesYaml: RULES,
  userSearch: userSearchAccess({ table: 'users', id_column: 'id' })
};
const read = () => readBudgets({ ...target, sourceUrl });

const DAY = 86_400_000;
const T0 = new Date('2026-11-01T00:00:00Z');

/** What the agent does each reading: trends against the stored readings, then store. */
async function storeAt(at: Date, report: BudgetReport): Promise<BudgetReading> {
  const reading = {
    target: 'prod',
    computedAt: at.toISOString(),
    report,
    trends: await budgetTrends(ops, 'prod', report, at)
  };
  await storeBudgetReading(ops, reading, 'test-agent');
  return reading;
}

describe('bucket budgets of every user', () => {
  it('counts every user in the users table, with the distribution, thresholds and the top rule', async () => {
    const report = await read();
    // Each user: projects + teams + 1 (everyone); u-none only the 1; ghost is not a user.
    // Sorted: 1, 2, 3, 4, 5, 6, 851, 901, 1008.
    expect(report.users).toBe(9);
    expect(report.usersFrom).toBe('users table');
    expect(report.buckets).toEqual({ p50: 5, p90: 1008, p99: 1008, max: 1008 });
    // u-over's duplicate project row is a parameter row but not another bucket.
    expect(report.results.max).toBe(1009);
    expect(report.thresholds).toEqual([800, 900, 1000]);
    expect(report.over).toEqual([
      { threshold: 800, users: 3 },
      { threshold: 900, users: 2 },
      { threshold: 1000, users: 1 }
    ]);
    expect(report.histogram.filter((b) => b.users > 0)).toEqual([
      { from: 1, to: 100, users: 6 },
      { from: 801, to: 900, users: 1 },
      { from: 901, to: 1000, users: 1 },
      { from: 1001, to: null, users: 1 }
    ]);
    expect(report.histogram).toHaveLength(11);
    expect(report.listed.map((u) => [u.user, u.buckets, u.results])).toEqual([
      ['u-over', 1008, 1009],
      ['u-near', 901, 901],
      ['u-warm', 851, 851]
    ]);
    expect(report.listed[0]!.parts).toEqual([
      { definition: 'by_project', line: 3, buckets: 1005, results: 1006 },
      { definition: 'by_team', line: 7, buckets: 2, results: 2 },
      { definition: 'everyone', line: 10, buckets: 1, results: 1 }
    ]);
    expect(report.top.map((u) => u.user)).toEqual([
      'u-over',
      'u-near',
      'u-warm',
      'u-small-5',
      'u-small-4',
      'u-small-3',
      'u-small-2',
      'u-small-1',
      'u-none'
    ]);
  });

  it('without a users table every user id in the parameter rows is a user', async () => {
    const report = await readBudgets({ sourceUrl, syncRulesYaml: RULES });
    expect(report.users).toBe(9); // ghost counts, u-none is unknown
    expect(report.listed.map((u) => [u.user, u.buckets])).toEqual([
      ['ghost', 1201],
      ['u-over', 1008],
      ['u-near', 901],
      ['u-warm', 851]
    ]);
  });

  it('a later reading gives each listed user its growth and a forecast from the stored counts', async () => {
    const first = await storeAt(T0, await read());
    expect(first.trends.map((t) => [t.user, t.growth, describeForecast(t.forecast, 1000)])).toEqual([
      ['u-over', undefined, 'over 1,000 now: the service refuses its connections'],
      ['u-near', undefined, 'no earlier reading yet'],
      ['u-warm', undefined, 'no earlier reading yet']
    ]);
    await addProjects('u-near', 900, 929); // 30 more
    await addProjects('u-small-5', 6, 805); // from 6 to 806 buckets: listed, not in the last reading's list
    const second = await storeAt(new Date(T0.getTime() + DAY), await read());
    expect(second.report.over).toEqual([
      { threshold: 800, users: 4 },
      { threshold: 900, users: 2 },
      { threshold: 1000, users: 1 }
    ]);
    expect(
      second.trends.map((t) => [t.user, t.previous, t.growth, describeForecast(t.forecast, 1000)])
    ).toEqual([
      ['u-over', 1008, 0, 'over 1,000 now: the service refuses its connections'],
      // 901 → 931 in a day: 69 to go at 30 a day.
      ['u-near', 901, 30, 'crosses 1,000 in ~2 days'],
      ['u-warm', 851, 0, 'not growing'],
      // In the first reading's largest users too (its top 50), at 6.
      ['u-small-5', 6, 800, 'crosses 1,000 in ~6 hours']
    ]);
    const nearLine = second.trends[1]!.forecast;
    expect(nearLine).toMatchObject({ kind: 'crosses', perDay: 30, inSeconds: (69 * 86_400) / 30 });
    // The line goes through every stored count: a third day without change halves the slope.
    const third = await storeAt(new Date(T0.getTime() + 2 * DAY), await read());
    expect(third.trends[1]).toMatchObject({ user: 'u-near', growth: 0, forecast: { perDay: 15 } });
    expect(describeForecast(third.trends[1]!.forecast, 1000)).toBe('crosses 1,000 in ~5 days');
    const latest = await latestBudgetReading(ops, 'prod');
    expect(latest?.computedAt).toBe(new Date(T0.getTime() + 2 * DAY).toISOString());
    expect(latest?.trends).toEqual(third.trends);
  });

  it('keeps 30 days of readings per target', async () => {
    await storeAt(new Date(T0.getTime() + 40 * DAY), await read());
    const { rows } = await ops.query(
      "SELECT count(*)::int AS n FROM syncscope.bucket_budget_runs WHERE target = 'prod'"
    );
    expect(rows[0].n).toBe(1);
  });
});
