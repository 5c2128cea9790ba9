/**
 * Who holds a sync stream's bucket. Streams have no parameter queries to invert, so the stream itself is
 * inverted, with the rules library deciding each step:
 *
 * 1. Which request value each bucket parameter reads: the library evaluates the stream's parameters and
 *    subquery lookups for a request whose every value is a unique marker; the marker that comes back names
 *    the value (`auth.user_id()`, a claim, a subscription or connection parameter).
 * 2. A parameter from a subquery (`workspace_id IN (SELECT workspace_id FROM memberships WHERE user_id =
 *    auth.user_id())`): the subquery's table is read and each row evaluated into parameter index entries,
 *    as the service builds its index; rows whose result is the bucket's value give the request values (here
 *    user ids) that obtain it. A condition `auth.user_id() IN (SELECT …)` is a subquery any row of which
 *    admits the request values it is keyed on.
 * 3. The request values found per parameter are joined into holders: a user, their claims, and the
 *    subscription parameters their client must send.
 *
 * A parameter read through an expression, a stream built by the edition-3 compiler, and the like are
 * `unknown`; a condition on request values alone (`WHERE auth.parameter('admin')`) is kept as a condition.
 */
import { JSONBig } from '@powersync/service-jsonbig';
import {
  type BucketDataSource,
  type ParameterIndexLookupCreator,
  type RequestParameters,
  type SqliteJsonValue,
  SyncStream
} from '@powersync/service-sync-rules';
import { equalityCondition } from '../expected/row-scan.ts';
import { formatValue, hydrationStateOf, looseKey, whereSql } from '../expected/rule-analysis.ts';
import { readParameterRows, requestParametersFor, type ScanContext } from '../expected/user-buckets.ts';
import { listed, MAX_EVIDENCE_ROWS, sameValue, typed } from './holder-evidence.ts';
import type { BucketHolders, ParameterRowEvidence } from './row-trace.ts';
import { type StreamRequestValue, streamRequestValues, streamSubqueries } from './stream-sql.ts';

/** A stream query as the trace names it. */
export interface StreamQuery {
  name: string;
  sql: string;
  line: number;
}

type StreamVariant = SyncStream['variants'][number]['variant'];
type Subquery = Extract<
  StreamVariant['parameters'][number]['lookup'],
  { type: 'in' | 'overlap' }
>['subquery'];

/** A request value fixed to a value: `auth.user_id()` is 'u-alice'. */
interface Bound {
  reads: StreamRequestValue;
  value: SqliteJsonValue;
}

/** What a holder's request must contain, by `source:name` of the request value. */
type Binding = Map<string, Bound>;

/** One lookup of a subquery and the request values it is keyed on, in order. */
interface KeyedLookup {
  creator: ParameterIndexLookupCreator;
  reads: StreamRequestValue[];
}

/** The rows of one subquery that admit this bucket, as request bindings. */
interface Constraint {
  options: { binding: Binding; row: ParameterRowEvidence }[];
  /** Matching rows in all (options keeps at most MAX_EVIDENCE_ROWS). */
  count: number;
  nearMisses: ParameterRowEvidence[];
  /** Why no row admits the bucket, when none does. */
  none: string;
}

const USER_ID: StreamRequestValue = { source: 'user_id', name: 'sub', sql: 'auth.user_id()' };
const MARKER = '\u0000syncscope-request-value:';

function keyOf(value: StreamRequestValue): string {
  return `${value.source}:${value.name}`;
}

/** A request whose every value the stream reads is a unique marker, and the way back from a marker. */
class RequestMarkers {
  readonly request: RequestParameters;
  private readonly values = new Map<string, StreamRequestValue>();

