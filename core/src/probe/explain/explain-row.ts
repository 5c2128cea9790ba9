import { JSONBig } from '@powersync/service-jsonbig';
import {
  isEvaluationError,
  type SqlBucketDescriptor,
  type SqlDataQuery,
  type SqliteJsonValue,
  type SqliteRow,
  SqlParameterQuery,
  type UnscopedEvaluatedRow
} from '@powersync/service-sync-rules';
import pg from 'pg';
import { putChecksum } from '../../checksums/op-checksum.ts';
import { SyncScopeError } from '../../errors/index.ts';
import { allowedTableByName, ruleColumnsOf, withRuleColumns } from '../../source-access/source-access.ts';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';
import { assertSubscribableStreams, type StreamSubscription } from '../../sync-rules/stream-subscriptions.ts';
import { pgRowToSyncRulesRow } from '../../values/pg-values.ts';
import { MAX_BUCKETS_PER_CONNECTION } from '../expected/compute-expected-state.ts';
import { equalityCondition, selectFrom, type TextRow } from '../expected/row-scan.ts';
import {
  bucketDefinitions,
  bucketParametersOf,
  bucketPrefixOf,
  dataQueryPushdown,
  dataQueryRowTables,
  formatValue,
  hasWhere,
  hydrationStateOf,
  lineOfSql,
  looseKey,
  missingRequestValues,
  parameterOutputColumns,
  parameterQueryLookupColumn,
  selectOutputExpressions,
  USER_ID_KEYS,
  whereColumns,
  whereSql
} from '../expected/rule-analysis.ts';
import { describeSourceUrl, withSourceSession } from '../expected/source-session.ts';
import { findTableByName, type SourceTableInfo, tablesForPattern } from '../expected/source-tables.ts';
import {
  readParameterRows,
  resolveUserBuckets,
  type ScanContext,
  sourceOfBucket,
  type UserBuckets
} from '../expected/user-buckets.ts';
import { listed, MAX_EVIDENCE_ROWS, sameValue, typed } from './holder-evidence.ts';
import type {
  BucketHolders,
  BucketTrace,
  ParameterRowEvidence,
  QueryTrace,
  RowTrace,
  UserTrace,
  WhyNot
} from './row-trace.ts';
import { traceStreams } from './stream-traces.ts';

export type * from './row-trace.ts';

export interface ExplainRowOptions {
  sourceUrl: string;
  rules: LoadedSyncRules;
  /** A source table (`records`, `public.records`) or a data query's output table. */
  table: string;
  /** The row's id as synced (the `id` column of the row JSON). */
  id: string;
  userId?: string;
  /** Extra JWT claims of that user; `sub` is the user id. */
  claims?: Record<string, unknown>;
  clientParameters?: Record<string, unknown>;
  /** That user's explicit sync-stream subscriptions (their client's `db.syncStream(…).subscribe()`). */
  subscriptions?: StreamSubscription[];
  statementTimeoutMs?: number;
}

type ParameterQuery =
  | SqlBucketDescriptor['parameterQueries'][number]
  | SqlBucketDescriptor['globalParameterQueries'][number];

/**
 * Traces one row through the sync rules in one read-only snapshot: the row in Postgres, each data query
 * reading its table (with its line), the buckets it lands in or why none, who holds those buckets (by
 * inverting the parameter queries) and, when `userId` is given, whether that user holds each and why not.
 */
