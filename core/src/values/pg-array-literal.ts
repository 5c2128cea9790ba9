/**
 * Parses Postgres's text form of an array (`{1,2,"a b",NULL,{3,4}}`), leaving elements as text
 * for the caller to decode. Dimension prefixes (`[1:2]={...}`) are skipped.
 */
export function parsePgArrayLiteral(text: string, delimiter = ','): unknown[] {
  const body = text.replace(/^\[[^=]+=/, '');
  let pos = 0;

  const fail = (why: string): never => {
    throw new Error(`Cannot parse Postgres array at position ${pos}: ${why}`);
  };

  const parseArray = (): unknown[] => {
    if (body[pos] !== '{') fail('expected {');
    pos++;
    const items: unknown[] = [];
    if (body[pos] === '}') {
      pos++;
      return items;
    }
    for (;;) {
      items.push(parseElement());
      const c = body[pos++];
      if (c === '}') return items;
      if (c !== delimiter) fail(`expected ${delimiter} or }`);
    }
  };

  const parseElement = (): unknown => {
    if (body[pos] === '{') return parseArray();
    if (body[pos] === '"') {
      pos++;
      let out = '';
      while (body[pos] !== '"') {
        if (pos >= body.length) fail('unterminated quoted element');
        if (body[pos] === '\\') pos++;
        out += body[pos++];
      }
      pos++;
      return out;
    }
    const start = pos;
    while (pos < body.length && body[pos] !== delimiter && body[pos] !== '}') pos++;
    const raw = body.slice(start, pos).trim();
    return raw === 'NULL' ? null : raw;
  };

  const result = parseArray();
  if (pos !== body.length) fail('trailing characters');
  return result;
}
