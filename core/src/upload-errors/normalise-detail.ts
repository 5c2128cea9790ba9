/**
 * An error detail with the parts that vary per row replaced, so "duplicate key (id)=(3f2…)" from a
 * thousand rows is one group: UUIDs, quoted values, numbers, hex and e-mail addresses become
 * placeholders. Whitespace is collapsed; the result is capped at 300 characters.
 */
const RULES: [RegExp, string][] = [
  [/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>'],
  [/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, '<email>'],
  [/"(?:[^"\\]|\\.)*"/g, '"<value>"'],
  [/'(?:[^'\\]|\\.)*'/g, "'<value>'"],
  [/\(([^()]*)\)=\(([^()]*)\)/g, '($1)=(<value>)'],
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  [/\b[0-9a-f]{16,}\b/gi, '<hex>'],
  [/-?\b\d+(\.\d+)?\b/g, '<n>']
];

export function normaliseErrorDetail(detail: string): string {
  let text = detail.replace(/\s+/g, ' ').trim();
  for (const [pattern, replacement] of RULES) text = text.replace(pattern, replacement);
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}
