import type {
  AbstractPowerSyncDatabase,
  PowerSyncBackendConnector,
  PowerSyncCredentials
} from '@powersync/node';
import { type CrudOperation, compactCrud } from '@syncscope/core/upload/compact-crud';
import type { OperationResult } from '../backend/index.ts';

export type RejectedOperation = Extract<OperationResult, { ok: false }>;

/** An upload the backend could not take now: thrown so the client retries the same batch later. */
export class RetryableUploadError extends Error {
  constructor(readonly failures: RejectedOperation[]) {
    super(`retryable upload failure: ${failures.map((f) => `${f.table}/${f.id}: ${f.detail}`).join('; ')}`);
  }
}

export interface ArticleConnectorOptions {
  backendUrl: string;
  email: string;
  /** Operations the backend rejected as final: they are dropped from the queue and reported here. */
  onRejected?: (failures: RejectedOperation[]) => void;
  batchSize?: number;
}

/**
 * The demo app's connector, as the article writes it: credentials from the app backend, and uploads
 * compacted by `table::id` before they are posted. Final rejections leave the queue (reported, never
 * blocking it); retryable ones throw, so the client keeps the batch and tries again.
 */
export class ArticleConnector implements PowerSyncBackendConnector {
  private session: string | null = null;
  uploads = 0;

  constructor(private readonly options: ArticleConnectorOptions) {}

  private async signIn(): Promise<string> {
    const response = await fetch(`${this.options.backendUrl}/api/dev/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: this.options.email })
    });
    if (!response.ok) throw new Error(`sign-in failed: HTTP ${response.status}`);
    this.session = ((await response.json()) as { session: string }).session;
    return this.session;
  }

  async fetchCredentials(): Promise<PowerSyncCredentials> {
    const session = this.session ?? (await this.signIn());
    const response = await fetch(`${this.options.backendUrl}/api/powersync/token`, {
      headers: { Authorization: `Bearer ${session}` }
    });
    if (response.status === 401) {
      this.session = null;
      return this.fetchCredentials();
    }
    if (!response.ok) throw new Error(`token request failed: HTTP ${response.status}`);
    const { token, powersync_url } = (await response.json()) as { token: string; powersync_url: string };
    return { endpoint: powersync_url, token };
  }

  async uploadData(database: AbstractPowerSyncDatabase): Promise<void> {
    const batch = await database.getCrudBatch(this.options.batchSize ?? 100);
    if (!batch) return;
    const operations: CrudOperation[] = batch.crud.map((entry) => ({
      op: entry.op as CrudOperation['op'],
      table: entry.table,
      id: entry.id,
      ...(entry.opData ? { data: entry.opData } : {})
    }));
    const session = this.session ?? (await this.signIn());
    const response = await fetch(`${this.options.backendUrl}/api/upload`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${session}`,
        // Lets the backend's reports tell a stuck client apart from the user's other devices.
        'X-PowerSync-Client-Id': await database.getClientId()
      },
      body: JSON.stringify({ batch: compactCrud(operations) })
    });
    this.uploads++;
    if (response.status === 401) this.session = null;
    if (!response.ok) throw new Error(`upload failed: HTTP ${response.status}`);
    const { results } = (await response.json()) as { results: OperationResult[] };
    const failures = results.filter((r): r is RejectedOperation => !r.ok);
    const retryable = failures.filter((f) => f.retryable);
    if (retryable.length > 0) throw new RetryableUploadError(retryable);
    if (failures.length > 0) this.options.onRejected?.(failures);
    await batch.complete();
  }
}
