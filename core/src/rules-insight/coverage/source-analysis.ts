/**
 * The rules' shapes next to the source's catalog, shared by coverage and lint: which tables exist, are
 * published, have a replica identity and an `id`, and the SQL context that evaluates bucket holders.
 */
import type pg from 'pg';
import { ruleTableAccess, type UserSearchAccess } from '../../source-access/source-access.ts';
import { findTableReferences, type LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';
import type { LocatedMismatch } from './held-buckets-sql.ts';
import { type HeldContext, usersOf } from './held-buckets-sql.ts';
import { type RuleShapes, ruleShapes, type TableName } from './rule-shapes.ts';
import { type CatalogTable, POWERSYNC_PUBLICATION, readCatalog, tableKey } from './source-catalog.ts';

export type TableProblemKind = 'missing' | 'not-published' | 'no-replica-identity' | 'no-id';

export interface TableProblem {
  table: string;
  kind: TableProblemKind;
  /** The first rule line that reads the table. */
  line: number;
  message: string;
  fix: string;
}

export interface InsightOptions {
  userSearch?: UserSearchAccess;
  /** Claims probe tokens carry (the target's extra_claims): their types decide claim comparisons. */
  claims?: Record<string, unknown>;
}

export interface SourceAnalysis {
  rules: LoadedSyncRules;
  shapes: RuleShapes;
  catalog: Map<string, CatalogTable>;
  held: HeldContext;
  tableProblems: TableProblem[];
}

type Queryable = Pick<pg.Client, 'query'>;

function tableProblems(
  rules: LoadedSyncRules,
  shapes: RuleShapes,
  catalog: Map<string, CatalogTable>
): TableProblem[] {
  const out: TableProblem[] = [];
  const dataTables = new Set(shapes.definitions.flatMap((d) => d.dataTables.map(tableKey)));
  for (const access of ruleTableAccess(rules).filter((t) => !t.wildcard)) {
    const key = `${access.schema}.${access.table}`;
    const line = findTableReferences(rules.yaml, access.table)[0]?.line ?? 0;
    const table = catalog.get(key);
    const problem = (kind: TableProblemKind, message: string, fix: string) =>
      out.push({ table: key, kind, line, message, fix });
    if (!table) {
      problem(
        'missing',
        `The rules read ${key}, which does not exist in the source.`,
        `create ${key}, or correct the table name in the rules`
      );
      continue;
    }
    if (!table.published)
      problem(
        'not-published',
        `${key} is not in the publication "${POWERSYNC_PUBLICATION}": its rows and changes never reach the service.`,
        `ALTER PUBLICATION ${POWERSYNC_PUBLICATION} ADD TABLE ${table.sqlName};`
      );
    if (!table.hasReplicaIdentity)
      problem(
        'no-replica-identity',
        `${key} has no replica identity (no primary key, REPLICA IDENTITY NOTHING, or an index that is gone): its updates and deletes do not replicate.`,
        `ALTER TABLE ${table.sqlName} ADD PRIMARY KEY (id); (or ALTER TABLE ${table.sqlName} REPLICA IDENTITY FULL;)`
      );
    if (dataTables.has(key) && !table.columns.has('id') && !aliasesId(shapes, table))
      problem(
        'no-id',
        `${key} has no \`id\` column and its data query does not select one: PowerSync needs an \`id\` for every synced row.`,
        `select the key as id: \`SELECT <key column> AS id, … FROM ${access.table} …\``
      );
  }
  return out;
}

function aliasesId(shapes: RuleShapes, table: TableName): boolean {
  return shapes.definitions.some((d) =>
    d.dataQueries.some((q) => tableKey(q.table) === tableKey(table) && q.outputColumns.includes('id'))
  );
}

/** Reads the catalog for every table the rules (and the users table) name, in the caller's snapshot. */
export async function analyseSource(
  client: Queryable,
  rules: LoadedSyncRules,
  options: InsightOptions = {}
): Promise<SourceAnalysis> {
  const shapes = ruleShapes(rules);
  const wanted: TableName[] = ruleTableAccess(rules)
    .filter((t) => !t.wildcard)
    .map((t) => ({ schema: t.schema, name: t.table }));
  if (options.userSearch) wanted.push({ schema: options.userSearch.schema, name: options.userSearch.table });
  const catalog = await readCatalog(client, wanted);
  const mismatches: LocatedMismatch[] = [];
  return {
    rules,
    shapes,
    catalog,
    held: { catalog, users: usersOf(catalog, options.userSearch), claims: options.claims ?? {}, mismatches },
    tableProblems: tableProblems(rules, shapes, catalog)
  };
}
