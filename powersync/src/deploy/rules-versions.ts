/**
 * Versioned sync rules, as the service deploys them. Each deployed rules content is a version N with its own
 * replication slot (`powersync_<N>_<4 hex>`), bucket prefix (`N#`) and storage schema:
 *
 *   (none) ──deploy──▶ PROCESSING: slot + snapshot in the background, not served
 *   PROCESSING ──first checkpoint after its snapshot──▶ ACTIVE: served; the previous ACTIVE becomes STOP and its
 *                                                       streams end
 *   STOP ──~5 s later──▶ TERMINATED: replication stopped, slot dropped, storage cleared
 *
 * A start with a changed rules file deploys a new version while the active one keeps replicating and serving.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { BucketSourceType } from '@powersync/service-sync-rules';
import { type Logger, SyncScopeError } from '@syncscope/core';
import { type LoadedSyncRules, loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import pg from 'pg';
import type { FaultInjector } from '../faults/faults.ts';
import type { ServerMetrics } from '../metrics/server-metrics.ts';
import { Replicator } from '../replication/replicator.ts';
import { BucketStorage, type ReplicationState, readVersionStates } from '../storage/bucket-storage.ts';
import {
  createVersionSchema,
  dropVersionSchema,
  ensureStorageSchema,
  STORAGE_SCHEMA as G
} from '../storage/storage-schema.ts';
import type { DefinitionKind } from '../sync/bucket-limits.ts';

export interface DeployedVersion {
  version: number;
  content: string;
  slotName: string;
  rules: LoadedSyncRules;
  definitionKind: DefinitionKind;
  storage: BucketStorage;
  replicator: Replicator;
  /** Aborted when another version replaces this one: its streams end. */
  retired: AbortController;
}

export interface RulesVersionsOptions {
  storageUrl: string;
  sourceUrl: string;
  logger: Logger;
  metrics: ServerMetrics;
  faults: FaultInjector;
  /** `replication.connections[0].slot_name_prefix`, `powersync_` by default. */
  slotPrefix: string;
  /** How long a replaced version lingers before its slot and storage go (the service: about 5 s). */
  retireDelayMs?: number;
}

/** The service's 409 while a version reprocesses. */
export class BusyReprocessingError extends Error {
  constructor() {
    super('Busy processing sync config - cannot reprocess');
  }
}

