import type { Row } from './seed-plan.ts';

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) || text === '' ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows → CSV text in chunks of about 64 KB (COPY ... FORMAT csv: empty unquoted field is NULL). */
export function* csvChunks(rows: Iterable<Row>, chunkBytes = 64 * 1024): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    chunk += `${row.map(csvField).join(',')}\n`;
    if (chunk.length >= chunkBytes) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
