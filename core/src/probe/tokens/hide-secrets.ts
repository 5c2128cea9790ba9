import { inspect } from 'node:util';

/**
 * Makes a secret-holding object print as a safe view: `JSON.stringify` (and so pino) calls `toJSON`,
 * `util.inspect` / `console.log` call the inspect hook. Both are non-enumerable, so they never show up
 * in the object's own keys. A spread copy (`{...value}`) loses them: pass the object itself around.
 */
export function hideOnPrint<T extends object>(value: T, view: () => unknown): T {
  Object.defineProperty(value, 'toJSON', { value: view, enumerable: false, configurable: true });
  Object.defineProperty(value, inspect.custom, {
    value: (_depth: number, options: Parameters<typeof inspect>[1]) => {
      const shown = view();
      return typeof shown === 'string' ? shown : inspect(shown, options);
    },
    enumerable: false,
    configurable: true
  });
  return value;
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`; anything unparsable is hidden whole. */
export function urlWithoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparsable url]';
  }
}
