import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PowerSyncDatabase } from '@powersync/node';
import pg from 'pg';
import type { ErrorCode } from '../errors/error-codes.ts';
import { errorEvent, type PhaseResult } from '../probe/classify-outcome.ts';
import { abortEvent, type ProbeState, probeTransition } from '../probe/probe-lifecycle.ts';
import type { ProbeTarget } from '../probe/probe-types.ts';
import { checkService, recheckService, replicationEvidence } from '../probe/service-evidence.ts';
import { deriveClientSchema } from '../probe/sync/derive-client-schema.ts';
import {
  type MintedProbeToken,
  mintAuditedProbeToken,
  type ProbeTokenAuthorisation
} from '../probe/tokens/mint-probe-token.ts';
import { verdictOfReason } from '../probe/verdicts.ts';
import { loadSyncRules } from '../sync-rules/load-sync-rules.ts';
import { WriteProbeConnector } from './probe-connector.ts';
import {
  WRITE_PROBE_LEGS,
  WRITE_PROBE_REPORT_VERSION,
  type WriteProbeLeg,
  type WriteProbeLegName,
  type WriteProbeReport
} from './write-probe-types.ts';

export const WRITE_PROBE_DEFAULTS = { firstSyncMs: 30_000, legTimeoutMs: 15_000, pollMs: 20 } as const;

export interface RunWriteProbeOptions {
  legTimeoutMs?: number;
  /** Who runs the write probe and why: each sync token (refreshes too) is audited with it first. */
  authorisation: ProbeTokenAuthorisation;
  onLeg?: (leg: WriteProbeLeg) => void;
  /**
   * Stops the probe promptly: inconclusive with the signal's reason when it is a catalogue code
   * (SYNCSCOPE_E_JOB_LEASE_LOST, SYNCSCOPE_E_PROBE_DEADLINE), else the deadline's.
   */
  signal?: AbortSignal;
}

/** The reason code the read probe's lifecycle gives an event in `state` (one table for both probes). */
function reasonOf(state: ProbeState, result: PhaseResult): ErrorCode {
  const t = probeTransition(state, result.event);
  if (!('verdict' in t) || t.verdict === 'consistent') return 'SYNCSCOPE_E_INTERNAL_ERROR';
  return t.reason === 'event' ? (result.code ?? 'SYNCSCOPE_E_INTERNAL_ERROR') : t.reason;
}

/** Resolves with the signal's event as soon as it aborts (never, without one). */
function whenAborted(signal: AbortSignal | undefined): Promise<PhaseResult> {
  return new Promise((resolve) => {
    if (!signal) return;
    const fire = () =>
      resolve({
        event: abortEvent(signal),
        message: 'The write probe was stopped (its deadline, or its job lease was lost).'
      });
    if (signal.aborted) fire();
    else signal.addEventListener('abort', fire, { once: true });
  });
}

class LegTimeout extends Error {}

