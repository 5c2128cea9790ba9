import { randomUUID } from 'node:crypto';
import type { SigningKey } from '@syncscope/core';
import { SignJWT } from 'jose';
import { writeSecretFile } from './secrets.ts';

/** The upload credential lives minutes: a copy that leaks (a log, a core dump) is soon worthless. */
export const WRITE_PROBE_TOKEN_LIFETIME_SECONDS = 15 * 60;
/** Re-minted well before it expires, so a write probe never reads one about to lapse. */
export const WRITE_PROBE_TOKEN_ROTATE_MS = 5 * 60 * 1000;

export interface WriteProbeCredentialInput {
  file: string;
  appKey: SigningKey;
  audience: string;
  userId: string;
}

/**
 * The write probe's credential for the demo backend: an app token (the backend's own audience) for the
 * write-probe test user, valid 15 minutes, kept in a 0600 file that the demo target reads at every
 * write probe (fillDemoTargetEnv). The file is replaced atomically (temp file + rename), so a reader
 * sees the old token or the new one, never half of one. A real stack gives its write-probe test
 * account a short-lived credential the same way.
 */
export async function writeProbeUploadToken(input: WriteProbeCredentialInput): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ syncscope_write_probe: true })
    .setProtectedHeader({ alg: input.appKey.alg, kid: input.appKey.kid })
    .setSubject(input.userId)
    .setAudience(input.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + WRITE_PROBE_TOKEN_LIFETIME_SECONDS)
    .setJti(randomUUID())
    .sign(input.appKey.privateKey);
  await writeSecretFile(input.file, `${token}\n`);
}

/**
 * Mints the credential now and again every `everyMs` until stopped. The timer does not keep the
 * process alive; a failed rotation is reported and retried at the next tick (the current token is
 * still valid for ten more minutes).
 */
export async function startWriteProbeCredentialRotation(
  input: WriteProbeCredentialInput & { everyMs?: number; onError(error: Error): void }
): Promise<{ stop(): void }> {
  await writeProbeUploadToken(input);
  const timer = setInterval(() => {
    writeProbeUploadToken(input).catch((error: Error) => input.onError(error));
  }, input.everyMs ?? WRITE_PROBE_TOKEN_ROTATE_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
