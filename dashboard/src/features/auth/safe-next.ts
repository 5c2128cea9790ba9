const BASE = 'http://console.invalid';

/**
 * Where to go after signing in: a same-origin path, or `/`. Browsers read `/\evil.example` and
 * `//evil.example` as another host, and some strip tabs and newlines before parsing, so any backslash
 * (also percent-encoded), control character, scheme or leading `//` sends the user to `/` instead.
 */
export function safeNextPath(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length > 2048) return '/';
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return '/';
  }
  for (const candidate of [raw, decoded]) {
    if (!candidate.startsWith('/') || candidate.startsWith('//')) return '/';
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (/[\\\u0000-\u001f\u007f]/.test(candidate)) return '/';
  }
  const url = new URL(raw, BASE);
  if (url.origin !== BASE || url.pathname.startsWith('//')) return '/';
  return `${url.pathname}${url.search}${url.hash}`;
}
