import { z } from 'zod';

/** Limits of one ingest request: beyond them it is refused whole (nothing is stored half-way). */
export const INGEST_LIMITS = {
  bodyBytes: 1024 * 1024,
  resultsPerReport: 1000,
  detailChars: 2000,
  dataBytes: 64 * 1024
} as const;

const text = (max: number) => z.string().min(1).max(max);

/** One operation's outcome as a backend reports it (the demo backend's per-operation result). */
export const reportedResultSchema = z.object({
  index: z.number().int().min(0),
  table: text(200).nullable(),
  id: text(500).nullable(),
  op: text(20).nullable(),
  ok: z.boolean(),
  retryable: z.boolean().optional(),
  code: text(200).optional(),
  detail: z.string().max(INGEST_LIMITS.detailChars).optional(),
  /** The operation's data, already redacted by the reporter (redacted again on ingest). */
  data: z.unknown().optional()
});

/** POST /api/ingest/v1/upload-results: one applied batch's results. `reportId` makes resends harmless. */
export const uploadReportSchema = z.strictObject({
  version: z.literal(1),
  reportId: text(200),
  userId: text(500),
  clientId: text(500).optional(),
  occurredAt: z.iso.datetime({ offset: true }),
  results: z.array(reportedResultSchema).max(INGEST_LIMITS.resultsPerReport)
});

export type UploadReport = z.infer<typeof uploadReportSchema>;
export type ReportedResult = z.infer<typeof reportedResultSchema>;