export class RulesVersions extends EventEmitter<{ switched: [DeployedVersion] }> {
  readonly pool: pg.Pool;
  active: DeployedVersion | null = null;
  deploying: DeployedVersion | null = null;
  private readonly retirements = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: RulesVersionsOptions) {
    super();
    this.pool = new pg.Pool({
      connectionString: options.storageUrl,
      max: 10,
      application_name: 'syncscope-dev-sync-server'
    });
    this.pool.on('error', () => {}); // idle-client errors surface on the next query instead
  }

  /**
   * Opens the stored versions and deploys `content` if it differs from the newest one. Resolves once a version
   * is served: at once when one was active, else after the first version's initial replication.
   */
  async start(content: string): Promise<void> {
    const { logger } = this.options;
    const { obsoleteSlots } = await ensureStorageSchema(this.pool);
    for (const slot of obsoleteSlots) await this.dropSlot(slot);
    const states = await readVersionStates(this.pool);
    for (const s of states.filter((v) => v.state === 'STOP')) await this.terminate(s);
    const active = states.find((s) => s.state === 'ACTIVE');
    const processing = states.filter((s) => s.state === 'PROCESSING');
    const newest = processing.at(-1) ?? active;
    let resume: ReplicationState | undefined;
    if (newest && newest.content !== content) {
      logger.info('Sync config updated');
      for (const p of processing) await this.terminate(p);
    } else {
      resume = processing.at(-1);
      for (const p of processing.slice(0, -1)) await this.terminate(p);
    }
    const activeReady = active ? this.open(active) : null;
    if (activeReady) this.active = activeReady;
    const next = resume ? this.open(resume) : newest?.content === content ? null : await this.create(content);
    if (next) this.startDeploying(next);
    const served = this.active ?? next;
    if (!served) throw new Error('no sync rules version to serve');
    if (this.active) await this.active.replicator.start();
    else await new Promise<void>((resolve) => this.once('switched', () => resolve()));
  }

  /** Starts reprocessing `content` as a new version; 409-style error while another one reprocesses. */
  async deploy(content: string): Promise<DeployedVersion> {
    if (this.deploying) throw new BusyReprocessingError();
    // Validate before a version exists: invalid rules throw SYNCSCOPE_E_SYNC_RULES_INVALID.
    loadSyncRules(content);
    const version = await this.create(content);
    this.startDeploying(version);
    return version;
  }

  /** The service's reprocess: a new version with the active content. */
  async reprocess(): Promise<DeployedVersion> {
    if (this.deploying) throw new BusyReprocessingError();
    if (!this.active) throw new BusyReprocessingError();
    return this.deploy(this.active.content);
  }

  /** The rules content the newest version (deploying, else active) has. */
  get newestContent(): string | null {
    return (this.deploying ?? this.active)?.content ?? null;
  }

  private async create(content: string): Promise<DeployedVersion> {
    const { rows } = await this.pool.query<{ next: number }>(
      `SELECT coalesce(max(version), 0) + 1 AS next FROM ${G}.sync_rules`
    );
    const version = rows[0]!.next;
    const slotName = `${this.options.slotPrefix}${version}_${randomBytes(2).toString('hex')}`;
    await createVersionSchema(this.pool, version);
    await this.pool.query(
      `INSERT INTO ${G}.sync_rules (version, content, slot_name, state) VALUES ($1, $2, $3, 'PROCESSING')`,
      [version, content, slotName]
    );
    return this.open({
      version,
      content,
      slotName,
      state: 'PROCESSING',
      snapshotDone: false,
      lsn: '0/0',
      lastOpId: '0'
    });
  }

  private open(state: ReplicationState): DeployedVersion {
    const rules = loadSyncRules(state.content, { version: state.version });
    const storage = new BucketStorage(this.pool, state.version, rules.hydrated);
    const deployed: DeployedVersion = {
      version: state.version,
      content: state.content,
      slotName: state.slotName,
      rules,
      definitionKind:
        rules.config.bucketSources[0]?.type === BucketSourceType.SYNC_STREAM
          ? 'sync stream'
          : 'bucket definition',
      storage,
      retired: new AbortController(),
      replicator: new Replicator({
        sourceUrl: this.options.sourceUrl,
        storage,
        rulesYaml: state.content,
        rules: rules.hydrated,
        logger: this.options.logger,
        metrics: this.options.metrics,
        faults: this.options.faults,
        slotName: state.slotName,
        reportsLag: () => this.active === deployed
      })
    };
    deployed.replicator.on('error', () => {});
    return deployed;
  }

  private startDeploying(next: DeployedVersion): void {
    this.deploying = next;
    next.replicator
      .start()
      .then(() => (this.closed || this.deploying !== next ? undefined : this.activate(next)))
      .catch((error: Error) => {
        if (this.closed) return;
        this.options.logger.error(
          { err: error.message, slot: next.slotName },
          `[${next.slotName}] initial replication failed`
        );
        if (this.deploying === next) this.deploying = null;
      });
  }

  /** The switch: the new version is served, streams on the old one end, the old one is retired later. */
  private async activate(next: DeployedVersion): Promise<void> {
    await this.pool.query(
      `UPDATE ${G}.sync_rules SET state = CASE WHEN version = $1 THEN 'ACTIVE' ELSE 'STOP' END
       WHERE version = $1 OR state = 'ACTIVE'`,
      [next.version]
    );
    const previous = this.active;
    this.active = next;
    this.deploying = null;
    this.options.logger.info({ slot: next.slotName }, `[${next.slotName}] Activated sync config version ${next.version}`);
    this.emit('switched', next);
    if (!previous) return;
    previous.retired.abort();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const retirement = this.retire(previous).finally(() => this.retirements.delete(retirement));
      this.retirements.add(retirement);
    }, this.options.retireDelayMs ?? 5_000);
    this.timers.add(timer);
  }

  private async retire(old: DeployedVersion): Promise<void> {
    await old.replicator.stop();
    await this.terminate({ version: old.version, slotName: old.slotName });
  }

  private async terminate(v: Pick<ReplicationState, 'version' | 'slotName'>): Promise<void> {
    this.options.logger.info(`Cleaning up Postgres replication slot: ${v.slotName}...`);
    await this.dropSlot(v.slotName);
    await dropVersionSchema(this.pool, v.version);
    await this.pool.query(`UPDATE ${G}.sync_rules SET state = 'TERMINATED' WHERE version = $1`, [v.version]);
  }

  /** A stopped replication connection can hold its slot a moment longer: retried for a few seconds. */
  private async dropSlot(slotName: string): Promise<void> {
    const source = new pg.Client({ connectionString: this.options.sourceUrl });
    await source.connect();
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await source.query(
            'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
            [slotName]
          );
          return;
        } catch (error) {
          if (attempt >= 50) {
            throw new SyncScopeError(
              'SYNCSCOPE_E_PG_UNREACHABLE',
              `Could not drop replication slot ${slotName}: ${(error as Error).message}`
            );
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      await source.end().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.all([this.active, this.deploying].map((v) => v?.replicator.stop()));
    await Promise.allSettled([...this.retirements]);
    await this.pool.end().catch(() => {});
  }
}
