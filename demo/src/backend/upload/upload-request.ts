import { z } from 'zod';

export const MAX_OPERATIONS_PER_BATCH = 1000;

/**
 * The upload body: the client's queued operations, in order. Each operation is validated on its own
 * (see validate-operation.ts) so one bad operation never rejects its neighbours.
 */
export const uploadRequestSchema = z.object({
  batch: z
    .array(z.unknown())
    .max(MAX_OPERATIONS_PER_BATCH, `at most ${MAX_OPERATIONS_PER_BATCH} operations per batch`)
});

export type UploadOp = 'PUT' | 'PATCH' | 'DELETE';

export interface ValidOperation {
  index: number;
  op: UploadOp;
  table: 'records' | 'categories';
  id: string;
  /** Columns to write (allow-listed, type-checked, converted for Postgres). */
  values: Record<string, string | number | null>;
}

export type OperationResult =
  | { index: number; table: string | null; id: string | null; op: string | null; ok: true }
  | {
      index: number;
      table: string | null;
      id: string | null;
      op: string | null;
      ok: false;
      retryable: boolean;
      code: string;
      detail: string;
    };

export type OperationFailure = Extract<OperationResult, { ok: false }>;