export async function explainRow(options: ExplainRowOptions): Promise<RowTrace> {
  const { rules } = options;
  const subscriptions = options.subscriptions ?? [];
  assertSubscribableStreams(rules.hydrated, subscriptions);
  // Refused before connecting: only a table the rules read is ever queried.
  const allowed = allowedTableByName(rules, options.table, (name) => outputTableSource(rules, name));
  return withSourceSession(
    options.sourceUrl,
    { statementTimeoutMs: options.statementTimeoutMs },
    async (session) => {
      const ctx: ScanContext = {
        session,
        rules,
        scans: [],
        errors: [],
        rowsRead: { parameters: 0, data: 0 }
      };
      const table = await findSourceTable(ctx, allowed, options.table, options.sourceUrl);
      const raw = await findRow(ctx, table, options.id);
      const user =
        options.userId === undefined
          ? undefined
          : await resolveUserBuckets(
              ctx,
              { ...(options.claims ?? {}), sub: options.userId },
              options.clientParameters ?? {},
              subscriptions
            );
      const readers = bucketDefinitions(rules).flatMap((definition) =>
        definition.dataQueries.filter((q) => q.applies(table.ref)).map((query) => ({ definition, query }))
      );
      const explainer = new Explainer(ctx, table, user);
      const queries: QueryTrace[] = [];
      for (const { definition, query } of readers) {
        queries.push(
          raw
            ? await explainer.traceQuery(definition, query, raw)
            : {
                definition: definition.name,
                query: query.sql,
                line: lineOfSql(rules.yaml, definition.name, query.sql),
                outputTable: query.getOutputName(table.ref.name),
                selected: false,
                reason: 'the row is not in Postgres',
                buckets: []
              }
        );
      }
      // Sync streams: which stream puts the row where, who holds it, and whether the user's buckets include it.
      queries.push(
        ...(await traceStreams(ctx, table, raw, user && { userId: options.userId!, buckets: user }))
      );
      const userTrace: UserTrace | undefined = user && {
        userId: options.userId!,
        claims: user.payload,
        subscriptions,
        buckets: user.buckets.map((b) => b.bucket),
        holdsRow: queries.some((q) => q.buckets.some((b) => b.user?.holds))
      };
      const trace: RowTrace = {
        table: options.table,
        id: options.id,
        sourceTable: table.key,
        found: raw !== null,
        row: raw && syncedColumns(rules, table, raw),
        queries,
        ...(userTrace ? { user: userTrace } : {}),
        summary: '',
        snapshotTakenAt: session.snapshotTakenAt
      };
      trace.summary = summarize(trace, table);
      return trace;
    }
  );
}

/** A bucket definition's data query whose output table is `name`: the source table it reads. */
function outputTableSource(
  rules: LoadedSyncRules,
  name: string
): { schema: string; name: string } | undefined {
  for (const definition of bucketDefinitions(rules)) {
    for (const q of definition.dataQueries) {
      if (q.sourceTable.isWildcard || q.getOutputName(q.sourceTable.name) !== name) continue;
      return { schema: q.sourceTable.schema, name: q.sourceTable.name };
    }
  }
  return undefined;
}

/** The allowed table in the source, to be read for the rules' columns only. */
async function findSourceTable(
  ctx: ScanContext,
  allowed: { schema: string; name: string },
  typed: string,
  sourceUrl: string
): Promise<SourceTableInfo> {
  const table = await findTableByName(ctx.session.client, allowed.name, allowed.schema);
  if (table) return withRuleColumns(ctx.rules, table);
  throw new SyncScopeError(
    'SYNCSCOPE_E_REQUEST_INVALID',
    `${describeSourceUrl(sourceUrl)} has no table "${typed}" (${allowed.schema}.${allowed.name}), which the sync rules read.`
  );
}

/** The row as the trace shows it: the columns the rules read (the key columns read to find it are dropped). */
function syncedColumns(rules: LoadedSyncRules, table: SourceTableInfo, raw: TextRow): TextRow {
  const columns = ruleColumnsOf(rules, table.ref);
  if (!columns) return raw;
  return Object.fromEntries(Object.entries(raw).filter(([name]) => columns.includes(name)));
}

