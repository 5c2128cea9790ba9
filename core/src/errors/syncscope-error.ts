import { ERROR_CODES, type ErrorCode } from './error-codes.ts';

/** The one error shape SyncScope code throws and returns: a stable code, a message saying what to do. */
export class SyncScopeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown }
  ) {
    super(message, options);
    this.name = 'SyncScopeError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = details;
  }

  /** The body every SyncScope HTTP API answers with on failure. */
  toResponse(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) }
    };
  }
}

export function isSyncScopeError(value: unknown): value is SyncScopeError {
  return value instanceof SyncScopeError;
}
