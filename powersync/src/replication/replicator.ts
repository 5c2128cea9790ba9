import { EventEmitter } from 'node:events';
import { type Logger, SyncScopeError } from '@syncscope/core';
import { pgRowToSyncRulesRow } from '@syncscope/core/values/pg-values';
import pg from 'pg';
import { LogicalReplicationService, type Pgoutput } from 'pg-logical-replication';
import type { FaultInjector } from '../faults/faults.ts';
import type { ServerMetrics } from '../metrics/server-metrics.ts';
import type { RowChange } from '../storage/apply-changes.ts';
import type { BucketStorage } from '../storage/bucket-storage.ts';
import { copyInitialSnapshot, createSlotWithSnapshot, rawTextTypes } from './initial-snapshot.ts';
import { RawTextPgoutputPlugin } from './raw-pgoutput-plugin.ts';
import {
  checkSourceReady,
  PUBLICATION_NAME,
  type ReplicatedTable,
  replicaIdOf,
  resolveSourceTables,
  tableColumns
} from './source-schema.ts';

export interface ReplicatorOptions {
  sourceUrl: string;
  storage: BucketStorage;
  rulesYaml: string;
  rules: import('@powersync/service-sync-rules').HydratedSyncConfig;
  logger: Logger;
  metrics: ServerMetrics;
  faults: FaultInjector;
  /** `powersync_<version>_<4 hex>`: one slot per sync-rules version. */
  slotName: string;
  /** Only the served version reports replication lag (the service has no per-version metric). */
  reportsLag: () => boolean;
}

/**
 * What the admin API's diagnostics show of a version's replication, in the order the service reaches it:
 * slot created, snapshot running (keepalive time), snapshot stored (checkpoint time), first checkpoint
 * streamed after the snapshot (initial replication done).
 */
export interface ReplicationProgress {
  slotCreated: boolean;
  lastKeepaliveAt: Date | null;
  lastCheckpointAt: Date | null;
  initialReplicationDone: boolean;
}

/** A logical message with this prefix marks a write checkpoint's position in the WAL. */
export const WRITE_CHECKPOINT_MESSAGE_PREFIX = 'powersync';

type Pending = { changes: RowChange[]; commitTimeMs: number | null };

interface Batch {
  changes: RowChange[];
  transactions: number;
  /** End LSN of the last transaction in the batch; null when the batch is empty. */
  lsn: string | null;
  oldestCommitMs: number | null;
}

const emptyBatch = (): Batch => ({ changes: [], transactions: 0, lsn: null, oldestCommitMs: null });

/** Changes buffered for storage before the WAL reader waits for a flush. */
const MAX_BATCHED_CHANGES = 20_000;

/**
 * Replicates the source Postgres into bucket storage: a consistent initial snapshot from an
 * exported-snapshot slot, then pgoutput streaming. A restart resumes from the slot; changed sync
 * rules or a lost slot start over with a fresh snapshot.
 */
export class Replicator extends EventEmitter<{ error: [Error]; caughtUp: [] }> {
  private tables = new Map<string, ReplicatedTable>();
  private service: LogicalReplicationService | null = null;
  private pending: Pending | null = null;
  private batch: Batch = emptyBatch();
  private flushing: Promise<void> | null = null;
  private processingSince: number | null = null;
  private stopped = false;
  private readonly slotName: string;
  private lagTimer: NodeJS.Timeout | null = null;
  readonly progress: ReplicationProgress = {
    slotCreated: false,
    lastKeepaliveAt: null,
    lastCheckpointAt: null,
    initialReplicationDone: false
  };

  constructor(private readonly options: ReplicatorOptions) {
    super();
    this.slotName = options.slotName;
  }

  /** Initial replication done: the version has a checkpoint streamed after its snapshot. */
  get ready(): boolean {
    return this.progress.initialReplicationDone;
  }

  get replicatedTables(): ReplicatedTable[] {
    return [...this.tables.values()];
  }

