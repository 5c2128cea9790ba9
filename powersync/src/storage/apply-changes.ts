import { JSONBig } from '@powersync/service-jsonbig';
import type { HydratedSyncConfig, SqliteInputValue, SqliteRow } from '@powersync/service-sync-rules';
import { putChecksum, removeChecksum } from '@syncscope/core/checksums/op-checksum';
import { parameterIndexEntries } from '@syncscope/core/sync-rules/parameter-index';
import type pg from 'pg';
import { opSubkey, type SourceTable } from './source-table.ts';

export type SourceRow = SqliteRow<SqliteInputValue>;

export type RowChange =
  | { kind: 'put'; table: SourceTable; replicaId: string; row: SourceRow }
  | { kind: 'delete'; table: SourceTable; replicaId: string }
  | { kind: 'truncate'; table: SourceTable };

interface Placement {
  bucket: string;
  table: string;
  id: string;
}

interface RowState {
  placements: Placement[];
  lookups: string[];
}

interface PendingOp {
  opId: bigint;
  bucket: string;
  op: 'PUT' | 'REMOVE';
  objectType: string;
  objectId: string;
  subkey: string;
  data: string | null;
  checksum: number;
}

export interface ApplyResult {
  ops: number;
  lastOpId: bigint;
  touchedBuckets: Set<string>;
  parametersChanged: boolean;
  evaluationErrors: string[];
}

/** Hooks the fault injector uses to drop a row before it reaches storage. */
export interface ApplyOptions {
  skipPlacement?: (placement: Placement) => boolean;
}

const rowKey = (tableKey: string, replicaId: string) => `${tableKey}\u0000${replicaId}`;
const placementKey = (p: Placement) => `${p.bucket}\u0000${p.table}\u0000${p.id}`;

/**
 * Turns source row changes into bucket operations, in one storage transaction:
 * evaluates data and parameter queries, emits PUTs for the buckets a row is in and REMOVEs for
 * the buckets it left, and keeps per-bucket checksum totals and the parameter index.
 */
export class ChangeApplier {
  constructor(
    private readonly rules: HydratedSyncConfig,
    /** The version's storage schema. */
    private readonly s: string,
    private readonly options: ApplyOptions = {}
  ) {}

  /**
   * `allocate(n)` reserves n op ids from the global sequence and returns the first; ids are taken once the
   * ops are known, so a chunk takes a contiguous block.
   */
  async apply(
    client: pg.PoolClient,
    changes: RowChange[],
    allocate: (count: number) => Promise<bigint>
  ): Promise<ApplyResult> {
    const states = await this.loadStates(client, changes);
    const ops: PendingOp[] = [];
    const touchedRows = new Map<string, { table: SourceTable; replicaId: string }>();
    const errors: string[] = [];
    let nextOpId = 0n;
    let parametersChanged = false;

    const emit = (op: Omit<PendingOp, 'opId'>) => ops.push({ ...op, opId: nextOpId++ });

    const removeAll = (table: SourceTable, replicaId: string, placements: Placement[]) => {
      const subkey = opSubkey(table, replicaId);
      for (const p of placements) {
        emit({
          bucket: p.bucket,
          op: 'REMOVE',
          objectType: p.table,
          objectId: p.id,
          subkey,
          data: null,
          checksum: removeChecksum(subkey)
        });
      }
    };

    for (const change of changes) {
      if (change.kind === 'truncate') {
        for (const [key, state] of states) {
          const entry = touchedRowsFromKey(key, change.table);
          if (!entry || !state) continue;
          removeAll(change.table, entry, state.placements);
          if (state.lookups.length > 0) parametersChanged = true;
          states.set(key, null);
          touchedRows.set(key, { table: change.table, replicaId: entry });
        }
        continue;
      }
      const key = rowKey(change.table.key, change.replicaId);
      const previous = states.get(key) ?? null;
      touchedRows.set(key, { table: change.table, replicaId: change.replicaId });
      if (change.kind === 'delete') {
        if (previous) {
          removeAll(change.table, change.replicaId, previous.placements);
          if (previous.lookups.length > 0) parametersChanged = true;
        }
        states.set(key, null);
        continue;
      }
      const next = this.evaluate(change, errors);
      const subkey = opSubkey(change.table, change.replicaId);
      const kept = new Set(next.placements.map(placementKey));
      const left = (previous?.placements ?? []).filter((p) => !kept.has(placementKey(p)));
      removeAll(change.table, change.replicaId, left);
      for (const p of next.puts) {
        emit({
          bucket: p.bucket,
          op: 'PUT',
          objectType: p.table,
          objectId: p.id,
          subkey,
          data: p.data,
          checksum: putChecksum(p.table, p.id, p.data)
        });
      }
      if (change.table.syncsParameters) {
        parametersChanged = true;
        await this.replaceLookups(client, change, next.lookupRows);
      }
      states.set(key, { placements: next.placements, lookups: next.lookupRows.map((l) => l.lookup) });
    }

    const firstOpId = ops.length > 0 ? await allocate(ops.length) : 0n;
    for (const op of ops) op.opId += firstOpId;
    await this.writeOps(client, ops);
    await this.writeStates(client, states, touchedRows);
    if (changes.some((c) => c.kind === 'truncate' && c.table.syncsParameters)) {
      await client.query(`DELETE FROM ${this.s}.parameter_index WHERE source_table = ANY($1)`, [
        changes.filter((c) => c.kind === 'truncate').map((c) => c.table.key)
      ]);
    }
    for (const change of changes) {
      if (change.kind === 'delete' && change.table.syncsParameters) {
        await client.query(`DELETE FROM ${this.s}.parameter_index WHERE source_table = $1 AND replica_id = $2`, [
          change.table.key,
          change.replicaId
        ]);
      }
    }
    return {
      ops: ops.length,
      lastOpId: ops.at(-1)?.opId ?? 0n,
      touchedBuckets: new Set(ops.map((o) => o.bucket)),
      parametersChanged,
      evaluationErrors: errors
    };
  }

