/**
 * The order row differences are listed in: (table, id) by Unicode code point, which is the order of
 * SQLite's BINARY collation over UTF-8 text (the client's `ps_oplog_row` index and the spilled expected
 * rows, which the diff reads in that order). JavaScript's `<` compares UTF-16 code units instead; the two differ only where a
 * surrogate pair meets a character in U+E000–U+FFFF, which `compareText` corrects.
 */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (D800–DFFF) encode code points above FFFF: they sort after E000–FFFF.
      const sx = x <= 0xdfff;
      const sy = y <= 0xdfff;
      if (sx !== sy) return sx ? 1 : -1;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export function compareRowKeys(tableA: string, idA: string, tableB: string, idB: string): number {
  return compareText(tableA, tableB) || compareText(idA, idB);
}