  /**
   * Resolves once initial replication is done: the snapshot is in storage (taken now, or resumed from the
   * slot) and a first checkpoint was streamed after it.
   */
  async start(): Promise<void> {
    const { sourceUrl, storage, logger } = this.options;
    const source = new pg.Client({ connectionString: sourceUrl });
    await source.connect().catch((error: Error) => {
      throw new SyncScopeError(
        'SYNCSCOPE_E_PG_UNREACHABLE',
        `Cannot reach the source database: ${error.message}`
      );
    });
    let resumed = false;
    try {
      await checkSourceReady(source);
      for (const t of await resolveSourceTables(source, this.options.rules, this.options.rulesYaml))
        this.tables.set(t.table.key, t);
      for (const t of this.tables.values()) {
        if (!t.published)
          logger.warn(
            { table: t.table.key },
            `table is not in publication "${PUBLICATION_NAME}": its changes will not replicate`
          );
      }
      const slot = await source.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
        this.slotName
      ]);
      const slotExists = (slot.rowCount ?? 0) > 0;
      const state = await storage.init();
      resumed = Boolean(state?.snapshotDone && slotExists);
      if (!resumed) {
        if (slotExists) await source.query('SELECT pg_drop_replication_slot($1)', [this.slotName]);
        logger.info({ slot: this.slotName }, `[${this.slotName}] starting initial replication`);
      } else {
        logger.info(
          { slot: this.slotName, lsn: storage.checkpoint.lsn, lastOpId: storage.checkpoint.lastOpId.toString() },
          `[${this.slotName}] Initial replication already done`
        );
      }
    } finally {
      await source.end();
    }
    if (!resumed) await this.initialReplication();
    if (this.stopped) return;
    this.lagTimer = setInterval(() => this.reportLag(), 1000);
    const caughtUp = new Promise<void>((resolve) => this.once('caughtUp', resolve));
    if (resumed) this.markCaughtUp();
    await this.stream(storage.checkpoint.lsn);
    // A marker in the WAL gives the first streamed checkpoint without waiting for a source write.
    if (!resumed) await this.emitKeepalive();
    await caughtUp;
  }

  private markCaughtUp(): void {
    const now = new Date();
    this.progress.lastKeepaliveAt = now;
    this.progress.lastCheckpointAt = now;
    if (this.progress.initialReplicationDone) return;
    this.progress.initialReplicationDone = true;
    this.emit('caughtUp');
  }

  private async emitKeepalive(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.sourceUrl });
    try {
      await client.connect();
      await client.query('SELECT pg_logical_emit_message(false, $1, $2)', [
        WRITE_CHECKPOINT_MESSAGE_PREFIX,
        'keepalive'
      ]);
    } finally {
      await client.end().catch(() => {});
    }
  }

  private async initialReplication(): Promise<void> {
    const { storage, sourceUrl, metrics, logger } = this.options;
    await storage.reset();
    const slot = await createSlotWithSnapshot(sourceUrl, this.slotName);
    this.progress.slotCreated = true;
    logger.info(`[${this.slotName}] Created replication slot ${this.slotName}`);
    try {
      this.progress.lastKeepaliveAt = new Date();
      await copyInitialSnapshot(
        sourceUrl,
        slot.snapshotName,
        [...this.tables.values()],
        storage,
        (table, rows, total) => {
          metrics.rowsReplicated.inc(rows);
          logger.info(`[${this.slotName}] Replicating ${table} ${total}/?`);
        },
        () => this.stopped
      );
    } finally {
      await slot.replicationClient.end().catch(() => {});
    }
    if (this.stopped) return;
    await storage.analyze();
    await storage.applyTransaction([], slot.consistentPoint, { snapshotDone: true });
    this.progress.lastCheckpointAt = new Date();
  }

  private async stream(fromLsn: string): Promise<void> {
    const service = new LogicalReplicationService(
      { connectionString: this.options.sourceUrl, application_name: 'syncscope-dev-sync-server' },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } }
    );
    this.service = service;
    service.on('data', (lsn: string, message: Pgoutput.Message) => this.onMessage(lsn, message));
    service.on('heartbeat', async (_lsn: string, _ts: number, shouldRespond: boolean) => {
      if (this.progress.initialReplicationDone) this.progress.lastKeepaliveAt = new Date();
      if (shouldRespond) await service.acknowledge(this.options.storage.checkpoint.lsn).catch(() => {});
    });
    service.on('error', (error: Error) => {
      if (this.stopped) return;
      this.options.logger.error({ err: error.message }, 'replication stream failed; reconnecting in 1 s');
      setTimeout(() => void this.restartStream(), 1000);
    });
    const plugin = new RawTextPgoutputPlugin({
      protoVersion: 1,
      publicationNames: [PUBLICATION_NAME],
      messages: true
    });
    // subscribe() resolves only when the stream ends; errors arrive through the 'error' event.
    service
      .subscribe(plugin, this.slotName, fromLsn === '0/0' ? '0/00000000' : fromLsn)
      .catch((error: Error) => {
        if (!this.stopped) service.emit('error', error);
      });
  }

  private async restartStream(): Promise<void> {
    if (this.stopped) return;
    await this.stopService();
    await this.flushing;
    this.pending = null;
    this.batch = emptyBatch();
    await this.stream(this.options.storage.checkpoint.lsn);
  }

  private async onMessage(lsn: string, message: Pgoutput.Message): Promise<void> {
    await this.waitWhileStalled();
    switch (message.tag) {
      case 'begin':
        this.pending = { changes: [], commitTimeMs: Number(message.commitTime) / 1000 };
        this.processingSince ??= Number(message.commitTime) / 1000;
        return;
      case 'relation':
        await this.refreshRelation(message);
        return;
      case 'insert':
      case 'update':
        await this.onUpsert(message);
        return;
      case 'delete':
        this.onDelete(message);
        return;
      case 'truncate':
        for (const relation of message.relations) {
          const t = this.tables.get(`${relation.schema}.${relation.name}`);
          if (t) this.pending?.changes.push({ kind: 'truncate', table: t.table });
        }
        return;
      case 'commit':
        await this.commit(message.commitEndLsn ?? lsn);
        return;
      case 'message':
        if (
          !message.transactional &&
          message.prefix === WRITE_CHECKPOINT_MESSAGE_PREFIX &&
          message.messageLsn
        ) {
          // A write checkpoint marker: stored in WAL order with the transactions around it, so storage
          // records that replication passed it only after everything before it is stored.
          await this.commit(message.messageLsn);
        }
        return;
      default:
        return;
    }
  }

  /**
   * Queues a committed source transaction for storage. Transactions that arrive while a flush runs are
   * applied together in the next storage transaction (group commit), so a burst of small source
   * transactions costs one storage round trip instead of one each.
   */
  private async commit(lsn: string): Promise<void> {
    const pending = this.pending;
    this.pending = null;
    const changes = pending?.changes ?? [];
    this.batch.changes.push(...changes);
    this.batch.transactions += pending ? 1 : 0;
    this.batch.lsn = lsn;
    this.batch.oldestCommitMs ??= pending?.commitTimeMs ?? null;
    this.flushing ??= this.flushLoop().finally(() => {
      this.flushing = null;
    });
    // Backpressure: a very large backlog waits for storage before reading more WAL.
    if (this.batch.changes.length >= MAX_BATCHED_CHANGES) await this.flushing;
  }

  private async flushLoop(): Promise<void> {
    const { storage, metrics, logger } = this.options;
    while (this.batch.lsn !== null && !this.stopped) {
      const taken = this.batch;
      this.batch = emptyBatch();
      try {
        const errors = await storage.applyTransaction(taken.changes, taken.lsn!);
        for (const e of errors) logger.warn({ error: e }, 'sync rules could not evaluate a row');
      } catch (error) {
        // Nothing was acknowledged past the stored LSN: reconnecting replays the lost batch from the slot.
        logger.error(
          { err: (error as Error).message },
          'storing replicated changes failed; replaying from the slot'
        );
        this.batch = emptyBatch();
        setTimeout(() => void this.restartStream(), 1000);
        return;
      }
      metrics.rowsReplicated.inc(taken.changes.length);
      metrics.transactionsReplicated.inc(taken.transactions);
      this.markCaughtUp();
      this.processingSince = this.batch.oldestCommitMs ?? (this.pending ? this.processingSince : null);
      await this.service?.acknowledge(taken.lsn!).catch(() => {});
    }
  }

  private async refreshRelation(message: Pgoutput.MessageRelation): Promise<void> {
    const t = this.tables.get(`${message.schema}.${message.name}`);
    if (!t) return;
    const known = new Set(t.columns.map((c) => c.name));
    if (message.columns.every((c) => known.has(c.name)) && message.columns.length === t.columns.length)
      return;
    // The table's columns changed (ALTER TABLE): re-read them so values decode by their new types.
    const client = new pg.Client({ connectionString: this.options.sourceUrl, types: rawTextTypes });
    await client.connect();
    try {
      t.columns = await tableColumns(client, { ...t, oid: message.relationOid });
    } finally {
      await client.end();
    }
  }

  private async onUpsert(message: Pgoutput.MessageInsert | Pgoutput.MessageUpdate): Promise<void> {
    const t = this.tables.get(`${message.relation.schema}.${message.relation.name}`);
    if (!t || !this.pending) return;
    let values = message.new as Record<string, string | null | undefined>;
    const replicaId = replicaIdOf(t.table, values);
    if (message.tag === 'update') {
      const before = (message.key ?? message.old) as Record<string, string | null> | null;
      const previousId = before ? replicaIdOf(t.table, before) : null;
      if (previousId !== null && previousId !== replicaId) {
        this.pending.changes.push({ kind: 'delete', table: t.table, replicaId: previousId });
      }
    }
    if (Object.values(values).some((v) => v === undefined)) values = await this.fillToastedValues(t, values);
    const row = pgRowToSyncRulesRow(t.columns, values as Record<string, string | null>);
    this.pending.changes.push({ kind: 'put', table: t.table, replicaId, row });
  }

  /** Unchanged TOAST values are not in the WAL: read the row's current values from the source. */
  private async fillToastedValues(
    t: ReplicatedTable,
    values: Record<string, string | null | undefined>
  ): Promise<Record<string, string | null>> {
    const client = new pg.Client({ connectionString: this.options.sourceUrl, types: rawTextTypes });
    await client.connect();
    try {
      const where = t.table.replicaIdColumns
        .map((c, i) => `${pg.escapeIdentifier(c)}::text = $${i + 1}`)
        .join(' AND ');
      const { rows } = await client.query<Record<string, string | null>>(
        `SELECT * FROM ${pg.escapeIdentifier(t.table.schema)}.${pg.escapeIdentifier(t.table.name)} WHERE ${where}`,
        t.table.replicaIdColumns.map((c) => values[c] ?? null)
      );
      const current = rows[0] ?? {};
      return Object.fromEntries(
        Object.entries(values).map(([k, v]) => [k, v === undefined ? (current[k] ?? null) : v])
      );
    } finally {
      await client.end();
    }
  }

  private onDelete(message: Pgoutput.MessageDelete): void {
    const t = this.tables.get(`${message.relation.schema}.${message.relation.name}`);
    const before = (message.key ?? message.old) as Record<string, string | null> | null;
    if (!t || !this.pending || !before) return;
    this.pending.changes.push({ kind: 'delete', table: t.table, replicaId: replicaIdOf(t.table, before) });
  }

  private async waitWhileStalled(): Promise<void> {
    const { faults } = this.options;
    while (faults.current.stallReplication && !this.stopped) {
      this.processingSince ??= Date.now();
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private reportLag(): void {
    if (!this.options.reportsLag()) return;
    const since = this.processingSince;
    this.options.metrics.replicationLagSeconds.set(
      since === null ? 0 : Math.max(0, (Date.now() - since) / 1000)
    );
  }

  /** Seconds the oldest change not yet in storage has been waiting (0 when caught up). */
  get lagSeconds(): number {
    return this.processingSince === null ? 0 : Math.max(0, (Date.now() - this.processingSince) / 1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.lagTimer) clearInterval(this.lagTimer);
    await this.stopService();
    await this.flushing;
  }

  /**
   * The library strips the client's listeners on stop, but its socket can still report a late error
   * (e.g. Postgres shutting down), which would crash the process without a listener.
   */
  private async stopService(): Promise<void> {
    const client = (this.service as unknown as { _client?: pg.Client } | null)?._client;
    await this.service?.stop().catch(() => {});
    client?.on('error', () => {});
  }
}
