/** "1 row", "2 rows", "1,024 rows": a count with its noun, for summaries people read. */
export function counted(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? singular : plural}`;
}
