import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, execSql } from '../testing/test-database.ts';
import { scramSha256Verifier } from './scram-verifier.ts';

describe('SCRAM-SHA-256 verifiers for role passwords', () => {
  it('Postgres stores the verifier as is, and the password (never sent) signs in', async () => {
    const url = await createTestDatabase('scram_verifier');
    const password = 'correct horse battery staple ü';
    const verifier = scramSha256Verifier(password);
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(verifier).not.toContain(password);
    await execSql(url, 'DROP ROLE IF EXISTS scram_probe');
    await execSql(url, `CREATE ROLE scram_probe LOGIN PASSWORD ${pg.escapeLiteral(verifier)}`);
    const stored = await execSql(url, "SELECT rolpassword FROM pg_authid WHERE rolname = 'scram_probe'");
    expect(stored.rows[0].rolpassword).toBe(verifier);

    const as = (secret: string) => {
      const u = new URL(url);
      u.username = 'scram_probe';
      u.password = encodeURIComponent(secret);
      return u.toString();
    };
    expect((await execSql(as(password), 'SELECT current_user AS who')).rows).toEqual([
      { who: 'scram_probe' }
    ]);
    await expect(execSql(as(verifier), 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    await execSql(url, 'DROP ROLE scram_probe');
  });

  it('salts each verifier: the same password gives different verifiers', () => {
    expect(scramSha256Verifier('same')).not.toBe(scramSha256Verifier('same'));
  });
});