/** The row whose synced id is `id`: by the `id` column, a column a data query selects AS id, or the key. */
async function findRow(ctx: ScanContext, table: SourceTableInfo, id: string): Promise<TextRow | null> {
  const candidates = new Set<string>();
  const readable = (name: string) => (table.readColumns ?? table.columns.map((c) => c.name)).includes(name);
  if (readable('id')) candidates.add('id');
  for (const definition of bucketDefinitions(ctx.rules)) {
    for (const q of definition.dataQueries) {
      if (!q.applies(table.ref)) continue;
      const expr = selectOutputExpressions(q.sql)
        .get('id')
        ?.replace(/^"(.*)"$/, '$1');
      if (expr && readable(expr)) candidates.add(expr);
    }
  }
  if (table.keyColumns.length === 1) candidates.add(table.keyColumns[0]!);
  for (const name of candidates) {
    const column = table.columns.find((c) => c.name === name)!;
    const params: unknown[] = [];
    const condition =
      equalityCondition(column, [id], params) ?? `${pg.escapeIdentifier(name)}::text = $${params.push(id)}`;
    const { rows } = await ctx.session.client.query<TextRow>(
      `${selectFrom(table, condition)} LIMIT 1`,
      params
    );
    if (rows[0]) return rows[0];
  }
  if (table.keyColumns.length > 1) {
    let parts: unknown;
    try {
      parts = JSON.parse(id);
    } catch {
      parts = null;
    }
    if (Array.isArray(parts) && parts.length === table.keyColumns.length) {
      const where = table.keyColumns
        .map((c, i) => `${pg.escapeIdentifier(c)}::text = $${i + 1}`)
        .join(' AND ');
      const { rows } = await ctx.session.client.query<TextRow>(
        `${selectFrom(table, where)} LIMIT 1`,
        parts.map((p) => (p === null ? null : String(p)))
      );
      if (rows[0]) return rows[0];
    }
  }
  return null;
}

function pgDisplay(table: SourceTableInfo, raw: TextRow, column: string): string {
  const text = raw[column];
  if (text === null || text === undefined) return 'NULL';
  const type = table.columns.find((c) => c.name === column)?.typeName ?? 'text';
  if (type === 'boolean') return text === 't' ? 'true' : 'false';
  if (/^(integer|bigint|smallint|numeric|real|double precision)$/.test(type)) return text;
  return formatValue(text);
}

class Explainer {
  private readonly holders = new Map<string, Promise<BucketHolders>>();

  constructor(
    private readonly ctx: ScanContext,
    private readonly table: SourceTableInfo,
    private readonly user: UserBuckets | undefined
  ) {}

  private line(definition: SqlBucketDescriptor, sql: string): number {
    return lineOfSql(this.ctx.rules.yaml, definition.name, sql);
  }

  async traceQuery(definition: SqlBucketDescriptor, q: SqlDataQuery, raw: TextRow): Promise<QueryTrace> {
    const { rules } = this.ctx;
    const record = rules.hydrated.applyRowContext<never>(pgRowToSyncRulesRow(this.table.columns, raw));
    const results = q.evaluateRow(this.table.ref, record);
    const errors = results.filter(isEvaluationError).map((e) => e.error);
    const rows = results.filter((r): r is UnscopedEvaluatedRow => !isEvaluationError(r));
    const source = definition.dataSources[0]!;
    const prefix = bucketPrefixOf(rules, source);
    const buckets: BucketTrace[] = [];
    for (const r of rows) {
      const bucket = prefix + r.serializedBucketParameters;
      const parameters = bucketParametersOf(bucket, source);
      const json = JSONBig.stringify(r.data);
      const holders = await this.holdersOf(definition, bucket, parameters);
      const trace: BucketTrace = {
        bucket,
        parameters,
        json,
        checksum: putChecksum(r.table, r.id, json),
        holders
      };
      if (this.user) trace.user = await this.userReasons(definition, q, trace);
      buckets.push(trace);
    }
    return {
      definition: definition.name,
      query: q.sql,
      line: this.line(definition, q.sql),
      outputTable: q.getOutputName(this.table.ref.name),
      selected: buckets.length > 0,
      ...(buckets.length === 0 && errors.length === 0 ? { reason: this.filterFailure(q, raw, record) } : {}),
      ...(errors.length > 0
        ? { error: errors.join('; '), reason: `evaluating the row failed: ${errors.join('; ')}` }
        : {}),
      buckets
    };
  }