  constructor(read: StreamRequestValue[]) {
    const token: Record<string, string> = {};
    const parameters = {
      subscription: {} as Record<string, string>,
      connection: {} as Record<string, string>
    };
    const all = read.some((v) => v.source === 'user_id') ? read : [USER_ID, ...read];
    all.forEach((value, i) => {
      const marker = `${MARKER}${i}`;
      this.values.set(marker, value);
      if (value.source === 'subscription' || value.source === 'connection')
        parameters[value.source][value.name] = marker;
      else token[value.name] = marker;
    });
    this.request = requestParametersFor(token, parameters.connection).withAddedStreamParameters(
      parameters.subscription
    );
  }

  /** The request value a marker stands for; undefined for anything else (an expression's result). */
  readsOf(value: unknown): StreamRequestValue | undefined {
    return typeof value === 'string' ? this.values.get(value) : undefined;
  }
}

/** The request values a subquery's lookups are keyed on; null when a key is not a plain request value. */
function keyedLookups(ctx: ScanContext, subquery: Subquery, markers: RequestMarkers): KeyedLookup[] | null {
  const state = hydrationStateOf(ctx.rules);
  const asked = subquery.hydrateLookupsForRequest(state)(markers.request);
  const out: KeyedLookup[] = [];
  for (const creator of subquery.indexLookupCreators()) {
    const scope = state.getParameterIndexLookupScope(creator);
    const mine = asked.filter((l) => l.values[0] === scope.lookupName && l.values[1] === scope.queryId);
    if (mine.length !== 1) return null;
    const reads = mine[0]!.values.slice(2).map((v) => markers.readsOf(v));
    if (reads.some((r) => r === undefined)) return null;
    out.push({ creator, reads: reads as StreamRequestValue[] });
  }
  return out;
}

function unknown(description: string): BucketHolders {
  return {
    kind: 'unknown',
    userIds: [],
    description,
    parameterRows: [],
    parameterRowCount: 0,
    nearMisses: []
  };
}

/** What a variant's parameters and conditions read, decided before any row is read. */
type VariantPlan =
  | {
      statics: { position: number; reads: StreamRequestValue }[];
      subqueries: { position: number | null; subquery: Subquery; lookups: KeyedLookup[] }[];
      /** Conditions on request values alone, which this analysis keeps as conditions. */
      requestConditions: boolean;
    }
  | { undecided: string };

function planOf(ctx: ScanContext, stream: StreamQuery, variant: StreamVariant): VariantPlan {
  const markers = new RequestMarkers(streamRequestValues(stream.sql));
  const statics: { position: number; reads: StreamRequestValue }[] = [];
  const subqueries: { position: number | null; subquery: Subquery; lookups: KeyedLookup[] }[] = [];
  const subqueryOf = (position: number | null, subquery: Subquery): string | null => {
    const lookups = keyedLookups(ctx, subquery, markers);
    if (!lookups) {
      return `its subquery on ${subquery.parameterTable.tablePattern} looks up an expression of request values, which explain does not invert`;
    }
    subqueries.push({ position, subquery, lookups });
    return null;
  };
  for (const [position, parameter] of variant.parameters.entries()) {
    if (parameter.lookup.type === 'static') {
      const values = parameter.lookup.fromRequest(markers.request);
      const reads = values.length === 1 ? markers.readsOf(values[0]) : undefined;
      if (!reads) {
        return {
          undecided: `bucket parameter ${position} is an expression of request values (or a list of them), which explain does not invert`
        };
      }
      statics.push({ position, reads });
    } else {
      const undecided = subqueryOf(position, parameter.lookup.subquery);
      if (undecided) return { undecided };
    }
  }
  for (const filter of variant.requestFilters) {
    if (filter.type !== 'dynamic') continue;
    const undecided = subqueryOf(null, filter.subquery);
    if (undecided) return { undecided };
  }
  return { statics, subqueries, requestConditions: variant.requestFilters.some((f) => f.type === 'static') };
}

/**
 * Reads the subquery's table and keeps the rows that admit the bucket: those whose result is the bucket's
 * value at `position`, or, for a condition (`position` null), every row.
 */
