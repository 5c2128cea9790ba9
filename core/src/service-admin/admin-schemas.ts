/**
 * The shapes of the PowerSync service's admin API as service 1.25 answers them (captures in
 * ../shared/reference/powersync-service-1.25: admin-diagnostics.json, redeploy-diagnostics-1..7.json,
 * rules-current*.json). Fields the service adds only in some states (a version still snapshotting has no
 * `last_lsn`, no `last_checkpoint_ts`, and before its slot exists no lag or `wal_status`) are optional;
 * unknown fields are dropped, so a newer service with more fields still parses.
 */
import { z } from 'zod';

const tableSchema = z.object({
  schema: z.string(),
  name: z.string(),
  replication_id: z.array(z.string()).optional(),
  data_queries: z.boolean().optional(),
  parameter_queries: z.boolean().optional(),
  errors: z.array(z.unknown()).default([])
});

const replicationConnectionSchema = z.object({
  id: z.string(),
  tag: z.string(),
  /** `powersync_<version>_<4 hex>`; the dev server before issue 13 leaves it out. */
  slot_name: z.string().optional(),
  initial_replication_done: z.boolean(),
  last_lsn: z.string().optional(),
  last_checkpoint_ts: z.string().optional(),
  last_keepalive_ts: z.string().optional(),
  replication_lag_bytes: z.number().optional(),
  /** The dev server reports its lag in seconds instead of bytes. */
  replication_lag_seconds: z.number().nullable().optional(),
  wal_status: z.string().optional(),
  tables: z.array(tableSchema).default([])
});

const rulesDiagnosticsSchema = z.object({
  content: z.string().optional(),
  connections: z.array(replicationConnectionSchema),
  errors: z.array(z.unknown()).default([])
});

export const diagnosticsResponseSchema = z.object({
  data: z.object({
    connections: z.array(
      z.object({
        id: z.string(),
        postgres_uri: z.string().optional(),
        connected: z.boolean(),
        errors: z.array(z.unknown()).default([])
      })
    ),
    active_sync_rules: rulesDiagnosticsSchema.optional(),
    /** Present only while a new rules version reprocesses beside the active one. */
    deploying_sync_rules: rulesDiagnosticsSchema.optional()
  })
});

const rulesVersionSchema = z.object({
  slot_name: z.string(),
  content: z.string(),
  valid: z.boolean().optional()
});

export const currentRulesResponseSchema = z.object({
  data: z.object({
    current: rulesVersionSchema.nullable(),
    /** The version reprocessing while `current` still serves; null when none. */
    next: rulesVersionSchema.nullable().default(null)
  })
});

/**
 * POST /api/sync-rules/v1/validate answers HTTP 200, not wrapped in `data`: `{valid: true, …}` or
 * `{valid: false, errors: [message]}` (captures in ../shared/reference/powersync-service-1.25/).
 */
export const validateRulesResponseSchema = z.looseObject({
  valid: z.boolean(),
  errors: z.array(z.string()).optional()
});

export type ServiceDiagnostics = z.infer<typeof diagnosticsResponseSchema>['data'];
export type RulesDiagnostics = z.infer<typeof rulesDiagnosticsSchema>;
export type ReplicationConnection = z.infer<typeof replicationConnectionSchema>;
export type RulesValidation = z.infer<typeof validateRulesResponseSchema>;
export type CurrentRules = z.infer<typeof currentRulesResponseSchema>['data'];
export type RulesVersion = z.infer<typeof rulesVersionSchema>;

/** The rules version a slot name carries (`powersync_2_b809` → 2), or null for another naming. */
export function rulesVersionOfSlot(slotName: string | undefined): number | null {
  const match = /^powersync_(\d+)_/.exec(slotName ?? '');
  return match ? Number(match[1]) : null;
}