  private filterFailure(q: SqlDataQuery, raw: TextRow, record: SqliteRow): string {
    const nulls = (dataQueryPushdown(q) ?? []).filter(
      (t) => record[t.column] === null || record[t.column] === undefined
    );
    if (nulls.length > 0) {
      return nulls
        .map(
          (t) => `its ${t.column} is NULL, and NULL never equals bucket.${t.parameter}, so it is in no bucket`
        )
        .join('; ');
    }
    const where = whereSql(q.sql);
    const columns = whereColumns(q.sql, dataQueryRowTables(q));
    const values = columns.map((c) => `${c} = ${pgDisplay(this.table, raw, c)}`).join(', ');
    const row = values ? ` (${values})` : '';
    if (!where) return 'the query gives this row no bucket';
    return q.bucketParameters.length > 0
      ? `no bucket satisfies WHERE ${where} for this row${row}, so it is in no bucket`
      : `WHERE ${where} is false for this row${row}, so it is in no bucket`;
  }

  private holdersOf(
    definition: SqlBucketDescriptor,
    bucket: string,
    parameters: Record<string, SqliteJsonValue>
  ): Promise<BucketHolders> {
    let pending = this.holders.get(bucket);
    if (!pending) {
      pending = this.findHolders(definition, parameters);
      this.holders.set(bucket, pending);
    }
    return pending;
  }

