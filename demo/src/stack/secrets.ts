import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A random secret kept in a 0600 file, so restarts keep it and it never needs printing. */
export async function loadOrCreateSecret(file: string, bytes = 24): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const secret = randomBytes(bytes).toString('base64url');
  await writeSecretFile(file, `${secret}\n`);
  return secret;
}

/**
 * Replaces `file` with `text`, readable by this user only, atomically (a new 0600 file renamed over it):
 * a reader never sees half a secret, an older file's wider mode is not kept, and a symlink planted at the
 * path is replaced, not followed.
 */
export async function writeSecretFile(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Where the embedded Postgres superuser's generated password is kept. */
export function superuserPasswordFile(home: string): string {
  return path.join(home, 'secrets', 'pg-superuser-password');
}

/**
 * The embedded Postgres superuser's password: SYNCSCOPE_PG_PASSWORD when set, else one generated for a new
 * data folder (0600 file, reused at every start). A data folder made before passwords were generated was
 * initialised with `postgres`; it keeps working and `legacy` says so.
 */
export async function embeddedSuperuserPassword(config: {
  home: string;
  pgDataDir: string;
  SYNCSCOPE_PG_PASSWORD?: string;
}): Promise<{ password: string; legacy: boolean }> {
  if (config.SYNCSCOPE_PG_PASSWORD) return { password: config.SYNCSCOPE_PG_PASSWORD, legacy: false };
  const file = superuserPasswordFile(config.home);
  if (!existsSync(file) && existsSync(path.join(config.pgDataDir, 'PG_VERSION')))
    return { password: 'postgres', legacy: true };
  return { password: await loadOrCreateSecret(file, 32), legacy: false };
}
