/**
 * The draft against the live source, which the service's validate does not do: every table and column
 * it reads exists, the service can replicate the tables, compared values can match (types), and the
 * source role may read what the draft reads (it is granted only what the current rules read).
 * Catalog views only: they are readable without table grants.
 */
import pg from 'pg';
import { lineOfSql } from '../../probe/expected/rule-analysis.ts';
import { columnsNamedBySql, columnsReadBySql, rulesSql } from '../../source-access/rule-columns.ts';
import type { UserSearchAccess } from '../../source-access/source-access.ts';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';
import { planCoverage } from '../coverage/compute-coverage.ts';
import { analyseSource } from '../coverage/source-analysis.ts';
import type { CatalogTable } from '../coverage/source-catalog.ts';
import type { DraftProblem } from './dry-run-report.ts';

type Queryable = Pick<pg.Client, 'query'>;

export interface SchemaCheckTarget {
  name: string;
  userSearch?: UserSearchAccess;
  extraClaims?: Record<string, unknown>;
}

/** Per existing table, the columns the draft reads from it (`all` for `*`), and the first line reading each. */
/** Per table: the columns read (`all` for `*`), and the columns named anywhere with their line (which must exist). */
type ColumnUse = Map<
  string,
  { table: CatalogTable; columns: Map<string, number> | 'all'; named: Map<string, number>; line: number }
>;

export async function schemaProblems(
  client: Queryable,
  draft: LoadedSyncRules,
  target: SchemaCheckTarget
): Promise<DraftProblem[]> {
  const analysis = await analyseSource(client, draft, {
    ...(target.userSearch ? { userSearch: target.userSearch } : {}),
    ...(target.extraClaims ? { claims: target.extraClaims } : {})
  });
  planCoverage(analysis); // collects the type mismatches
  const problems: DraftProblem[] = [
    ...analysis.tableProblems.map((p) => schemaError(p.line, p.message, p.fix)),
    ...analysis.held.mismatches.map((m) => schemaError(m.line, m.message, m.fix))
  ];
  const uses = columnUses(draft.yaml, analysis.catalog);
  for (const use of uses.values()) {
    for (const [column, line] of use.named) {
      if (use.table.columns.has(column)) continue;
      problems.push(
        schemaError(
          line,
          `${use.table.schema}.${use.table.name} has no column "${column}" (the service's validate accepts it, then syncs it as null or never matches).`,
          `use one of its columns: ${[...use.table.columns.keys()].join(', ')}`
        )
      );
    }
  }
  problems.push(...(await ungrantedReads(client, uses, target.name)));
  return problems.sort((a, b) => a.line - b.line);
}

const schemaError = (line: number, message: string, fix: string): DraftProblem => ({
  source: 'schema',
  severity: 'error',
  line,
  message,
  fix
});

function columnUses(yaml: string, catalog: Map<string, CatalogTable>): ColumnUse {
  const out: ColumnUse = new Map();
  const { sql, cteNames } = rulesSql(yaml);
  for (const text of sql) {
    // An empty definition name: the query is searched from the start of the rules' section.
    const line = lineOfSql(yaml, '', text);
    for (const [key, columns] of columnsReadBySql(text, cteNames) ?? []) {
      const table = catalog.get(key);
      if (!table) continue; // missing (a table problem) or a wildcard
      const use = out.get(key) ?? { table, columns: new Map<string, number>(), named: new Map(), line };
      out.set(key, use);
      if (columns === 'all') use.columns = 'all';
      else if (use.columns !== 'all')
        for (const c of columns) if (!use.columns.has(c)) use.columns.set(c, line);
    }
    for (const [key, columns] of columnsNamedBySql(text, cteNames) ?? []) {
      const use = out.get(key);
      if (use) for (const c of columns) if (!use.named.has(c)) use.named.set(c, line);
    }
  }
  return out;
}

/** Columns the draft reads that the connected role may not SELECT: one problem per table, with the grant. */
async function ungrantedReads(client: Queryable, uses: ColumnUse, target: string): Promise<DraftProblem[]> {
  const out: DraftProblem[] = [];
  for (const [key, use] of uses) {
    const wanted = use.columns === 'all' ? [...use.table.columns.keys()] : [...use.columns.keys()];
    const { rows } = await client.query<{ name: string; role: string }>(
      `SELECT a.attname AS name, current_user AS role FROM pg_attribute a
       WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY($2::text[])
         AND NOT has_column_privilege(a.attrelid, a.attnum, 'SELECT')
       ORDER BY a.attnum`,
      [use.table.sqlName, wanted]
    );
    if (rows.length === 0) continue;
    const columns = rows.map((r) => r.name);
    out.push(
      schemaError(
        use.line,
        `The source role "${rows[0]!.role}" may not read ${key} (${columns.join(', ')}), which the draft reads: its grants cover what the current rules read, so the dry run cannot evaluate the draft.`,
        `grant it for the dry run: GRANT SELECT (${columns.map((c) => pg.escapeIdentifier(c)).join(', ')}) ON ${use.table.sqlName} TO ${pg.escapeIdentifier(rows[0]!.role)}; or deploy, then apply what \`syncscope source-role --target ${target}\` prints`
      )
    );
  }
  return out;
}
