/**
 * The shape of a dry run of draft sync rules against a target (`syncscope rules diff`, the console's
 * dry-run page): what each user would gain and lose, what the service would reprocess, and what the
 * draft leaves in no bucket. The CLI and the console both render this; docs/rules-dry-run.md.
 */

/** Where a problem with the draft was found. */
export type DraftProblemSource =
  /** The YAML does not parse. */
  | 'yaml'
  /** The rules library (@powersync/service-sync-rules) refuses or warns about a query. */
  | 'rules'
  /** The target service's `/api/sync-rules/v1/validate` (only when the target has an admin API). */
  | 'service'
  /** The live source: a table, column or type the draft reads does not exist or cannot match. */
  | 'schema';

export interface DraftProblem {
  source: DraftProblemSource;
  severity: 'error' | 'warning';
  /** 1-based line in the draft file (0 when the problem has no line). */
  line: number;
  /** 1-based column, when known. */
  column?: number;
  message: string;
  /** What to change, when there is one thing to do. */
  fix?: string;
}

/** A bucket a user would gain or lose, and what it holds for them. */
export interface BucketChange {
  /** The bucket id as the service names it, e.g. `by_user["u1"]`. */
  bucket: string;
  /** The bucket definition or stream name and its line in the file that has it. */
  definition: string;
  line: number;
  rows: number;
  /** Bytes of the rows' JSON as the service sends it. */
  bytes: number;
}

export interface UserChange {
  userId: string;
  gained: BucketChange[];
  lost: BucketChange[];
  /**
   * Rows the user would download and drop: the difference between the sets of (table, id) rows the
   * user holds under each version, not the sum of the bucket changes (a row can move between buckets).
   */
  rowsDownloaded: number;
  bytesDownloaded: number;
  rowsDropped: number;
  bytesDropped: number;
}

/** Per table, rows that no bucket any considered user holds would contain, under each version. */
export interface UncoveredTable {
  table: string;
  current: number;
  draft: number;
  /** Up to a sample of ids that are covered today and would not be under the draft. */
  newlyUncoveredSampleIds: string[];
}

export type UserSelection =
  | { kind: 'query'; sql: string }
  | { kind: 'sample'; size: number }
  | { kind: 'all'; from: string };

export interface DryRunReport {
  target: string;
  /** ISO time of the read-only snapshot the whole run read. */
  snapshotTakenAt: string;
  /** False when any problem has severity `error`: nothing else is computed then. */
  valid: boolean;
  problems: DraftProblem[];
  service: { checked: true; ok: boolean } | { checked: false; reason: string };
  users: {
    selection: UserSelection;
    considered: number;
    /** Only users whose buckets or rows change, largest change first. */
    changed: UserChange[];
  };
  totals: {
    usersGaining: number;
    usersLosing: number;
    rowsDownloaded: number;
    bytesDownloaded: number;
    rowsDropped: number;
    bytesDropped: number;
  };
  /** What the service would replicate into buckets for the draft when it is deployed (all rows, all definitions). */
  reprocessing: { operations: number; bytes: number };
  uncovered: UncoveredTable[];
}

/** A deploy gate fails when any considered user would lose a row (exit 1 from `syncscope rules diff`). */
export const draftLosesRows = (report: DryRunReport): boolean =>
  report.users.changed.some((u) => u.rowsDropped > 0);
