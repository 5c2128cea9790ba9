import type { Logger } from '@syncscope/core/logging/logger';
import type { SecretScrubber } from '../output/secret-scrubber.ts';

/**
 * What a command's implementation gets from the CLI. The implementations live in modules of their own,
 * imported when their command runs, so `syncscope --help` loads commander and little else.
 */
export interface CommandContext {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  scrubber: SecretScrubber;
  /** A logger writing through the scrubber to stderr (pino is loaded on first use). */
  logger(defaultLevel: string): Promise<Logger>;
  setJson(json: boolean): void;
}
