import { useSyncExternalStore } from 'react';

const subscribe = () => () => {};

/**
 * False in the server's HTML and until React has hydrated the page, then true. Buttons whose action is
 * JavaScript stay disabled until then: a click before hydration would otherwise do nothing at all.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false
  );
}