async function constraintOf(
  ctx: ScanContext,
  stream: StreamQuery,
  subquery: Subquery,
  lookups: KeyedLookup[],
  wanted: { position: number; value: SqliteJsonValue } | null
): Promise<Constraint> {
  const pattern = subquery.parameterTable;
  const written = streamSubqueries(stream.sql).filter(
    (s) => s.table === pattern.tablePattern && (s.schema === null || s.schema === pattern.schema)
  );
  const only = written.length === 1 ? written[0]! : undefined;
  const constraint: Constraint = { options: [], count: 0, nearMisses: [], none: '' };
  const nonTextUserIds: ParameterRowEvidence[] = [];
  for (const { creator, reads } of lookups) {
    await readParameterRows(
      ctx,
      creator,
      null,
      (row) => {
        const key = (JSONBig.parse(row.lookup) as SqliteJsonValue[]).slice(2);
        for (const { result } of row.bucketParameters) {
          const evidence: ParameterRowEvidence = {
            definition: stream.name,
            query: stream.sql,
            line: stream.line,
            table: row.table,
            id: row.id,
            values: row.values,
            lookup: key,
            produces: wanted ? { [String(wanted.position)]: result ?? null } : {}
          };
          if (wanted && !sameValue('p', result, wanted.value)) {
            if (
              constraint.nearMisses.length < MAX_EVIDENCE_ROWS &&
              looseKey(result) === looseKey(wanted.value)
            )
              constraint.nearMisses.push(evidence);
            continue;
          }
          // A token's sub is always text, so a row keyed on a user id of another type admits nobody.
          if (reads.some((r, i) => r.source === 'user_id' && typeof key[i] !== 'string')) {
            nonTextUserIds.push(evidence);
            continue;
          }
          constraint.count++;
          if (constraint.options.length < MAX_EVIDENCE_ROWS) {
            const binding: Binding = new Map(
              reads.map((r, i) => [keyOf(r), { reads: r, value: key[i] ?? null }] as const)
            );
            constraint.options.push({ binding, row: evidence });
          }
        }
      },
      {
        // Only rows whose selected column has the bucket's value can give it (narrows the read only).
        where: (table, params) => {
          const column = only?.column ? table.columns.find((c) => c.name === only.column) : undefined;
          return wanted && column ? equalityCondition(column, [wanted.value], params) : null;
        }
      }
    );
  }
  const place = `(${stream.name}, line ${stream.line})`;
  const reasons: string[] = [];
  if (wanted) {
    const what = only?.column ?? `bucket parameter ${wanted.position}`;
    reasons.push(`no ${pattern.tablePattern} row gives ${what} = ${typed(wanted.value)} ${place}`);
    const near = constraint.nearMisses[0];
    if (near) {
      reasons.push(
        `${constraint.nearMisses.length} ${near.table} row(s) give ${what} = ${typed(near.produces[String(wanted.position)])}, which differs from ${typed(wanted.value)} only by type`
      );
    }
  } else {
    reasons.push(`no ${pattern.tablePattern} row answers ${only?.sql ?? 'its subquery'} ${place}`);
  }
  const mistyped = nonTextUserIds[0];
  if (mistyped) {
    reasons.push(
      `${nonTextUserIds.length} ${mistyped.table} row(s) would give it to user id ${typed(mistyped.lookup.find((v) => typeof v !== 'string'))}, but auth.user_id() is always text`
    );
  }
  constraint.none = reasons.join('; ');
  return constraint;
}

function merged(a: Binding, b: Binding): Binding | null {
  const out = new Map(a);
  for (const [key, bound] of b) {
    const existing = out.get(key);
    if (existing && !sameValue('p', existing.value, bound.value)) return null;
    out.set(key, bound);
  }
  return out;
}

function bindingKey(binding: Binding): string {
  return JSONBig.stringify(
    [...binding.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, b]) => [k, b.value])
  );
}

