/**
 * How a probe syncs as the user: `full` runs the real `@powersync/node` client into a throw-away database;
 * `light` reads the sync stream itself (no client database) and has any difference confirmed by a full
 * probe before it is reported as a mismatch.
 */
export const PROBE_MODES = ['light', 'full'] as const;
export type ProbeMode = (typeof PROBE_MODES)[number];
