import { EventEmitter } from 'node:events';
import { z } from 'zod';

/**
 * Faults the dev server can inject, each standing for a real failure a probe must detect:
 * - omitRows: the rows never reach their buckets (a service that lost a change): the client is
 *   internally consistent but lacks the row that Postgres has.
 * - corruptChecksums: the checkpoint's checksum for these buckets is off by one: the client's
 *   checksum-failure loop, never `hasSynced`.
 * - stallReplication: replication stops applying changes (lag grows, no new checkpoints).
 * - neverEchoWriteCheckpoints: write checkpoints are created but never reported back, so the
 *   client keeps its local writes pending forever.
 * - dropStreamMidCheckpoint: the stream is cut after the checkpoint line and half of the data.
 * - delayMs: every stream line waits this long (a slow or overloaded service).
 */
export const faultSettingsSchema = z
  .object({
    omitRows: z.array(z.object({ table: z.string().min(1), id: z.string().min(1) }).strict()).default([]),
    corruptChecksums: z.array(z.string().min(1)).default([]),
    stallReplication: z.boolean().default(false),
    neverEchoWriteCheckpoints: z.boolean().default(false),
    dropStreamMidCheckpoint: z.boolean().default(false),
    delayMs: z.number().int().min(0).max(60_000).default(0)
  })
  .strict();

export type FaultSettings = z.infer<typeof faultSettingsSchema>;

export class FaultInjector extends EventEmitter<{ changed: [FaultSettings] }> {
  private settings: FaultSettings;

  constructor(initial: Partial<FaultSettings> = {}) {
    super();
    this.settings = faultSettingsSchema.parse(initial);
  }

  get current(): FaultSettings {
    return this.settings;
  }

  /** Replaces the fault set (unknown keys are rejected by the schema). */
  set(next: Partial<FaultSettings>): FaultSettings {
    this.settings = faultSettingsSchema.parse(next);
    this.emit('changed', this.settings);
    return this.settings;
  }
}