  private evaluate(
    change: Extract<RowChange, { kind: 'put' }>,
    errors: string[]
  ): {
    placements: Placement[];
    puts: (Placement & { data: string })[];
    lookupRows: { lookup: string; parameters: string }[];
  } {
    const puts: (Placement & { data: string })[] = [];
    // Custom values (timestamps, JSON) are lowered to SQLite values as the service's compatibility edition says.
    const row = this.rules.applyRowContext<never>(change.row);
    if (change.table.syncsData) {
      const evaluated = this.rules.evaluateRowWithErrors({ sourceTable: change.table, record: row });
      for (const e of evaluated.errors) errors.push(`${change.table.key} ${change.replicaId}: ${e.error}`);
      for (const r of evaluated.results) {
        const placement = { bucket: r.bucket, table: r.table, id: r.id };
        if (this.options.skipPlacement?.(placement)) continue;
        puts.push({ ...placement, data: JSONBig.stringify(r.data) });
      }
    }
    const lookupRows: { lookup: string; parameters: string }[] = [];
    if (change.table.syncsParameters) {
      const evaluated = parameterIndexEntries(this.rules, change.table, row);
      for (const e of evaluated.errors) errors.push(`${change.table.key} ${change.replicaId}: ${e}`);
      for (const { lookup, bucketParameters } of evaluated.entries)
        lookupRows.push({ lookup, parameters: JSONBig.stringify(bucketParameters) });
    }
    return { placements: puts.map(({ bucket, table, id }) => ({ bucket, table, id })), puts, lookupRows };
  }

  private async replaceLookups(
    client: pg.PoolClient,
    change: Extract<RowChange, { kind: 'put' }>,
    rows: { lookup: string; parameters: string }[]
  ): Promise<void> {
    await client.query(`DELETE FROM ${this.s}.parameter_index WHERE source_table = $1 AND replica_id = $2`, [
      change.table.key,
      change.replicaId
    ]);
    if (rows.length === 0) return;
    await client.query(
      `INSERT INTO ${this.s}.parameter_index (lookup, source_table, replica_id, bucket_parameters)
       SELECT l, $2, $3, p FROM unnest($1::text[], $4::text[]) AS t(l, p)`,
      [rows.map((r) => r.lookup), change.table.key, change.replicaId, rows.map((r) => r.parameters)]
    );
  }

