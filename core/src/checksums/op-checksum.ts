import { createHash } from 'node:crypto';

/** First 4 bytes (little-endian, unsigned) of sha256: how the service checksums one operation. */
function sha256U32(text: string): number {
  return createHash('sha256').update(text, 'utf8').digest().readUInt32LE(0);
}

/** Checksum of a PUT, as sent (unsigned) in a `data` line. */
export function putChecksum(objectType: string, objectId: string, data: string): number {
  return sha256U32(`put.${objectType}.${objectId}.${data}`);
}

/** Checksum of a REMOVE: only the subkey takes part. */
export function removeChecksum(subkey: string): number {
  return sha256U32(`delete.${subkey}`);
}

/** Bucket checksums are the wrapping int32 sum of operation checksums (sent signed). */
export function addChecksums(a: number, b: number): number {
  return (a + b) | 0;
}

export function toSignedChecksum(value: number): number {
  return value | 0;
}
