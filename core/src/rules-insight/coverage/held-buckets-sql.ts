/**
 * SQL for "some user holds the bucket this row goes to": the row's bucket columns must be among the
 * bucket parameters a parameter query yields for a user. Uncorrelated `IN (SELECT …)` so Postgres
 * hashes each parameter table once instead of probing it per row. Type mismatches that make a
 * comparison never match are collected on the way, at the line of the rule that makes them.
 */
import type { UserSearchAccess } from '../../source-access/source-access.ts';
import { columnSql, mismatchOf, type TypeMismatch } from './filter-sql.ts';
import type {
  DataQueryShape,
  DefinitionShape,
  Located,
  RequestValue,
  StaticParameterSource,
  TableParameterSource
} from './rule-shapes.ts';
import { type CatalogTable, tableKey, type ValueClass } from './source-catalog.ts';

export interface LocatedMismatch extends TypeMismatch, Located {
  fix: string;
}

export interface HeldContext {
  catalog: Map<string, CatalogTable>;
  /** The target's users table: a user-id lookup is held only by users in it. */
  users?: { table: CatalogTable; idColumn: string };
  /** Claims probe tokens carry (extra_claims): their JSON types decide claim comparisons. */
  claims: Record<string, unknown>;
  mismatches: LocatedMismatch[];
}

export function usersOf(
  catalog: Map<string, CatalogTable>,
  userSearch: UserSearchAccess | undefined
): HeldContext['users'] {
  const table = userSearch && catalog.get(`${userSearch.schema}.${userSearch.table}`);
  return table && userSearch ? { table, idColumn: userSearch.idColumn } : undefined;
}

function requestClass(request: RequestValue, claims: Record<string, unknown>): ValueClass | undefined {
  if (request.kind === 'user_id') return 'text';
  if (request.kind !== 'claim') return undefined;
  const value = claims[request.name];
  if (typeof value === 'string') return 'text';
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return 'number';
  return undefined;
}

function requestLabel(request: RequestValue, claims: Record<string, unknown>): string {
  if (request.kind === 'user_id') return 'request.user_id() (text: the token subject)';
  if (request.kind === 'claim')
    return `the claim ${request.name} (${requestClass(request, claims) === 'number' ? 'a number' : 'text'} in extra_claims)`;
  return request.sql;
}

function record(ctx: HeldContext, where: Located, mismatch: TypeMismatch, fix: string): void {
  if (!ctx.mismatches.some((m) => m.line === where.line && m.message === mismatch.message))
    ctx.mismatches.push({ ...mismatch, definition: where.definition, sql: where.sql, line: where.line, fix });
}

/** The condition on a parameter row's lookup column that some user's request matches it. */
export function holderSql(source: TableParameterSource, table: CatalogTable, ctx: HeldContext): string {
  if (!source.lookup) return 'TRUE';
  const lookup = columnSql(table, 's', source.lookup.column);
  const cls = requestClass(source.lookup.request, ctx.claims);
  if (cls && cls !== lookup.valueClass) {
    const castTo = lookup.valueClass === 'number' ? 'integer' : 'text';
    record(
      ctx,
      source,
      {
        left: lookup.label,
        right: requestLabel(source.lookup.request, ctx.claims),
        message: `${lookup.label} is compared with ${requestLabel(source.lookup.request, ctx.claims)}: sync rules compare ${lookup.valueClass} and ${cls} values as different ('42' is not 42), so no user's request matches a row`
      },
      `compare like with like, e.g. \`WHERE ${source.lookup.column} = CAST(… AS ${castTo})\`, or change the column's type`
    );
    return 'FALSE';
  }
  if (source.lookup.request.kind === 'user_id' && ctx.users) {
    const id = columnSql(ctx.users.table, 'u', ctx.users.idColumn);
    return `(${lookup.sql})::text IN (SELECT (${id.sql})::text FROM ${ctx.users.table.sqlName} u)`;
  }
  return `(${lookup.sql} IS NOT NULL)`;
}

function tableHeldSql(
  q: DataQueryShape,
  row: CatalogTable,
  source: TableParameterSource,
  ctx: HeldContext,
  conditions: (source: TableParameterSource, table: CatalogTable) => string
): string {
  const table = ctx.catalog.get(tableKey(source.table));
  if (!table) return 'FALSE';
  const holder = holderSql(source, table, ctx); // first, so a lookup that never matches is recorded too
  const left: string[] = [];
  const right: string[] = [];
  for (const { column, parameter } of q.bucketColumns) {
    const a = columnSql(row, 't', column);
    const b = columnSql(table, 's', source.outputs.get(parameter)!);
    const mismatch = mismatchOf(a, b);
    if (mismatch) {
      record(
        ctx,
        q,
        {
          ...mismatch,
          message: `${a.label} is compared with bucket.${parameter}, which comes from ${b.label} (line ${source.line}): sync rules compare ${a.valueClass} and ${b.valueClass} values as different ('42' is not 42), so no row is ever in a bucket a user holds`
        },
        `give both columns one type, or cast in the parameter query: \`SELECT CAST(${source.outputs.get(parameter)} AS ${a.valueClass === 'number' ? 'integer' : 'text'}) AS ${parameter} …\``
      );
      return 'FALSE';
    }
    left.push(a.sql);
    right.push(b.sql);
  }
  const where = `${holder} AND ${conditions(source, table)}`;
  if (left.length === 0) return `EXISTS (SELECT 1 FROM ${table.sqlName} s WHERE ${where})`;
  return `(${left.join(', ')}) IN (SELECT ${right.join(', ')} FROM ${table.sqlName} s WHERE ${where})`;
}

function staticHeldSql(
  q: DataQueryShape,
  row: CatalogTable,
  source: StaticParameterSource,
  ctx: HeldContext
): string {
  const terms: string[] = [];
  for (const { column, parameter } of q.bucketColumns) {
    const a = columnSql(row, 't', column);
    const request = source.outputs.get(parameter) ?? { kind: 'other' as const, sql: parameter };
    const cls = requestClass(request, ctx.claims);
    if (cls && cls !== a.valueClass) {
      record(
        ctx,
        q,
        {
          left: a.label,
          right: requestLabel(request, ctx.claims),
          message: `${a.label} is compared with bucket.${parameter}, which is ${requestLabel(request, ctx.claims)} (line ${source.line}): sync rules compare ${a.valueClass} and ${cls} values as different ('42' is not 42), so this never matches`
        },
        `cast the request value in the parameter query (line ${source.line}) to the column's type, or change the column's type`
      );
      return 'FALSE';
    }
    if (request.kind === 'user_id' && ctx.users) {
      const id = columnSql(ctx.users.table, 'u', ctx.users.idColumn);
      terms.push(`(${a.sql})::text IN (SELECT (${id.sql})::text FROM ${ctx.users.table.sqlName} u)`);
    } else terms.push(`(${a.sql} IS NOT NULL)`);
  }
  return terms.length ? terms.join(' AND ') : 'TRUE';
}

/** True (in SQL, over the row `t`) when a user holds the bucket the data query puts the row in. */
export function heldSql(
  q: DataQueryShape,
  row: CatalogTable,
  definition: DefinitionShape,
  ctx: HeldContext,
  conditions: (source: TableParameterSource, table: CatalogTable) => string
): string {
  if (definition.global) return 'TRUE';
  const parts = definition.sources.map((s) =>
    s.kind === 'table' ? tableHeldSql(q, row, s, ctx, conditions) : staticHeldSql(q, row, s, ctx)
  );
  return parts.length ? `(${parts.join(' OR ')})` : 'FALSE';
}