  private async loadStates(
    client: pg.PoolClient,
    changes: RowChange[]
  ): Promise<Map<string, RowState | null>> {
    const states = new Map<string, RowState | null>();
    const tables: string[] = [];
    const ids: string[] = [];
    for (const c of changes) {
      if (c.kind === 'truncate') continue;
      tables.push(c.table.key);
      ids.push(c.replicaId);
    }
    const truncated = [...new Set(changes.filter((c) => c.kind === 'truncate').map((c) => c.table.key))];
    const { rows } = await client.query<{
      source_table: string;
      replica_id: string;
      placements: Placement[];
      lookups: string[];
    }>(
      `SELECT source_table, replica_id, placements, lookups FROM ${this.s}.current_rows
       WHERE (source_table, replica_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
          OR source_table = ANY($3::text[])`,
      [tables, ids, truncated]
    );
    for (const r of rows)
      states.set(rowKey(r.source_table, r.replica_id), { placements: r.placements, lookups: r.lookups });
    return states;
  }

  private async writeOps(client: pg.PoolClient, ops: PendingOp[]): Promise<void> {
    if (ops.length === 0) return;
    await client.query(
      `INSERT INTO ${this.s}.ops (op_id, bucket, op, object_type, object_id, subkey, checksum, op_json)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])`,
      [
        ops.map((o) => o.opId.toString()),
        ops.map((o) => o.bucket),
        ops.map((o) => o.op),
        ops.map((o) => o.objectType),
        ops.map((o) => o.objectId),
        ops.map((o) => o.subkey),
        ops.map((o) => o.checksum),
        ops.map(opJson)
      ]
    );
    const totals = new Map<string, { checksum: number; count: number; last: bigint }>();
    for (const o of ops) {
      const t = totals.get(o.bucket) ?? { checksum: 0, count: 0, last: 0n };
      t.checksum = (t.checksum + o.checksum) % 4294967296;
      t.count += 1;
      t.last = o.opId;
      totals.set(o.bucket, t);
    }
    await client.query(
      `INSERT INTO ${this.s}.buckets (bucket, checksum, op_count, last_op)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
       ON CONFLICT (bucket) DO UPDATE SET
         checksum = (${this.s}.buckets.checksum + excluded.checksum) % 4294967296,
         op_count = ${this.s}.buckets.op_count + excluded.op_count,
         last_op = excluded.last_op`,
      [
        [...totals.keys()],
        [...totals.values()].map((t) => t.checksum),
        [...totals.values()].map((t) => t.count),
        [...totals.values()].map((t) => t.last.toString())
      ]
    );
  }

  private async writeStates(
    client: pg.PoolClient,
    states: Map<string, RowState | null>,
    touched: Map<string, { table: SourceTable; replicaId: string }>
  ): Promise<void> {
    const upserts: { table: string; id: string; state: RowState }[] = [];
    const deletes: { table: string; id: string }[] = [];
    for (const [key, row] of touched) {
      const state = states.get(key);
      if (state && (state.placements.length > 0 || state.lookups.length > 0)) {
        upserts.push({ table: row.table.key, id: row.replicaId, state });
      } else {
        deletes.push({ table: row.table.key, id: row.replicaId });
      }
    }
    if (deletes.length > 0) {
      await client.query(
        `DELETE FROM ${this.s}.current_rows WHERE (source_table, replica_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
        [deletes.map((d) => d.table), deletes.map((d) => d.id)]
      );
    }
    if (upserts.length > 0) {
      await client.query(
        `INSERT INTO ${this.s}.current_rows (source_table, replica_id, placements, lookups)
         SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::jsonb[])
         ON CONFLICT (source_table, replica_id) DO UPDATE SET placements = excluded.placements, lookups = excluded.lookups`,
        [
          upserts.map((u) => u.table),
          upserts.map((u) => u.id),
          upserts.map((u) => JSON.stringify(u.state.placements)),
          upserts.map((u) => JSON.stringify(u.state.lookups))
        ]
      );
    }
  }
}

/** The op exactly as a data line carries it (the real service's key order). */
function opJson(o: PendingOp): string {
  return JSON.stringify({
    op_id: o.opId.toString(),
    op: o.op,
    object_type: o.objectType,
    object_id: o.objectId,
    checksum: o.checksum,
    subkey: o.subkey,
    data: o.data
  });
}

function touchedRowsFromKey(key: string, table: SourceTable): string | null {
  const prefix = `${table.key}\u0000`;
  return key.startsWith(prefix) ? key.slice(prefix.length) : null;
}