/** Every combination of one admitting row per constraint that agrees on shared request values. */
function joined(start: Binding, constraints: Constraint[]): { holders: Binding[]; truncated: boolean } {
  let holders = [start];
  let truncated = false;
  for (const c of constraints) {
    const next = new Map<string, Binding>();
    for (const h of holders) {
      for (const o of c.options) {
        const m = merged(h, o.binding);
        if (m) next.set(bindingKey(m), m);
      }
    }
    holders = [...next.values()];
    if (holders.length > MAX_EVIDENCE_ROWS) {
      holders = holders.slice(0, MAX_EVIDENCE_ROWS);
      truncated = true;
    }
  }
  return { holders, truncated };
}

/** `any client of u-alice or u-bob subscribing to records with workspace_id = 'ws-1'`. */
function describeGroup(
  stream: string,
  autoSubscribed: boolean,
  userIds: string[],
  others: Bound[],
  condition: string | null
): string {
  const subscription = others.filter((b) => b.reads.source === 'subscription');
  const claims = others.filter((b) => b.reads.source !== 'subscription');
  const subscribes = !autoSubscribed || subscription.length > 0;
  let text = subscribes || userIds.length > 0 ? 'any client' : 'any user';
  if (userIds.length > 0) text += ` of ${listed(userIds, ' or ')}`;
  if (claims.length > 0)
    text += ` whose ${claims.map((b) => `${b.reads.sql} is ${formatValue(b.value)}`).join(' and ')}`;
  if (subscribes) text += ` subscribing to ${stream}`;
  if (subscription.length > 0)
    text += ` with ${subscription.map((b) => `${b.reads.name} = ${formatValue(b.value)}`).join(' and ')}`;
  if (condition) text += ` ${condition}`;
  return text;
}

function holdersOf(
  stream: StreamQuery,
  autoSubscribed: boolean,
  bindings: Binding[],
  condition: string | null,
  evidence: Pick<BucketHolders, 'parameterRows' | 'parameterRowCount' | 'nearMisses'> & { truncated: boolean }
): BucketHolders {
  const { truncated, ...rows } = evidence;
  const userIdOf = (b: Binding) => b.get(keyOf(USER_ID))?.value as string | undefined;
  const userIds = [...new Set(bindings.map(userIdOf).filter((id) => id !== undefined))].sort();
  const onlyUsers = bindings.every((b) => b.size === 1 && userIdOf(b) !== undefined);
  if (bindings.every((b) => b.size === 0) && !condition) {
    return autoSubscribed
      ? { kind: 'everyone', userIds: [], description: 'every user', ...rows }
      : { kind: 'request', userIds: [], description: `any client subscribing to ${stream.name}`, ...rows };
  }
  const more =
    rows.parameterRowCount > rows.parameterRows.length || truncated
      ? ` (${rows.parameterRowCount} parameter rows in all; the first ${rows.parameterRows.length} are listed)`
      : '';
  if (onlyUsers && autoSubscribed && !condition)
    return { kind: 'users', userIds, description: `${listed(userIds, ', ')}${more}`, ...rows };
  // Holders that differ only in their user id read as one group.
  const groups = new Map<string, { userIds: string[]; others: Bound[] }>();
  for (const b of bindings) {
    const others = [...b.values()].filter((bound) => bound.reads.source !== 'user_id');
    const key = bindingKey(new Map(others.map((o) => [keyOf(o.reads), o])));
    const group = groups.get(key) ?? { userIds: [], others };
    const id = userIdOf(b);
    if (id !== undefined) group.userIds.push(id);
    groups.set(key, group);
  }
  const descriptions = [...groups.values()].map((g) =>
    describeGroup(stream.name, autoSubscribed, g.userIds.sort(), g.others, condition)
  );
  return {
    kind: 'request',
    // A condition on request values the analysis keeps undecided: these users hold it only if it holds.
    userIds: condition ? [] : userIds,
    description: `${listed(descriptions, '; ')}${more}`,
    ...rows
  };
}

