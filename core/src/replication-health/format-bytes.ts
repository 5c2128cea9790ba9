const UNITS = ['bytes', 'kB', 'MB', 'GB', 'TB'] as const;

/** Bytes as Postgres's pg_size_pretty writes them (1024-based, `kB`/`MB`/`GB`), one decimal above a kB. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${UNITS[unit]}`;
}