  /** Inverts the definition's parameter queries: which rows (and so which users) give these parameters. */
  private async findHolders(
    definition: SqlBucketDescriptor,
    parameters: Record<string, SqliteJsonValue>
  ): Promise<BucketHolders> {
    let everyone = false;
    const userIds = new Set<string>();
    const descriptions: string[] = [];
    const parameterRows: ParameterRowEvidence[] = [];
    const nearMisses: ParameterRowEvidence[] = [];
    const nobody: string[] = [];
    let parameterRowCount = 0;
    const queries: ParameterQuery[] = [...definition.globalParameterQueries, ...definition.parameterQueries];
    for (const q of queries) {
      const line = this.line(definition, q.sql);
      if (!(q instanceof SqlParameterQuery)) {
        const exprs = selectOutputExpressions(q.sql);
        const where = whereSql(q.sql);
        if (q.bucketParameters.length === 0) {
          if (!where) everyone = true;
          else descriptions.push(`any user for whom WHERE ${where} holds (${definition.name}, line ${line})`);
          continue;
        }
        const only = q.bucketParameters.length === 1 ? q.bucketParameters[0]! : null;
        const key = only ? q.parameterExtractors[only]?.key : undefined;
        if (only && key && USER_ID_KEYS.has(key) && !where && typeof parameters[only] === 'string') {
          userIds.add(parameters[only] as string);
          descriptions.push(`any user whose id is ${formatValue(parameters[only])}`);
          continue;
        }
        const conditions = q.bucketParameters.map(
          (p) => `${exprs.get(p) ?? p} is ${formatValue(parameters[p])}`
        );
        descriptions.push(
          `any user whose ${conditions.join(' and ')}${where ? ` and for whom WHERE ${where} holds` : ''} (${definition.name}, line ${line})`
        );
        continue;
      }
      // A table-backed parameter query: read the rows that could give these parameters.
      const outputColumns = parameterOutputColumns(q);
      const fromRows = q.bucketParameters.filter((p) => p in q.lookupExtractors);
      const fromRequest = q.bucketParameters.filter((p) => !(p in q.lookupExtractors));
      const lookupColumn = parameterQueryLookupColumn(q);
      const matched: ParameterRowEvidence[] = [];
      let matchedCount = 0;
      await readParameterRows(
        this.ctx,
        q,
        null,
        (row) => {
          const lookup = (JSONBig.parse(row.lookup) as SqliteJsonValue[]).slice(2);
          for (const produced of row.bucketParameters) {
            const evidence: ParameterRowEvidence = {
              definition: definition.name,
              query: q.sql,
              line,
              table: row.table,
              id: row.id,
              values: row.values,
              lookup,
              produces: produced
            };
            if (fromRows.every((p) => sameValue(p, produced[p], parameters[p]))) {
              matchedCount++;
              if (matched.length < MAX_EVIDENCE_ROWS) matched.push(evidence);
            } else if (
              nearMisses.length < MAX_EVIDENCE_ROWS &&
              fromRows.every((p) => looseKey(produced[p]) === looseKey(parameters[p]))
            ) {
              nearMisses.push(evidence);
            }
          }
        },
        {
          where: (table, params) => {
            const conditions: string[] = [];
            for (const p of fromRows) {
              const column = table.columns.find((c) => c.name === outputColumns.get(p));
              const condition = column ? equalityCondition(column, [parameters[p] ?? null], params) : null;
              if (condition) conditions.push(condition);
            }
            return conditions.length > 0 ? conditions.join(' AND ') : null;
          }
        }
      );
      parameterRows.push(...matched);
      parameterRowCount += matchedCount;
      const requestNote = fromRequest.length
        ? ` and whose ${fromRequest
            .map((p) => `${selectOutputExpressions(q.sql).get(p) ?? p} is ${formatValue(parameters[p])}`)
            .join(' and ')}`
        : '';
      const inputKey = q.inputParameters.length === 1 ? q.inputParameters[0]!.key : undefined;
      const requestSql = lookupColumn?.requestSql ?? inputKey ?? 'the request';
      for (const m of matched) {
        const value = m.lookup[0];
        if (
          inputKey &&
          USER_ID_KEYS.has(inputKey) &&
          !q.expandedInputParameter &&
          !requestNote &&
          typeof value === 'string'
        ) {
          userIds.add(value);
        } else {
          descriptions.push(
            `any user whose ${requestSql} ${lookupColumn?.expands ? 'contains' : 'is'} ${m.lookup.map(formatValue).join(', ')}${requestNote} (${m.table} ${m.id})`
          );
        }
      }
      if (matched.length === 0) {
        const table = q.sourceTable.name;
        const wanted = fromRows
          .map((p) => `${outputColumns.get(p) ?? p} = ${typed(parameters[p])}`)
          .join(' and ');
        nobody.push(
          `no ${table} row gives ${wanted || 'these parameters'} (${definition.name}, line ${line})`
        );
      }
    }
    const ids = [...userIds].sort();
    const uniqueDescriptions = [...new Set(descriptions)];
    const kind: BucketHolders['kind'] = everyone
      ? 'everyone'
      : ids.length > 0 && uniqueDescriptions.every((d) => d.startsWith('any user whose id is'))
        ? 'users'
        : uniqueDescriptions.length > 0 || ids.length > 0
          ? 'request'
          : queries.length === 0
            ? 'unknown'
            : 'nobody';
    let description: string;
    if (kind === 'everyone') description = 'every user';
    else if (kind === 'users') {
      const fromLookups = ids.filter(
        (id) => !uniqueDescriptions.includes(`any user whose id is ${formatValue(id)}`)
      );
      const more =
        parameterRowCount > parameterRows.length
          ? ` (${parameterRowCount} parameter rows in all; the first ${parameterRows.length} are listed)`
          : '';
      description = fromLookups.length > 0 ? `${listed(ids, ', ')}${more}` : listed(uniqueDescriptions, '; ');
    } else if (kind === 'request') description = listed([...ids, ...uniqueDescriptions], '; ');
    else {
      description = `nobody: ${nobody.join('; ') || 'no parameter query gives these parameters'}`;
      if (nearMisses.length > 0) {
        const first = nearMisses[0]!;
        const p = Object.keys(first.produces).find((k) => !sameValue(k, first.produces[k], parameters[k]));
        description += `; ${nearMisses.length} ${first.table} row(s) give ${p ?? 'them'} = ${typed(p ? first.produces[p] : null)}, which differs from ${typed(p ? parameters[p] : null)} only by type`;
      }
    }
    return { kind, userIds: ids, description, parameterRows, parameterRowCount, nearMisses };
  }

