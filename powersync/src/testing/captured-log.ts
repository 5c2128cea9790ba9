import { Writable } from 'node:stream';
import type { Logger } from '@syncscope/core';
import pino from 'pino';

/** A logger whose JSON lines a test can read, to compare log messages with the service's. */
export function capturedLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(text));
      done();
    }
  });
  return { logger: pino({ level: 'info' }, sink) as unknown as Logger, lines };
}
