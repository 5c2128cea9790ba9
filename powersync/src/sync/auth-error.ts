/** PowerSync's own auth codes (PSYNC_S21xx), answered in the real service's error shape. */
export type AuthErrorCode = 'PSYNC_S2101' | 'PSYNC_S2103' | 'PSYNC_S2104' | 'PSYNC_S2105' | 'PSYNC_S2106';

export class AuthorizationError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    readonly description: string
  ) {
    super(description);
    this.name = 'AuthorizationError';
  }

  toResponse() {
    return {
      error: { code: this.code, status: 401, description: this.description, name: 'AuthorizationError' }
    };
  }
}
