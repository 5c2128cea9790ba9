import pino, { type DestinationStream, type Logger } from 'pino';

/** Paths pino blanks in every log line: tokens, keys and passwords never reach logs. */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'privateKey',
  '*.privateKey',
  'secret',
  '*.secret',
  'k',
  '*.k',
  // Probe targets (core/src/probe/targets): admin tokens, source URLs with passwords, private JWKs.
  'adminToken',
  '*.adminToken',
  'admin_token',
  '*.admin_token',
  'sourceUrl',
  '*.sourceUrl',
  'connectionString',
  '*.connectionString',
  'jwk',
  '*.jwk',
  'd',
  '*.d'
];

/**
 * A pino logger with secret redaction. `destination` defaults to stdout; CLIs pass stderr (or a
 * scrubbing stream) so their stdout stays machine-readable.
 */
export function createLogger(
  name: string,
  level = process.env.SYNCSCOPE_LOG_LEVEL ?? 'info',
  destination?: DestinationStream
): Logger {
  const options = { name, level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