  /** Why the user does (not) hold the bucket, naming the rule, its line and the values involved. */
  private async userReasons(
    definition: SqlBucketDescriptor,
    dataQuery: SqlDataQuery,
    trace: BucketTrace
  ): Promise<{ holds: boolean; reasons: WhyNot[] }> {
    const user = this.user!;
    const reasons: WhyNot[] = [];
    const has = user.buckets.some((b) => b.bucket === trace.bucket);
    if (has) {
      if (user.buckets.length > MAX_BUCKETS_PER_CONNECTION) {
        reasons.push({
          code: 'over-bucket-limit',
          message: `the user has ${user.buckets.length} buckets; the service refuses a connection with more than ${MAX_BUCKETS_PER_CONNECTION} (PSYNC_S2305), so nothing syncs`,
          definition: definition.name,
          line: this.line(definition, dataQuery.sql)
        });
        return { holds: false, reasons };
      }
      return { holds: true, reasons };
    }
    const source = definition.dataSources[0]!;
    const dataLine = this.line(definition, dataQuery.sql);
    const queries: ParameterQuery[] = [...definition.globalParameterQueries, ...definition.parameterQueries];
    const add = (r: WhyNot) => {
      if (!reasons.some((x) => x.message === r.message)) reasons.push(r);
    };

    // Buckets of this definition the user has whose parameters differ only by type.
    for (const ub of user.buckets) {
      if (sourceOfBucket(ub) !== source) continue;
      const theirs = bucketParametersOf(ub.bucket, source);
      const keys = Object.keys(trace.parameters);
      const loose = keys.every((k) => looseKey(theirs[k]) === looseKey(trace.parameters[k]));
      if (!loose) continue;
      for (const k of keys.filter((k) => !sameValue(k, theirs[k], trace.parameters[k]))) {
        const dataColumn = dataQueryPushdown(dataQuery)?.find((t) => t.parameter === k)?.column;
        const dataType = this.table.columns.find((c) => c.name === dataColumn)?.typeName;
        const paramSide = await this.parameterColumnType(queries, k);
        add({
          code: 'type-mismatch',
          message:
            `type mismatch in ${definition.name}: the row is in ${trace.bucket} because ` +
            `${dataColumn ? `${this.table.ref.name}.${dataColumn}` : `bucket.${k}`} is ${typed(trace.parameters[k])}` +
            `${dataType ? ` (column type ${dataType}, line ${dataLine})` : ''}, but the user's parameter query gives ` +
            `${typed(theirs[k])}${paramSide ? ` (${paramSide})` : ''}, so the user has ${ub.bucket} instead; ` +
            'values that differ only by type make different bucket ids',
          definition: definition.name,
          line: dataLine
        });
      }
    }

    for (const q of queries) {
      const line = this.line(definition, q.sql);
      for (const m of missingRequestValues(q.sql, user.payload, user.clientParameters)) {
        add({
          code: m.source === 'client' ? 'client-parameter-missing' : 'claim-missing',
          message:
            m.source === 'client'
              ? `the client sends no '${m.name}' parameter, which ${definition.name} (line ${line}) reads as ${m.sql}, so it gives this user no ${definition.name} bucket`
              : `the token has no '${m.name}' claim${m.source === 'token_parameters' ? ' in its parameters' : ''}, which ${definition.name} (line ${line}) reads as ${m.sql}, so it gives this user no ${definition.name} bucket`,
          definition: definition.name,
          line
        });
      }
      if (missingRequestValues(q.sql, user.payload, user.clientParameters).length > 0) continue;
      if (!(q instanceof SqlParameterQuery)) {
        const scope = hydrationStateOf(this.ctx.rules).getBucketSourceScope(source);
        const produced = q
          .getStaticBucketDescriptions(user.requestParameters, scope)
          .map((b) => bucketParametersOf(b.bucket, source));
        if (produced.length === 0) {
          add({
            code: 'no-lookup',
            message: `${definition.name} (line ${line}) gives this user no bucket: ${hasWhere(q.sql) ? `WHERE ${whereSql(q.sql)} is false for this token` : 'a request value it reads is null'}`,
            definition: definition.name,
            line
          });
          continue;
        }
        const exprs = selectOutputExpressions(q.sql);
        for (const pp of produced) {
          const differing = Object.keys(trace.parameters).filter(
            (k) => !sameValue(k, pp[k], trace.parameters[k])
          );
          if (differing.every((k) => looseKey(pp[k]) === looseKey(trace.parameters[k]))) continue; // type mismatch, above
          add({
            code: 'request-value-differs',
            message: `${definition.name} (line ${line}) gives this user ${differing
              .map((k) => `${k} = ${formatValue(pp[k])} (${exprs.get(k) ?? k})`)
              .join(', ')}, but the row's bucket ${trace.bucket} needs ${differing
              .map((k) => `${k} = ${formatValue(trace.parameters[k])}`)
              .join(', ')}`,
            definition: definition.name,
            line
          });
        }
        continue;
      }
      await this.tableQueryReasons(definition, q, trace, add);
    }
    if (reasons.length === 0) {
      reasons.push({
        code: 'no-parameter-row',
        message: `none of ${definition.name}'s parameter queries gives this user ${trace.bucket}`,
        definition: definition.name,
        line: dataLine
      });
    }
    return { holds: false, reasons };
  }

