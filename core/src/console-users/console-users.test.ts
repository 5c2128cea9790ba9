import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateOpsDatabase, OpsDatabase } from '../ops-db/ops-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import {
  addConsoleUser,
  checkCredentials,
  listConsoleUsers,
  roleAllows,
  setConsoleUserRole
} from './console-users.ts';
import { generatePassword, hashPassword, verifyPassword } from './password-hash.ts';

let ops: OpsDatabase;
beforeAll(async () => {
  const url = await createTestDatabase('console_users');
  await migrateOpsDatabase(url);
  ops = new OpsDatabase(url);
});
afterAll(() => ops.close());

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
    const user = await addConsoleUser(ops.pool, { email: 'Ada@Example.com', role: 'operator', password });
    expect(user).toMatchObject({ email: 'ada@example.com', role: 'operator' });
    expect(await checkCredentials(ops.pool, 'ada@example.com', password)).toMatchObject({ role: 'operator' });
    expect(await checkCredentials(ops.pool, 'ada@example.com', `${password}x`)).toBeNull();
    expect(await checkCredentials(ops.pool, 'nobody@example.com', password)).toBeNull();
    await expect(
      addConsoleUser(ops.pool, { email: 'ada@example.com', role: 'viewer', password })
    ).rejects.toThrow(/already exists/);
    await expect(
      addConsoleUser(ops.pool, { email: 'b@example.com', role: 'root', password })
    ).rejects.toThrow(/Role "root" does not exist: use viewer, operator, admin/);
    await expect(
      addConsoleUser(ops.pool, { email: 'b@example.com', role: 'viewer', password: 'short' })
    ).rejects.toThrow(/shorter than 12/);
    expect(await setConsoleUserRole(ops.pool, 'ada@example.com', 'admin')).toEqual({ previous: 'operator' });
    expect((await listConsoleUsers(ops.pool)).map((u) => `${u.email}:${u.role}`)).toEqual([
      'ada@example.com:admin'
    ]);
    expect(await setConsoleUserRole(ops.pool, 'ghost@example.com', 'admin')).toBeNull();
  });

  it('orders roles viewer < operator < admin', () => {
    expect(roleAllows('viewer', 'operator')).toBe(false);
    expect(roleAllows('operator', 'operator')).toBe(true);
    expect(roleAllows('admin', 'operator')).toBe(true);
    expect(roleAllows('operator', 'admin')).toBe(false);
  });
});
