import { EventEmitter } from 'node:events';
import { JSONBig } from '@powersync/service-jsonbig';
import type { HydratedSyncConfig, SqliteJsonRow } from '@powersync/service-sync-rules';
import type pg from 'pg';
import { type ApplyOptions, ChangeApplier, type RowChange } from './apply-changes.ts';
import {
  createVersionSchema,
  dropVersionSchema,
  STORAGE_SCHEMA as G,
  versionSchema
} from './storage-schema.ts';

export interface ReplicationState {
  version: number;
  content: string;
  slotName: string;
  state: VersionState;
  snapshotDone: boolean;
  /** LSN up to which every source change is in this version's storage. */
  lsn: string;
  lastOpId: string;
}

/** The service's sync-rules states: PROCESSING (snapshot, not yet served), ACTIVE (served), then retired. */
export type VersionState = 'PROCESSING' | 'ACTIVE' | 'STOP' | 'TERMINATED';

export interface Checkpoint {
  lastOpId: bigint;
  lsn: string;
}

export interface BucketChecksum {
  bucket: string;
  checksum: number;
  count: number;
}

export interface OpsPage {
  /** Ops in the page, including hidden ones (paging advances past them). */
  count: number;
  /** Ops actually in `opsJson`. */
  sent: number;
  lastOpId: bigint;
  opsJson: string;
  dataBytes: number;
}

// Changes applied per storage statement batch; bounds memory of one flush.
const APPLY_CHUNK = 5_000;

type StateRow = {
  version: number;
  content: string;
  slot_name: string;
  state: VersionState;
  snapshot_done: boolean;
  lsn: string;
  last_op_id: string;
};

const toState = (r: StateRow): ReplicationState => ({
  version: r.version,
  content: r.content,
  slotName: r.slot_name,
  state: r.state,
  snapshotDone: r.snapshot_done,
  lsn: r.lsn,
  lastOpId: r.last_op_id
});

/** Every deployed version's state, oldest first. */
export async function readVersionStates(pool: pg.Pool | pg.PoolClient): Promise<ReplicationState[]> {
  const { rows } = await pool.query<StateRow>(
    `SELECT version, content, slot_name, state, snapshot_done, lsn, last_op_id::text AS last_op_id
     FROM ${G}.sync_rules ORDER BY version`
  );
  return rows.map(toState);
}

/**
 * One sync-rules version's bucket storage in Postgres (schema `ps_dev_v<N>`). Writers apply replicated
 * changes; readers (sync streams) see checkpoints: a last op id and the per-bucket totals consistent with it.
 * Emits `checkpoint` after every commit that moved the op log or the replicated LSN.
 */
export class BucketStorage extends EventEmitter<{ checkpoint: [Checkpoint]; 'write-checkpoint': [string] }> {
  private applier: ChangeApplier;
  private current: Checkpoint = { lastOpId: 0n, lsn: '0/0' };
  private readonly s: string;

  constructor(
    readonly pool: pg.Pool,
    readonly version: number,
    rules: HydratedSyncConfig,
    applyOptions: ApplyOptions = {}
  ) {
    super();
    this.setMaxListeners(0);
    this.s = versionSchema(version);
    this.applier = new ChangeApplier(rules, this.s, applyOptions);
  }

  get checkpoint(): Checkpoint {
    return this.current;
  }

  /** Reads the version's stored position (null when the version is not registered). */
  async init(): Promise<ReplicationState | null> {
    const state = await this.readState();
    if (state) this.current = { lastOpId: BigInt(state.lastOpId), lsn: state.lsn };
    return state;
  }

