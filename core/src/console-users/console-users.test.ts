import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateOpsDatabase, OpsDatabase } from '../ops-db/ops-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import {
  addConsoleUser,
  grantConsoleRole,
  revokeConsoleRole,
  setConsoleUserRole,
  upsertConsoleUser
} from './console-grants.ts';
import { checkCredentials, listConsoleUsers, roleAllows, roleOn, targetsAllowed } from './console-users.ts';
import { generatePassword, hashPassword, verifyPassword } from './password-hash.ts';

let ops: OpsDatabase;
beforeAll(async () => {
  const url = await createTestDatabase('console_users');
  await migrateOpsDatabase(url);
  ops = new OpsDatabase(url);
});
afterAll(() => ops.close());

const auditOf = async (subject: string) =>
  (
    await ops.pool.query<{ action: string; actor: string; target: string | null; details: object }>(
      'SELECT action, actor, target, details FROM syncscope.audit_log WHERE subject_user = $1 ORDER BY id',
      [subject]
    )
  ).rows;

describe('console users', () => {
  it('stores scrypt hashes with a salt, never the password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct');
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterx', a)).toBe(false);
    expect(generatePassword()).toMatch(/^[A-Za-z0-9]{20}$/);
  });

  it('signs in with the right password only, and refuses bad input with a reason', async () => {
    const password = generatePassword();
    const user = await addConsoleUser(
      ops.pool,
      { email: 'Ada@Example.com', role: 'operator', password },
      'cli:t'
    );
    expect(user).toMatchObject({ email: 'ada@example.com', grants: [{ target: null, role: 'operator' }] });
    expect(await checkCredentials(ops.pool, 'ada@example.com', password)).toMatchObject({
      grants: [{ target: null, role: 'operator' }]
    });
    expect(await checkCredentials(ops.pool, 'ada@example.com', `${password}x`)).toBeNull();
    expect(await checkCredentials(ops.pool, 'nobody@example.com', password)).toBeNull();
    await expect(
      addConsoleUser(ops.pool, { email: 'ada@example.com', role: 'viewer', password }, 'cli:t')
    ).rejects.toThrow(/already exists/);
    await expect(
      addConsoleUser(ops.pool, { email: 'b@example.com', role: 'root', password }, 'cli:t')
    ).rejects.toThrow(/Role "root" does not exist: use viewer, operator, admin/);
    await expect(
      addConsoleUser(ops.pool, { email: 'b@example.com', role: 'viewer', password: 'short' }, 'cli:t')
    ).rejects.toThrow(/shorter than 12/);
    expect(await setConsoleUserRole(ops.pool, 'ada@example.com', 'admin', 'cli:t')).toEqual({
      previous: [{ target: null, role: 'operator' }]
    });
    expect((await listConsoleUsers(ops.pool)).map((u) => [u.email, u.grants])).toEqual([
      ['ada@example.com', [{ target: null, role: 'admin' }]]
    ]);
    expect(await setConsoleUserRole(ops.pool, 'ghost@example.com', 'admin', 'cli:t')).toBeNull();
    expect((await auditOf('ada@example.com')).map((a) => a.action)).toEqual([
      'user.added',
      'user.role_changed'
    ]);
  });

  it('grants roles per target: a viewer of staging has no role on prod', async () => {
    const password = generatePassword();
    await addConsoleUser(
      ops.pool,
      { email: 'sam@example.com', role: 'viewer', password, target: 'staging' },
      'a'
    );
    await grantConsoleRole(ops.pool, { email: 'sam@example.com', role: 'operator', target: 'qa' }, 'a');
    const sam = (await checkCredentials(ops.pool, 'sam@example.com', password))!;
    expect(roleOn(sam.grants, 'staging')).toBe('viewer');
    expect(roleOn(sam.grants, 'qa')).toBe('operator');
    expect(roleOn(sam.grants, 'prod')).toBeNull();
    expect(targetsAllowed(sam.grants, ['prod', 'qa', 'staging'], 'viewer')).toEqual(['qa', 'staging']);
    expect(targetsAllowed(sam.grants, ['prod', 'qa', 'staging'], 'operator')).toEqual(['qa']);
    // An all-targets grant reaches every target; the higher of two grants counts.
    await grantConsoleRole(ops.pool, { email: 'sam@example.com', role: 'viewer', target: null }, 'a');
    const again = (await checkCredentials(ops.pool, 'sam@example.com', password))!;
    expect(roleOn(again.grants, 'prod')).toBe('viewer');
    expect(roleOn(again.grants, 'qa')).toBe('operator');
    expect(await revokeConsoleRole(ops.pool, { email: 'sam@example.com', target: 'qa' }, 'a')).toEqual({
      revoked: 'operator'
    });
    await expect(
      revokeConsoleRole(ops.pool, { email: 'sam@example.com', target: 'qa' }, 'a')
    ).rejects.toThrow(/has no grant on target "qa"/);
    await expect(
      grantConsoleRole(ops.pool, { email: 'ghost@example.com', role: 'viewer', target: 'qa' }, 'a')
    ).rejects.toThrow(/No console user ghost@example.com/);
    expect(
      (await auditOf('sam@example.com')).map((a) => [
        a.action,
        a.target,
        (a.details as { role: string }).role
      ])
    ).toEqual([
      ['user.added', 'staging', 'viewer'],
      ['user.role_granted', 'qa', 'operator'],
      ['user.role_granted', null, 'viewer'],
      ['user.role_revoked', 'qa', 'operator']
    ]);
  });

  it('writes the audit entry in the same transaction: no audit row, no change', async () => {
    await upsertConsoleUser(
      ops.pool,
      { email: 'tx@example.com', role: 'viewer', password: generatePassword() },
      'a'
    );
    // A trigger that fails the audit insert (as a broken audit log would) must roll the grant back too.
    await ops.pool.query(`CREATE FUNCTION pg_temp_fail() RETURNS trigger LANGUAGE plpgsql AS
      $$BEGIN RAISE EXCEPTION 'audit unavailable'; END$$`);
    await ops.pool.query(
      `CREATE TRIGGER fail_audit BEFORE INSERT ON syncscope.audit_log FOR EACH ROW EXECUTE FUNCTION pg_temp_fail()`
    );
    try {
      await expect(
        grantConsoleRole(ops.pool, { email: 'tx@example.com', role: 'admin', target: null }, 'a')
      ).rejects.toThrow(/audit unavailable/);
    } finally {
      await ops.pool.query('DROP TRIGGER fail_audit ON syncscope.audit_log');
      await ops.pool.query('DROP FUNCTION pg_temp_fail()');
    }
    const user = (await listConsoleUsers(ops.pool)).find((u) => u.email === 'tx@example.com')!;
    expect(user.grants).toEqual([{ target: null, role: 'viewer' }]);
  });

  it('orders roles viewer < operator < admin', () => {
    expect(roleAllows('viewer', 'operator')).toBe(false);
    expect(roleAllows('operator', 'operator')).toBe(true);
    expect(roleAllows('admin', 'operator')).toBe(true);
    expect(roleAllows('operator', 'admin')).toBe(false);
    expect(roleAllows(null, 'viewer')).toBe(false);
  });
});
