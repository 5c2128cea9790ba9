import { z } from 'zod';

/**
 * What the dry-run page sends, shared by the page (to disable Run early) and the route handlers (which
 * decide). Limits are in bytes of UTF-8, as the server measures them.
 */
export const DRY_RUN_LIMITS = {
  /** The largest draft the console takes; the CLI (`syncscope rules diff --draft FILE`) has none. */
  draftBytes: 256 * 1024,
  /** The request body: the draft JSON-escaped plus the rest. */
  bodyBytes: 1024 * 1024,
  /** The users query's text. */
  queryChars: 10_000,
  /** The largest sample of users. */
  sampleSize: 10_000,
  /** Users the page lists (with their emails); the rest are counted (the CLI's --json has them all). */
  usersShown: 200
} as const;

export const draftBytes = (draft: string): number => new TextEncoder().encode(draft).byteLength;

/** The message for a draft over the limit (the same words on the page and from the server). */
export const draftTooLargeMessage = (bytes: number): string =>
  `The draft is ${(bytes / 1024).toFixed(1)} KiB; the console takes drafts up to ${DRY_RUN_LIMITS.draftBytes / 1024} KiB. Run \`syncscope rules diff --target T --draft FILE\` from the CLI for a larger file.`;

export const userSelectionSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('all') }),
  z.strictObject({ kind: z.literal('sample'), size: z.number().int().min(1).max(DRY_RUN_LIMITS.sampleSize) }),
  z.strictObject({
    kind: z.literal('query'),
    sql: z.string().trim().min(1, 'Give the SQL that returns user ids.').max(DRY_RUN_LIMITS.queryChars)
  })
]);
export type UserSelectionRequest = z.infer<typeof userSelectionSchema>;

export const validateDraftRequestSchema = z.strictObject({
  target: z.string().min(1),
  draft: z.string()
});

export const runDryRunRequestSchema = validateDraftRequestSchema.extend({
  users: userSelectionSchema.default({ kind: 'all' })
});
export type RunDryRunRequest = z.infer<typeof runDryRunRequestSchema>;