/** Polls `check` until it returns a value other than undefined, or the time is up. */
async function until<T>(
  check: () => Promise<T | undefined>,
  ms: number,
  pollMs: number = WRITE_PROBE_DEFAULTS.pollMs
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new LegTimeout();
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

const LEG_SENTENCES: Record<WriteProbeLegName, string> = {
  'local-write': 'the local write failed',
  'backend-accepted': 'the app backend did not accept the upload',
  'visible-in-postgres': 'the backend accepted the write but it never appeared in Postgres',
  'replicated-back':
    'the row is in Postgres but never came back to the client (replication or the sync service)',
  'write-checkpoint':
    'the row came back but the write checkpoint never completed: clients with local writes stay pending'
};

/**
 * A synthetic write through the app's real write path, as the target's test user: a local
 * writeTransaction (insert, then update the same row, so the connector compacts PUT + PATCH into one PUT),
 * upload to the app backend, the row in Postgres, the row synced back, the write checkpoint complete.
 * Each leg is timed; the first that fails is named. The row carries a marker and is deleted again the
 * same way. Never throws: the verdicts and reasons are the read probe's (core/src/probe/verdicts.ts).
 */
export async function runWriteProbe(
  target: ProbeTarget,
  options: RunWriteProbeOptions
): Promise<WriteProbeReport> {
  const started = Date.now();
  const settings = target.writeProbe;
  const rowId = randomUUID();
  const marker = `syncscope-write-probe ${new Date(started).toISOString()}`;
  const legs: WriteProbeLeg[] = [];
  const warnings: string[] = [];
  let minted: MintedProbeToken | null = null;
  const report = (
    partial: Partial<WriteProbeReport> & Pick<WriteProbeReport, 'verdict' | 'summary'>
  ): WriteProbeReport => ({
    version: WRITE_PROBE_REPORT_VERSION,
    kind: 'write',
    target: target.name,
    userId: settings?.userId ?? '',
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    table: settings?.table ?? '',
    rowId,
    marker,
    legs,
    cleanup: 'not-needed',
    token: { kid: minted?.kid ?? target.signing.kid, jti: minted?.jti ?? '' },
    warnings,
    ...partial
  });
  const finish = (code: ErrorCode, message: string, partial: Partial<WriteProbeReport> = {}) => {
    const verdict = verdictOfReason(code);
    const lead = {
      mismatch: 'Write path broken',
      inconclusive: 'Inconclusive',
      error: 'Write probe could not run'
    }[verdict];
    return report({
      verdict,
      summary: `${lead}: ${message}`,
      reason: { code, message },
      ...(verdict === 'error' ? { error: { code, message } } : {}),
      ...partial
    });
  };
  if (!settings || !target.uploadUrl)
    return finish(
      'SYNCSCOPE_E_TARGETS_INVALID',
      `Target "${target.name}" has no write_probe (and upload_url): add them to the targets file (docs/targets.md).`
    );
  // A service snapshotting or reprocessing rules cannot echo anything yet: no write is made.
  const service = await checkService(target, options.signal ?? new AbortController().signal);
  warnings.push(...service.warnings);
  if (service.result.event !== 'ok')
    return finish(reasonOf('service-check', service.result), service.result.message ?? '');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-write-probe-'));
  const source = new pg.Client({ connectionString: target.sourceUrl, statement_timeout: 5_000 });
  source.on('error', () => {});
  // Assigned inside `work`, closed here whichever way it ends.
  let db = null as PowerSyncDatabase | null;
  const uploadUrl = target.uploadUrl;
  const aborted = whenAborted(options.signal);
  const work = (async (): Promise<WriteProbeReport> => {
    await source.connect();
    const rules = loadSyncRules(target.syncRulesYaml, { file: target.syncRulesFile });
    const schema = await deriveClientSchema(source, rules.config);
    const syncToken = async () => {
      if (minted && minted.expiresAt.getTime() - Date.now() > 60_000) return minted.token;
      minted = await mintAuditedProbeToken({
        ...options.authorisation,
        target,
        userId: settings.userId,
        purpose: 'write'
      });
      return minted.token;
    };
    const connector = new WriteProbeConnector({
      syncUrl: target.syncUrl,
      syncToken,
      uploadUrl,
      uploadToken: settings.uploadToken
    });
    db = new PowerSyncDatabase({
      schema,
      database: { dbFilename: 'write-probe.db', dbLocation: dir, readWorkerCount: 1 },
      // The client logs to the console by default ("Could not apply checkpoint due to local data" while
      // the row uploads): that would land in the CLI's stdout, in the middle of its --json report.
      logger: { log: () => {} }
    });
    await db.connect(connector, { retryDelayMs: 200, crudUploadThrottleMs: 0 });
    const firstSync = await db
      .waitForFirstSync({ signal: AbortSignal.timeout(WRITE_PROBE_DEFAULTS.firstSyncMs) })
      .then(() => true)
      .catch(() => false);
    if (!firstSync) {
      return finish(
        'SYNCSCOPE_E_STREAM_UNSTABLE',
        `the client did not finish its first sync as ${settings.userId} within ${WRITE_PROBE_DEFAULTS.firstSyncMs / 1000} s (probe the user for the cause).`
      );
    }
    const failed = await runLegs(db, connector, source, { ...settings, rowId, marker }, options, legs);
    const cleanup =
      legs.find((l) => l.leg === 'backend-accepted')?.status === 'passed'
        ? await cleanUp(db, source, settings.table, rowId)
        : 'not-needed';
    if (cleanup === 'pending')
      warnings.push(
        `The probe row ${settings.table}/${rowId} (marker "${marker}") may still exist: delete it.`
      );
    if (!failed) {
      return report({
        verdict: 'consistent',
        cleanup,
        summary: `Write path healthy: ${legs.map((l) => `${l.leg} ${l.ms} ms`).join(', ')}.`
      });
    }
    const message = `${failed.leg}: ${LEG_SENTENCES[failed.leg]}${failed.detail ? ` (${failed.detail})` : ''}.`;
    const backendDown = connector.outcomes.get(rowId)?.at(-1)?.kind === 'unreachable';
    const code = await legReason(failed.leg, backendDown, target, service.diagnostics, options.signal);
    return finish(code, message, { failedLeg: failed.leg, cleanup });
  })();
  try {
    const result = await Promise.race([work.catch((error: unknown) => errorEvent(error)), aborted]);
    if ('kind' in result) return result;
    return finish(reasonOf('sync', result), result.message ?? 'the write probe failed');
  } finally {
    work.catch(() => {}); // abandoned when the signal won: it fails as its database closes
    await db?.disconnect().catch(() => {});
    await db?.close().catch(() => {});
    await source.end().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

/** Why a leg failed, as a reason code: the write path's, or the service's replication. */
async function legReason(
  leg: WriteProbeLegName,
  backendDown: boolean,
  target: ProbeTarget,
  before: Parameters<typeof replicationEvidence>[0]['before'],
  signal: AbortSignal | undefined
): Promise<ErrorCode> {
  switch (leg) {
    case 'local-write':
      return 'SYNCSCOPE_E_INTERNAL_ERROR';
    case 'backend-accepted':
      return backendDown ? 'SYNCSCOPE_E_SERVICE_UNREACHABLE' : 'SYNCSCOPE_E_WRITE_NOT_APPLIED';
    case 'visible-in-postgres':
      return 'SYNCSCOPE_E_WRITE_NOT_APPLIED';
    case 'write-checkpoint':
      return 'SYNCSCOPE_E_WRITE_CHECKPOINT_NOT_ECHOED';
    case 'replicated-back': {
      const after = await recheckService(target, signal ?? new AbortController().signal);
      const { stalled } = replicationEvidence({ before, after, writeCheckpointEchoed: null, settleMs: 0 });
      return stalled ? 'SYNCSCOPE_E_REPLICATION_STALLED' : 'SYNCSCOPE_E_ROWS_DIFFER';
    }
  }
}

async function runLegs(
  db: PowerSyncDatabase,
  connector: WriteProbeConnector,
  source: pg.Client,
  row: {
    table: string;
    values: Record<string, unknown>;
    markerColumn: string;
    rowId: string;
    marker: string;
  },
  options: RunWriteProbeOptions,
  legs: WriteProbeLeg[]
): Promise<WriteProbeLeg | undefined> {
  const timeout = options.legTimeoutMs ?? WRITE_PROBE_DEFAULTS.legTimeoutMs;
  const table = `"${row.table.replaceAll('"', '""')}"`;
  const columns = Object.keys(row.values).filter((c) => c !== row.markerColumn && c !== 'id');
  const quoted = (c: string) => `"${c.replaceAll('"', '""')}"`;
  const steps: Record<WriteProbeLegName, () => Promise<void>> = {
    'local-write': () =>
      db.writeTransaction(async (tx) => {
        await tx.execute(
          `INSERT INTO ${table} (id, ${[...columns, row.markerColumn].map(quoted).join(', ')}) VALUES (?, ${[...columns, row.markerColumn].map(() => '?').join(', ')})`,
          [row.rowId, ...columns.map((c) => row.values[c]), `${row.marker} (pending)`]
        );
        await tx.execute(`UPDATE ${table} SET ${quoted(row.markerColumn)} = ? WHERE id = ?`, [
          row.marker,
          row.rowId
        ]);
      }),
    'backend-accepted': async () => {
      // Accepted, or rejected as final: decided. Retryable rejections and an unreachable backend are
      // retried by the client until the leg times out, then reported with the last answer.
      const last = () => connector.outcomes.get(row.rowId)?.at(-1);
      try {
        const outcome = await until(async () => {
          const o = last();
          return o && (o.kind === 'accepted' || (o.kind === 'rejected' && !o.retryable)) ? o : undefined;
        }, timeout);
        if (outcome.kind === 'rejected') throw new Error(`the backend rejected it: ${outcome.detail}`);
      } catch (error) {
        const o = last();
        if (!(error instanceof LegTimeout) || !o) throw error;
        throw new Error(
          o.kind === 'unreachable'
            ? `the backend is unreachable: ${o.detail}`
            : `the backend keeps rejecting it as retryable: ${o.kind === 'rejected' ? o.detail : ''}`
        );
      }
    },
    'visible-in-postgres': async () => {
      await until(
        async () =>
          (await source.query(`SELECT 1 FROM ${table} WHERE id::text = $1`, [row.rowId])).rowCount
            ? true
            : undefined,
        timeout
      );
    },
    'replicated-back': async () => {
      await until(
        async () =>
          (
            await db.getAll('SELECT 1 FROM ps_oplog WHERE row_type = ? AND row_id = ?', [
              row.table,
              row.rowId
            ])
          ).length
            ? true
            : undefined,
        timeout
      );
    },
    'write-checkpoint': async () => {
      await until(async () => {
        const rows = await db.getAll<{ key: string; value: string | null }>(
          "SELECT key, value FROM ps_kv WHERE key IN ('target_checkpoint_request_id', 'last_applied_checkpoint_request_id')"
        );
        const kv = Object.fromEntries(rows.map((r) => [r.key, r.value]));
        const pending = (await db.getAll('SELECT 1 FROM ps_crud LIMIT 1')).length > 0;
        return !pending &&
          kv.target_checkpoint_request_id &&
          kv.target_checkpoint_request_id === kv.last_applied_checkpoint_request_id
          ? true
          : undefined;
      }, timeout);
    }
  };
  let failed: WriteProbeLeg | undefined;
  for (const name of WRITE_PROBE_LEGS) {
    if (failed) {
      legs.push({ leg: name, status: 'skipped' });
      continue;
    }
    const began = performance.now();
    try {
      await steps[name]();
      legs.push({ leg: name, status: 'passed', ms: Math.round(performance.now() - began) });
    } catch (error) {
      const detail =
        error instanceof LegTimeout ? `not within ${timeout / 1000} s` : (error as Error).message;
      failed = { leg: name, status: 'failed', ms: Math.round(performance.now() - began), detail };
      legs.push(failed);
    }
    options.onLeg?.(legs.at(-1)!);
  }
  return failed;
}

/** Deletes the probe row through the same path and waits for it to leave Postgres. */
async function cleanUp(
  db: PowerSyncDatabase,
  source: pg.Client,
  table: string,
  rowId: string
): Promise<'done' | 'pending'> {
  try {
    await db.execute(`DELETE FROM "${table.replaceAll('"', '""')}" WHERE id = ?`, [rowId]);
    await until(
      async () =>
        (await source.query(`SELECT 1 FROM "${table.replaceAll('"', '""')}" WHERE id::text = $1`, [rowId]))
          .rowCount
          ? undefined
          : true,
      10_000,
      50
    );
    return 'done';
  } catch {
    return 'pending';
  }
}
