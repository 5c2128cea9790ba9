import { nameBasedUuid } from '@syncscope/core/ids/name-based-uuid';

/**
 * The demo data as a deterministic plan: the same scale gives the same rows, byte for byte, on every
 * machine. alice is always in exactly 2 of the first 5 workspaces, bob in 1, carol in none.
 */
export interface SeedScale {
  records: number;
}

export const DEMO_USERS = {
  alice: { id: nameBasedUuid('user:alice'), email: 'alice@example.com', name: 'Alice' },
  bob: { id: nameBasedUuid('user:bob'), email: 'bob@example.com', name: 'Bob' },
  carol: { id: nameBasedUuid('user:carol'), email: 'carol@example.com', name: 'Carol' }
} as const;

/**
 * SyncScope's write-probe test user and the workspace it alone writes into, so probe rows never show
 * up in a real user's data.
 */
export const DEMO_WRITE_PROBE = {
  userId: nameBasedUuid('user:syncscope-write-probe'),
  email: 'write-probe@syncscope.invalid',
  workspaceId: nameBasedUuid('workspace:syncscope-write-probe')
} as const;

export const workspaceId = (n: number) => nameBasedUuid(`workspace:${n}`);
export const categoryId = (workspace: number, n: number) => nameBasedUuid(`category:${workspace}:${n}`);
export const recordId = (n: number) => nameBasedUuid(`record:${n}`);
const extraUserId = (n: number) => nameBasedUuid(`user:extra:${n}`);

export const CATEGORIES_PER_WORKSPACE = 4;
const RECORDS_PER_WORKSPACE = 2_000;
const BASE_TIME_MS = Date.UTC(2026, 0, 1);

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function workspaceCount(scale: SeedScale): number {
  return Math.max(5, Math.ceil(scale.records / RECORDS_PER_WORKSPACE));
}

export type Row = (string | number | null)[];

export function* users(scale: SeedScale): Generator<Row> {
  for (const u of Object.values(DEMO_USERS)) yield [u.id, u.email, u.name];
  yield [DEMO_WRITE_PROBE.userId, DEMO_WRITE_PROBE.email, 'SyncScope write probe'];
  for (let i = 1; i <= extraUsers(scale); i++) yield [extraUserId(i), `user${i}@example.com`, `User ${i}`];
}

const extraUsers = (scale: SeedScale) => Math.max(5, workspaceCount(scale));

export function* workspaces(scale: SeedScale): Generator<Row> {
  for (let w = 1; w <= workspaceCount(scale); w++) yield [workspaceId(w), `Workspace ${w}`];
  yield [DEMO_WRITE_PROBE.workspaceId, 'SyncScope write probes'];
}

export function* memberships(scale: SeedScale): Generator<Row> {
  const { alice, bob } = DEMO_USERS;
  yield [nameBasedUuid('membership:alice:1'), alice.id, workspaceId(1), 'owner'];
  yield [nameBasedUuid('membership:alice:2'), alice.id, workspaceId(2), 'member'];
  yield [nameBasedUuid('membership:bob:3'), bob.id, workspaceId(3), 'owner'];
  yield [
    nameBasedUuid('membership:write-probe'),
    DEMO_WRITE_PROBE.userId,
    DEMO_WRITE_PROBE.workspaceId,
    'owner'
  ];
  const random = prng(7);
  const count = workspaceCount(scale);
  for (let i = 1; i <= extraUsers(scale); i++) {
    // Each extra user joins 1-3 distinct workspaces.
    const joined = new Set<number>();
    const wanted = 1 + Math.floor(random() * 3);
    while (joined.size < Math.min(wanted, count)) joined.add(1 + Math.floor(random() * count));
    for (const w of joined) {
      const role = random() < 0.2 ? 'viewer' : 'member';
      yield [nameBasedUuid(`membership:extra:${i}:${w}`), extraUserId(i), workspaceId(w), role];
    }
  }
}

export function* categories(scale: SeedScale): Generator<Row> {
  for (let w = 1; w <= workspaceCount(scale); w++) {
    for (let c = 1; c <= CATEGORIES_PER_WORKSPACE; c++)
      yield [categoryId(w, c), workspaceId(w), `Category ${c}`, 0];
  }
}

export function* records(scale: SeedScale): Generator<Row> {
  const random = prng(42);
  const count = workspaceCount(scale);
  for (let i = 1; i <= scale.records; i++) {
    const w = ((i - 1) % count) + 1;
    const amount = (Math.floor(random() * 10_000_000) / 1000).toFixed(3);
    const created = new Date(BASE_TIME_MS + i * 60_000).toISOString();
    yield [
      recordId(i),
      workspaceId(w),
      `Record ${i}`,
      amount,
      categoryId(w, 1 + (i % CATEGORIES_PER_WORKSPACE)),
      created
    ];
  }
}

/** Each table with its columns and row generator, in foreign-key order. */
export const SEED_TABLES = [
  { table: 'users', columns: ['id', 'email', 'name'], rows: users },
  { table: 'workspaces', columns: ['id', 'name'], rows: workspaces },
  { table: 'workspace_memberships', columns: ['id', 'user_id', 'workspace_id', 'role'], rows: memberships },
  { table: 'categories', columns: ['id', 'workspace_id', 'name', 'usage_count'], rows: categories },
  {
    table: 'records',
    columns: ['id', 'workspace_id', 'title', 'amount', 'category_id', 'created_at'],
    rows: records
  }
] as const;
