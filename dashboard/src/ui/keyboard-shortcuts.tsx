'use client';
import { useRouter } from 'next/navigation';
import { useEffect } from 'react';

/** `g` then a letter goes to a page (like GitHub); `/` focuses the page's search box. */
const GO: Record<string, string> = {
  o: '/',
  f: '/fleet',
  p: '/probe',
  h: '/probes',
  t: '/trace',
  u: '/uploads',
  i: '/inspector',
  r: '/rules',
  a: '/audit'
};

export function KeyboardShortcuts() {
  const router = useRouter();
  useEffect(() => {
    // When the page became interactive (hydrated), for bench/console-performance.bench.ts.
    document.documentElement.dataset.hydratedAt = String(Math.round(performance.now()));
    let pendingG = false;
    const onKey = (event: KeyboardEvent) => {
      const el = event.target as HTMLElement;
      if (el.closest('input, textarea, select, [contenteditable]') || event.metaKey || event.ctrlKey) return;
      if (event.key === '/') {
        const search = document.querySelector<HTMLElement>('[data-search]');
        if (search) {
          event.preventDefault();
          search.focus();
        }
        return;
      }
      if (pendingG && GO[event.key]) {
        router.push(GO[event.key]!);
        pendingG = false;
        return;
      }
      pendingG = event.key === 'g';
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [router]);
  return null;
}
