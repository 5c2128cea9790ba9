/** What a redacted value is replaced by, on the backend (reporter) and again on ingest. */
export const REDACTED = '[redacted]';

/** Field names redacted by default wherever they appear in an operation's data (case-insensitive). */
export const DEFAULT_REDACTED_FIELDS = [
  'password',
  'passcode',
  'secret',
  'token',
  'access_token',
  'refresh_token',
  'api_key',
  'apikey',
  'authorization',
  'ssn',
  'credit_card',
  'card_number',
  'cvv',
  'iban'
];

/** A copy of `data` with the named fields (at any depth) replaced by REDACTED. */
export function redactFields(data: unknown, fields: readonly string[]): unknown {
  const names = new Set(fields.map((f) => f.toLowerCase()));
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [
        key,
        names.has(key.toLowerCase()) ? REDACTED : walk(inner)
      ])
    );
  };
  return walk(data);
}
