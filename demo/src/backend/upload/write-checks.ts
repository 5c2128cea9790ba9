import type pg from 'pg';

/** A rule the operation breaks: final, a retry cannot help. */
export class FinalRejection extends Error {
  constructor(
    readonly code: string,
    message: string
  ) {
    super(message);
  }
}

const WRITER_ROLES = ['owner', 'member'];

// The checks below lock what they read (FOR SHARE) until the operation commits, so a concurrent
// membership removal or category move cannot slip in between the check and the write.

export async function assertMayWrite(
  client: pg.PoolClient,
  userId: string,
  workspaceId: string
): Promise<void> {
  const { rows } = await client.query<{ role: string }>(
    'SELECT role FROM workspace_memberships WHERE user_id = $1 AND workspace_id = $2 FOR SHARE',
    [userId, workspaceId]
  );
  const role = rows[0]?.role;
  if (!role || !WRITER_ROLES.includes(role)) {
    throw new FinalRejection(
      'DEMO_E_FORBIDDEN',
      role
        ? `role ${role} in workspace ${workspaceId} may not write`
        : `the writer is not a member of workspace ${workspaceId}`
    );
  }
}

/** A record's category must belong to the record's workspace (the FK alone does not say that). */
export async function assertCategoryInWorkspace(
  client: pg.PoolClient,
  categoryId: string,
  workspaceId: string
): Promise<void> {
  const { rows } = await client.query<{ workspace_id: string }>(
    'SELECT workspace_id FROM categories WHERE id = $1 FOR SHARE',
    [categoryId]
  );
  if (rows[0]?.workspace_id !== workspaceId) {
    throw new FinalRejection(
      'DEMO_E_FOREIGN_KEY',
      `category ${categoryId} does not exist in workspace ${workspaceId}`
    );
  }
}

/** A category may move to another workspace only if no record elsewhere still uses it. */
export async function assertCategoryMayMove(
  client: pg.PoolClient,
  categoryId: string,
  workspaceId: string
): Promise<void> {
  const { rows } = await client.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM records WHERE category_id = $1 AND workspace_id <> $2',
    [categoryId, workspaceId]
  );
  const n = rows[0]?.n ?? 0;
  if (n > 0) {
    throw new FinalRejection(
      'DEMO_E_FOREIGN_KEY',
      `category ${categoryId} is used by ${n} record(s) outside workspace ${workspaceId}; move or recategorize them first`
    );
  }
}
