import type { AbstractPowerSyncDatabase, PowerSyncBackendConnector } from '@powersync/node';
import { type CrudOperation, compactCrud } from '../upload/compact-crud.ts';

/** What the backend said about one uploaded row (the write probe waits for its row's verdict). */
export type UploadOutcome =
  | { kind: 'accepted'; at: number }
  | { kind: 'rejected'; at: number; retryable: boolean; detail: string }
  | { kind: 'unreachable'; at: number; detail: string };

interface BackendResult {
  index: number;
  ok: boolean;
  retryable?: boolean;
  code?: string;
  detail?: string;
}

/**
 * The write probe's connector: sync credentials are the probe token; uploads go to the app backend,
 * compacted by `table::id` as the article's connector does, with the test user's upload credential.
 * Final rejections leave the queue (as the article's connector does); retryable ones and an unreachable
 * backend throw, so the client retries. Every outcome is recorded per row id.
 */
export class WriteProbeConnector implements PowerSyncBackendConnector {
  readonly outcomes = new Map<string, UploadOutcome[]>();

  constructor(
    private readonly options: {
      syncUrl: string;
      syncToken: () => Promise<string>;
      uploadUrl: string;
      uploadToken: string;
    }
  ) {}

  async fetchCredentials() {
    return { endpoint: this.options.syncUrl, token: await this.options.syncToken() };
  }

  private record(id: string, outcome: UploadOutcome) {
    this.outcomes.set(id, [...(this.outcomes.get(id) ?? []), outcome]);
  }

  async uploadData(database: AbstractPowerSyncDatabase): Promise<void> {
    const batch = await database.getCrudBatch(100);
    if (!batch) return;
    const operations = compactCrud(
      batch.crud.map((entry) => ({
        op: entry.op as CrudOperation['op'],
        table: entry.table,
        id: entry.id,
        ...(entry.opData ? { data: entry.opData } : {})
      }))
    );
    let response: Response;
    try {
      response = await fetch(this.options.uploadUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${this.options.uploadToken}`,
          'x-powersync-client-id': await database.getClientId()
        },
        body: JSON.stringify({ batch: operations }),
        signal: AbortSignal.timeout(10_000)
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      for (const op of operations)
        this.record(op.id, {
          kind: 'unreachable',
          at: Date.now(),
          detail: `${this.options.uploadUrl}: ${cause ?? (error as Error).message}`
        });
      throw error;
    }
    if (!response.ok) {
      const detail = `HTTP ${response.status} ${(await response.text()).slice(0, 300)}`;
      const outcome: UploadOutcome =
        response.status >= 500
          ? { kind: 'unreachable', at: Date.now(), detail }
          : { kind: 'rejected', at: Date.now(), retryable: false, detail };
      for (const op of operations) this.record(op.id, outcome);
      throw new Error(`upload refused: ${detail}`);
    }
    const { results } = (await response.json()) as { results: BackendResult[] };
    let retry = false;
    for (const result of results) {
      const op = operations[result.index];
      if (!op) continue;
      if (result.ok) this.record(op.id, { kind: 'accepted', at: Date.now() });
      else {
        retry ||= Boolean(result.retryable);
        this.record(op.id, {
          kind: 'rejected',
          at: Date.now(),
          retryable: Boolean(result.retryable),
          detail: `${result.code ?? 'rejected'}: ${result.detail ?? ''}`
        });
      }
    }
    if (retry) throw new Error('retryable upload failure');
    await batch.complete();
  }
}
