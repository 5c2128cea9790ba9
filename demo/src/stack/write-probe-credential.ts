import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SigningKey } from '@syncscope/core';
import { SignJWT } from 'jose';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../backend/request-auth.ts';

// The backend refuses app tokens living longer than a day, as the sync service does.
const LIFETIME_SECONDS = MAX_TOKEN_LIFETIME_SECONDS;

/**
 * The write probe's credential for the demo backend: an app token (the backend's own audience) for the
 * write-probe test user, minted at every start and kept in a 0600 file the demo target's !env reads.
 * A real stack gives its write-probe test account a credential the same way.
 */
export async function writeProbeUploadToken(input: {
  file: string;
  appKey: SigningKey;
  audience: string;
  userId: string;
}): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ syncscope_write_probe: true })
    .setProtectedHeader({ alg: input.appKey.alg, kid: input.appKey.kid })
    .setSubject(input.userId)
    .setAudience(input.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + LIFETIME_SECONDS)
    .setJti(randomUUID())
    .sign(input.appKey.privateKey);
  await mkdir(path.dirname(input.file), { recursive: true, mode: 0o700 });
  await writeFile(input.file, `${token}\n`, { mode: 0o600 });
}
