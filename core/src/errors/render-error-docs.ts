import { writeFileSync } from 'node:fs';
import { ERROR_CODES } from './error-codes.ts';

/** Renders the error catalogue as docs/errors.md (npm run docs:errors). */
export function renderErrorDocs(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, { status, description }]) => `| \`${code}\` | ${status} | ${description} |`
  );
  return [
    '# SyncScope error codes',
    '',
    'Generated from `core/src/errors/error-codes.ts` by `npm run docs:errors`; do not edit by hand.',
    'Every API error answers `{"error": {"code", "message"}}`; the message names the problem and the fix.',
    '',
    '| code | HTTP status | cause and fix |',
    '| --- | --- | --- |',
    ...rows,
    ''
  ].join('\n');
}

if (process.argv[1]?.endsWith('render-error-docs.ts')) {
  writeFileSync(process.argv[2] ?? 'docs/errors.md', renderErrorDocs());
}