  /** `forUpdate` serializes writers of this version: each storage transaction follows the last one. */
  async readState(
    client: pg.Pool | pg.PoolClient = this.pool,
    forUpdate = false
  ): Promise<ReplicationState | null> {
    const { rows } = await client.query<StateRow>(
      `SELECT version, content, slot_name, state, snapshot_done, lsn, last_op_id::text AS last_op_id
       FROM ${G}.sync_rules WHERE version = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [this.version]
    );
    return rows[0] ? toState(rows[0]) : null;
  }

  /** Forgets the version's buckets: its snapshot starts over. */
  async reset(): Promise<void> {
    await dropVersionSchema(this.pool, this.version);
    await createVersionSchema(this.pool, this.version);
    await this.pool.query(
      `UPDATE ${G}.sync_rules SET snapshot_done = false, lsn = '0/0', last_op_id = 0 WHERE version = $1`,
      [this.version]
    );
    this.current = { lastOpId: 0n, lsn: '0/0' };
  }

  /** Reserves `count` op ids of the global sequence in its own short transaction; returns the first. */
  private readonly allocate = async (count: number): Promise<bigint> => {
    const { rows } = await this.pool.query<{ first: string }>(
      `UPDATE ${G}.op_sequence SET last_op_id = last_op_id + $1 WHERE id = 1 RETURNING (last_op_id - $1 + 1)::text AS first`,
      [count]
    );
    return BigInt(rows[0]!.first);
  };

  /**
   * Applies one source transaction (or one snapshot chunk) atomically, then records how far
   * replication got. Returns the evaluation errors (rows the rules could not evaluate).
   */
  async applyTransaction(
    changes: RowChange[],
    lsn: string,
    patch: { snapshotDone?: boolean } = {}
  ): Promise<string[]> {
    const client = await this.pool.connect();
    const errors: string[] = [];
    try {
      await client.query('BEGIN');
      const state = await this.readState(client, true);
      if (!state) throw new Error(`bucket storage of sync rules version ${this.version} is not initialised`);
      let lastOpId = BigInt(state.lastOpId);
      for (let i = 0; i < changes.length; i += APPLY_CHUNK) {
        const result = await this.applier.apply(client, changes.slice(i, i + APPLY_CHUNK), this.allocate);
        if (result.ops > 0) lastOpId = result.lastOpId;
        errors.push(...result.evaluationErrors);
      }
      await client.query(
        `UPDATE ${G}.sync_rules SET lsn = $2, last_op_id = $3, snapshot_done = snapshot_done OR $4 WHERE version = $1`,
        [this.version, lsn, lastOpId.toString(), patch.snapshotDone ?? false]
      );
      await client.query('COMMIT');
      this.current = { lastOpId, lsn };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    this.emit('checkpoint', this.current);
    return errors;
  }

  /** Fresh statistics after a bulk load, so paging through a big bucket uses its index. */
  async analyze(): Promise<void> {
    await this.pool.query(
      `ANALYZE ${this.s}.ops, ${this.s}.buckets, ${this.s}.current_rows, ${this.s}.parameter_index`
    );
  }

  /** Per-bucket totals, read in one snapshot together with the checkpoint they belong to. */
  async readCheckpointWithChecksums(
    buckets: string[]
  ): Promise<{ checkpoint: Checkpoint; checksums: Map<string, BucketChecksum> }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const state = await this.readState(client);
      const { rows } = await client.query<{ bucket: string; checksum: string; op_count: string }>(
        `SELECT bucket, checksum, op_count FROM ${this.s}.buckets WHERE bucket = ANY($1)`,
        [buckets]
      );
      await client.query('COMMIT');
      const checksums = new Map<string, BucketChecksum>();
      for (const r of rows) {
        checksums.set(r.bucket, {
          bucket: r.bucket,
          checksum: Number(r.checksum) | 0,
          count: Number(r.op_count)
        });
      }
      const checkpoint = state ? { lastOpId: BigInt(state.lastOpId), lsn: state.lsn } : this.current;
      return { checkpoint, checksums };
    } finally {
      client.release();
    }
  }

  /**
   * Up to `lines` pages of a bucket's ops in (after, upTo], each already serialized as the `data` array of
   * one data line. Postgres assembles the JSON from ops serialized at write time, so the server never
   * parses or re-encodes row data. `omit` hides PUTs of the given rows (fault injection) while paging
   * still advances past them.
   */
  async readOpsPages(
    bucket: string,
    after: bigint,
    upTo: bigint,
    opsPerLine: number,
    lines: number,
    omit: { table: string; id: string }[] = []
  ): Promise<OpsPage[]> {
    const { rows } = await this.pool.query<{ op_id: string; op_json: string; omitted: boolean }>({
      text: `SELECT o.op_id::text AS op_id, o.op_json,
                    (o.op = 'PUT' AND (o.object_type, o.object_id) IN (SELECT * FROM unnest($5::text[], $6::text[]))) AS omitted
             FROM ${this.s}.ops o WHERE o.bucket = $1 AND o.op_id > $2 AND o.op_id <= $3 ORDER BY o.op_id LIMIT $4`,
      values: [
        bucket,
        after.toString(),
        upTo.toString(),
        opsPerLine * lines,
        omit.map((o) => o.table),
        omit.map((o) => o.id)
      ]
    });
    const pages: OpsPage[] = [];
    for (let start = 0; start < rows.length; start += opsPerLine) {
      const chunk = rows.slice(start, start + opsPerLine);
      const visible = chunk.filter((r) => !r.omitted).map((r) => r.op_json);
      pages.push({
        count: chunk.length,
        sent: visible.length,
        lastOpId: BigInt(chunk.at(-1)!.op_id),
        opsJson: `[${visible.join(',')}]`,
        dataBytes: visible.reduce((n, v) => n + v.length, 0)
      });
    }
    return pages;
  }

  /** Checksum and count of one row's PUTs per bucket, up to an op id (what the omit-row fault hides). */
  async sumPutOps(
    buckets: string[],
    objectType: string,
    objectId: string,
    upTo: bigint
  ): Promise<Map<string, { checksum: number; count: number }>> {
    const { rows } = await this.pool.query<{ bucket: string; checksum: string; count: string }>(
      `SELECT bucket, sum(checksum)::text AS checksum, count(*)::text AS count FROM ${this.s}.ops
       WHERE bucket = ANY($1) AND op = 'PUT' AND object_type = $2 AND object_id = $3 AND op_id <= $4 GROUP BY bucket`,
      [buckets, objectType, objectId, upTo.toString()]
    );
    return new Map(
      rows.map((r) => [
        r.bucket,
        { checksum: Number(BigInt(r.checksum) % 4294967296n) | 0, count: Number(r.count) }
      ])
    );
  }

  /** Parameter-query rows for the given serialized lookups (what `getParameterSets` needs). */
  async readParameterSets(lookups: string[]): Promise<Map<string, SqliteJsonRow[]>> {
    const { rows } = await this.pool.query<{ lookup: string; bucket_parameters: string }>(
      `SELECT lookup, bucket_parameters FROM ${this.s}.parameter_index WHERE lookup = ANY($1)`,
      [lookups]
    );
    const sets = new Map<string, SqliteJsonRow[]>();
    for (const r of rows) {
      const params = JSONBig.parse(r.bucket_parameters) as SqliteJsonRow[];
      sets.set(r.lookup, [...(sets.get(r.lookup) ?? []), ...params]);
    }
    return sets;
  }

  async createWriteCheckpoint(userId: string, clientId: string | null, lsn: string): Promise<bigint> {
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO ${G}.write_checkpoints (user_id, client_id, lsn) VALUES ($1, $2, $3) RETURNING id`,
      [userId, clientId, lsn]
    );
    // Replication may have passed `lsn` before this row existed (its marker is emitted first): the user's
    // sessions look again now, or the echo would wait for the next change or keepalive (20 s). Only theirs:
    // waking every session for each write checkpoint made 200 concurrent probes 40,000 checkpoint reads.
    this.emit('write-checkpoint', userId);
    return BigInt(rows[0]!.id);
  }

  /** The newest write checkpoint of a user that replication has passed, if any. */
  async latestCompletedWriteCheckpoint(userId: string, replicatedLsn: string): Promise<bigint | null> {
    const { rows } = await this.pool.query<{ id: string | null }>(
      `SELECT max(id)::text AS id FROM ${G}.write_checkpoints WHERE user_id = $1 AND lsn::pg_lsn <= $2::pg_lsn`,
      [userId, replicatedLsn]
    );
    return rows[0]?.id ? BigInt(rows[0].id) : null;
  }
}