/**
 * The holders of a bucket of `source` (one variant of a sync stream) whose parameters are `parameters`
 * (`{'0': value, …}` by position), with the parameter rows that give it as evidence.
 */
export async function streamBucketHolders(
  ctx: ScanContext,
  stream: StreamQuery,
  source: BucketDataSource,
  parameters: Record<string, SqliteJsonValue>
): Promise<BucketHolders> {
  const definition = ctx.rules.hydrated.bucketSourceDefinitions.find((d) => d.name === stream.name);
  const variant =
    definition instanceof SyncStream
      ? definition.variants.find((v) => v.dataSource === source)?.variant
      : undefined;
  if (!definition || !variant) {
    return unknown(
      `not traced: stream ${stream.name} is not an edition-2 sync stream, the kind explain inverts; probe a user to see whether they hold it`
    );
  }
  const plan = planOf(ctx, stream, variant);
  if ('undecided' in plan) {
    return unknown(
      `not traced: in stream ${stream.name} (line ${stream.line}), ${plan.undecided}; probe a user to see whether they hold it`
    );
  }
  const valueAt = (position: number): SqliteJsonValue => parameters[String(position)] ?? null;
  const nobody: string[] = [];
  const start: Binding = new Map();
  for (const { position, reads } of plan.statics) {
    const value = valueAt(position);
    if (reads.source === 'user_id' && typeof value !== 'string') {
      nobody.push(
        `bucket parameter ${position} is ${reads.sql}, which is always text, but this bucket needs ${typed(value)} (${stream.name}, line ${stream.line})`
      );
      continue;
    }
    const fixed = merged(start, new Map([[keyOf(reads), { reads, value }]]));
    if (!fixed) {
      nobody.push(
        `this bucket needs ${reads.sql} to have two different values (${stream.name}, line ${stream.line})`
      );
      continue;
    }
    for (const [k, v] of fixed) start.set(k, v);
  }
  const constraints: Constraint[] = [];
  for (const { position, subquery, lookups } of plan.subqueries) {
    const wanted = position === null ? null : { position, value: valueAt(position) };
    constraints.push(await constraintOf(ctx, stream, subquery, lookups, wanted));
  }
  nobody.push(...constraints.filter((c) => c.options.length === 0).map((c) => c.none));
  const evidence = {
    parameterRows: constraints.flatMap((c) => c.options.map((o) => o.row)).slice(0, MAX_EVIDENCE_ROWS),
    parameterRowCount: constraints.reduce((n, c) => n + c.count, 0),
    nearMisses: constraints.flatMap((c) => c.nearMisses).slice(0, MAX_EVIDENCE_ROWS)
  };
  if (nobody.length > 0)
    return { kind: 'nobody', userIds: [], description: `nobody: ${nobody.join('; ')}`, ...evidence };
  const { holders, truncated } = joined(start, constraints);
  // Only the first rows of each subquery were kept: an empty join of those says nothing of the rest.
  const capped = constraints.some((c) => c.count > c.options.length);
  if (holders.length === 0 && capped) {
    return {
      kind: 'unknown',
      userIds: [],
      description: `not worked out: a subquery of ${stream.name} (line ${stream.line}) matches more than ${MAX_EVIDENCE_ROWS.toLocaleString('en-US')} rows, and the first ones kept do not combine; probe or explain a given user instead`,
      ...evidence
    };
  }
  if (holders.length === 0) {
    return {
      kind: 'nobody',
      userIds: [],
      description: `nobody: the parameter rows that give its parameters ask for different request values (${stream.name}, line ${stream.line})`,
      ...evidence
    };
  }
  const where = whereSql(stream.sql);
  const condition = plan.requestConditions
    ? `for whom the conditions on request values in WHERE ${where ?? ''} hold`
    : null;
  return holdersOf(stream, definition.subscribedToByDefault, holders, condition, { ...evidence, truncated });
}