  private async tableQueryReasons(
    definition: SqlBucketDescriptor,
    q: SqlParameterQuery,
    trace: BucketTrace,
    add: (r: WhyNot) => void
  ): Promise<void> {
    const user = this.user!;
    const line = this.line(definition, q.sql);
    const entry = user.lookups.get(q);
    const lookups = (entry?.lookups ?? []).map((l) => l.values.slice(2));
    const lookupColumn = parameterQueryLookupColumn(q);
    const table = q.sourceTable.name;
    const outputColumns = parameterOutputColumns(q);
    if (lookups.length === 0) {
      add({
        code: 'no-lookup',
        message: `${definition.name} (line ${line}): ${lookupColumn?.requestSql ?? 'the request value it looks up'} is null${lookupColumn?.expands ? ' or not a JSON array' : ''} for this user, so nothing is looked up`,
        definition: definition.name,
        line
      });
      return;
    }
    const lookupText = (values: SqliteJsonValue[]) =>
      lookupColumn
        ? `${lookupColumn.column} = ${values.map(formatValue).join(', ')}`
        : `lookup ${JSONBig.stringify(values)}`;
    // Rows that give this bucket but answer a lookup that differs from the user's only by type.
    const holders = trace.holders.parameterRows.filter(
      (r) => r.definition === definition.name && r.query === q.sql
    );
    let typeMismatch = false;
    for (const h of holders) {
      for (const mine of lookups) {
        const loose =
          h.lookup.length === mine.length && h.lookup.every((v, i) => looseKey(v) === looseKey(mine[i]));
        const exact = JSONBig.stringify(h.lookup) === JSONBig.stringify(mine);
        if (loose && !exact) {
          typeMismatch = true;
          add({
            code: 'type-mismatch',
            message:
              `type mismatch in ${definition.name} (line ${line}): ${table} row ${h.id} has ` +
              `${lookupColumn ? `${lookupColumn.column} = ` : ''}${h.lookup.map(typed).join(', ')}, but this user's ` +
              `${lookupColumn?.requestSql ?? 'lookup'} is ${mine.map(typed).join(', ')}; values that differ only by type do not match`,
            definition: definition.name,
            line
          });
        }
      }
    }
    if (typeMismatch) return;
    const mine = entry?.rows ?? [];
    const wanted = Object.keys(trace.parameters)
      .filter((p) => p in q.lookupExtractors)
      .map((p) => `${outputColumns.get(p) ?? p} = ${formatValue(trace.parameters[p])}`);
    const asked = lookups.map(lookupText).join(' or ');
    if (mine.length === 0) {
      add({
        code: 'parameter-query-empty',
        message: `${definition.name}'s parameter query (line ${line}) returns nothing for this user: no ${table} row with ${asked}`,
        definition: definition.name,
        line
      });
      return;
    }
    const fromRows = q.bucketParameters.filter((p) => p in q.lookupExtractors);
    const sameRows = holders.filter((h) =>
      lookups.some((l) => JSONBig.stringify(l) === JSONBig.stringify(h.lookup))
    );
    if (sameRows.length > 0 && fromRows.length < q.bucketParameters.length) {
      const exprs = selectOutputExpressions(q.sql);
      const fromRequest = q.bucketParameters.filter((p) => !(p in q.lookupExtractors));
      add({
        code: 'request-value-differs',
        message: `${definition.name} (line ${line}): this user's ${fromRequest
          .map(
            (p) =>
              `${exprs.get(p) ?? p} is ${formatValue(q.parameterExtractors[p]?.lookupParameterValue(user.requestParameters))}`
          )
          .join(
            ', '
          )}, but the row's bucket needs ${fromRequest.map((p) => formatValue(trace.parameters[p])).join(', ')}`,
        definition: definition.name,
        line
      });
      return;
    }
    const gives = fromRows
      .map(
        (p) =>
          `${p} = ${[...new Set(mine.flatMap((r) => r.bucketParameters.map((b) => formatValue(b[p]))))].join(', ')}`
      )
      .join('; ');
    add({
      code: 'no-parameter-row',
      message:
        `no ${table} row with ${asked}${wanted.length ? ` and ${wanted.join(' and ')}` : ''} ` +
        `(${definition.name}, line ${line}); this user's ${table} rows give ${gives}`,
      definition: definition.name,
      line
    });
  }

