/**
 * The worker thread's side of ExpectedStateWorker: computes each requested expected state (several may
 * overlap) into a spill file the caller adopts. Loading the sync-rules library takes ~0.3 s, which is why
 * the worker is kept.
 */
import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { isSyncScopeError } from '../../errors/index.ts';
import { cachedSyncRules } from '../../sync-rules/cached-sync-rules.ts';
import { computeExpectedState } from './compute-expected-state.ts';
import { SpilledExpectedRows, shareSpillDirectory } from './expected-rows.ts';
import {
  type ExpectedStateReply,
  type ExpectedStateRequest,
  type ExpectedStateThreadData,
  PartitionHelperThreads,
  type PartitionRequest,
  type ThreadRequest
} from './expected-state-worker.ts';
import { scanPartition } from './partitioned-scan.ts';

const port = parentPort;
if (!port) throw new Error('expected-state-thread runs on a worker thread only');

const { partitionHelpers: helperCount, startHelpers, spillDirectory } = workerData as ExpectedStateThreadData;
shareSpillDirectory(spillDirectory);
// They live as long as this thread; a kept thread starts them now, a one-off with its first large table.
const helpers = helperCount > 0 ? new PartitionHelperThreads(helperCount) : undefined;
if (startHelpers) void helpers?.start().catch(() => {}); // a helper that cannot start fails its scans

// Each computation's user operations, told after its request (OperationsNotice).
const operations = new Map<number, (n: number | null) => void>();

async function compute(request: ExpectedStateRequest): Promise<ExpectedStateReply> {
  const { id, kind: _kind, spillFile, rulesYaml, rulesVersion, rulesFile, ...options } = request;
  let rows: SpilledExpectedRows | null = null;
  try {
    rows = SpilledExpectedRows.create(spillFile);
    const userOperations = new Promise<number | null>((resolve) => operations.set(id, resolve));
    const { rows: _store, ...state } = await computeExpectedState({
      ...options,
      rules: cachedSyncRules(rulesYaml, { file: rulesFile, version: rulesVersion }),
      rows,
      partitionHelpers: helpers,
      userOperations
    });
    return { id, ok: true, state, distinctRows: rows.detach() };
  } catch (error) {
    rows?.close();
    return failure(id, error);
  }
}

async function partition(request: PartitionRequest): Promise<ExpectedStateReply> {
  const { id, kind: _kind, ...scan } = request;
  try {
    return {
      id,
      ok: true,
      partition: await scanPartition(scan, cachedSyncRules(scan.rulesYaml, { version: scan.rulesVersion }))
    };
  } catch (error) {
    return failure(id, error);
  }
}

function failure(id: number, error: unknown): ExpectedStateReply {
  const e = error as Error;
  return {
    id,
    ok: false,
    error: isSyncScopeError(error)
      ? { code: error.code, message: e.message, details: error.details }
      : {
          message: e?.message ?? String(error),
          ...(typeof (e as { code?: unknown })?.code === 'string'
            ? { sqlState: (e as unknown as { code: string }).code }
            : {})
        }
  };
}

/**
 * The probe's sync is the critical path and this thread's work only has to be done by the time the sync
 * is: on Linux a thread has its own nice value, so this one yields the CPU to the client and the service.
 */
function yieldToTheSync(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid)) os.setPriority(tid, 10);
  } catch {
    // Not Linux, or not allowed: the thread runs at normal priority.
  }
}

yieldToTheSync();
port.on('message', (request: ThreadRequest) => {
  if (request.kind === 'operations') {
    operations.get(request.id)?.(request.operations);
    return;
  }
  // Whatever happens, the request gets an answer: the thread serves others meanwhile.
  void (
    request.kind === 'partition'
      ? partition(request)
      : compute(request).finally(() => operations.delete(request.id))
  )
    .then((reply) => port.postMessage(reply))
    .catch((error: unknown) => port.postMessage(failure(request.id, error)));
});
port.postMessage({ ready: true });
