import pino, { type Logger } from 'pino';

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
  '*.k'
];

export function createLogger(name: string, level = process.env.SYNCSCOPE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}

export type { Logger };