  /** `workspace_memberships.workspace_id is text` for the parameter query column behind a bucket parameter. */
  private async parameterColumnType(queries: ParameterQuery[], parameter: string): Promise<string | null> {
    for (const q of queries) {
      if (!(q instanceof SqlParameterQuery)) continue;
      const column = parameterOutputColumns(q).get(parameter);
      if (!column) continue;
      const [table] = await tablesForPattern(this.ctx.session.client, q.sourceTable);
      const type = table?.columns.find((c) => c.name === column)?.typeName;
      if (type) return `${q.sourceTable.name}.${column} is ${type}`;
    }
    return null;
  }
}

function summarize(trace: RowTrace, table: SourceTableInfo): string {
  const label = `${trace.table}/${trace.id}`;
  const sentences: string[] = [];
  if (!trace.found) {
    sentences.push(`${table.key} has no row with id ${formatValue(trace.id)}: no user should hold ${label}.`);
  } else if (trace.queries.length === 0) {
    sentences.push(`No data query in sync_rules.yaml reads ${table.key}: ${label} reaches nobody.`);
  } else if (!trace.queries.some((q) => q.selected)) {
    const why = trace.queries
      .map((q) => `${q.definition} (line ${q.line}): ${q.reason ?? 'no bucket'}`)
      .join('; ');
    sentences.push(`No data query puts ${label} in a bucket, so it reaches nobody. ${why}.`);
  } else {
    const placed = trace.queries.flatMap((q) =>
      q.buckets.map((b) => `${b.bucket} (${q.definition}, line ${q.line}), held by ${b.holders.description}`)
    );
    sentences.push(`${label} is in ${placed.join('; and in ')}.`);
  }
  if (trace.user && trace.found) {
    const buckets = trace.queries.flatMap((q) => q.buckets);
    if (trace.user.holdsRow) {
      const held = buckets.filter((b) => b.user?.holds).map((b) => b.bucket);
      sentences.push(`${trace.user.userId} holds it through ${held.join(', ')}.`);
    } else if (buckets.length > 0) {
      const reasons = [...new Set(buckets.flatMap((b) => b.user?.reasons.map((r) => r.message) ?? []))];
      sentences.push(`${trace.user.userId} does not hold it: ${reasons.join('; ')}.`);
    } else {
      sentences.push(`So ${trace.user.userId} does not hold it either.`);
    }
  }
  return sentences.join(' ');
}
